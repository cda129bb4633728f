// A test-only analysis worker: it tries, on request, what a hostile file that took over a
// worker would try — open a TCP connection, write a file, start a process, run a program —
// and reports what happened. Run by tests/sandbox_test.cc through sandbox::Worker, with the
// same confinement as `dossier __unpack-worker`.
//
// Request 'T': "<tcp port on 127.0.0.1>\0<path of a file to create>" → one 'F' frame:
// "" when everything it tried succeeded, else "<code>\0refused: <what> (<errno text>); …".
// argv[1] "__probe-worker", or "__probe-worker-bad-folder" (its folder rule cannot be made,
// so confinement fails).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "sandbox/frame.h"
#include "sandbox/worker.h"

namespace {

using namespace dossier;

std::string Refused(const char* what, int err) {
  return std::string(what) + " (" + std::strerror(err) + ")";
}

// What failed, "; "-separated; "" when everything worked.
std::string Probe(int port, const std::string& path) {
  std::string failed;
  auto fail = [&](const std::string& what) { failed += (failed.empty() ? "" : "; ") + what; };
  // The network.
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    fail(Refused("tcp socket", errno));
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      fail(Refused("tcp connect", errno));
    }
    ::close(s);
  }
  // A file outside anything the worker was given.
  const int f = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (f < 0) {
    fail(Refused("file create", errno));
  } else {
    if (::write(f, "leak\n", 5) != 5) fail(Refused("file write", errno));
    ::close(f);
  }
  // Threads must still work (Tesseract's OpenMP, libde265).
  try {
    std::thread([] {}).join();
  } catch (const std::exception&) {
    fail("thread");
  }
  // A process, and in it a program; with no process, the program in place of the worker
  // (if that worked, the worker would be gone and the parent would see it).
  const pid_t pid = ::fork();
  if (pid == 0) {
    char arg0[] = "/bin/true";
    char* argv[] = {arg0, nullptr};
    ::execve(arg0, argv, nullptr);
    ::_exit(127);
  }
  if (pid < 0) {
    fail(Refused("fork", errno));
    char arg0[] = "/bin/true";
    char* argv[] = {arg0, nullptr};
    ::execve(arg0, argv, nullptr);
    fail(Refused("exec", errno));
  } else {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("exec in the child");
  }
  return failed;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  if (argc != 2) return 1;
  const std::string role = argv[1];
  const int folder = role == "__probe-worker-bad-folder" ? 999 : -1;
  if (!sandbox::EnterWorker(folder).ok()) return 5;
  sandbox::Frame request;
  for (;;) {
    if (!sandbox::ReadFrame(STDIN_FILENO, -1, request).ok()) return 0;
    const auto parts = sandbox::SplitNul(request.payload);
    if (request.type != 'T' || parts.size() != 2) return 1;
    const std::string failed = Probe(std::stoi(parts[0]), parts[1]);
    const std::string done = failed.empty()
                                 ? ""
                                 : std::to_string(static_cast<int>(StatusCode::kRejected)) +
                                       std::string(1, '\0') + "refused: " + failed;
    if (!sandbox::WriteFrame(STDOUT_FILENO, 'F', done).ok()) return 1;
  }
}
