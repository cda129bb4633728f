#include "app/terminal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "common/file_io.h"

namespace dossier::app {
namespace {

Result<SecretString> FromFile(const std::string& path, const char* noun) {
  auto file = File::OpenRead(path);
  if (!file.ok()) {
    if (file.status().code() == StatusCode::kNotFound) {  // exit 2, as every missing file
      return NotFound(fmt::format("no such {} file: {}", noun, path));
    }
    return file.status().WithContext(fmt::format("cannot read the {} file {}", noun, path));
  }
  SecureBuffer buf(4096);
  DOSSIER_ASSIGN_OR_RETURN(size_t n, file->ReadFull({buf.data(), buf.size()}));
  if (n == buf.size()) {
    return InvalidArgument(fmt::format("the {} file {} is too long", noun, path));
  }
  while (n > 0 && (buf.data()[n - 1] == '\n' || buf.data()[n - 1] == '\r')) --n;
  if (n == 0) return InvalidArgument(fmt::format("the {} file {} is empty", noun, path));
  return SecureBuffer::FromBytes({buf.data(), n});
}

Result<SecretString> PromptOnce(int tty, const std::string& prompt, const char* noun) {
  (void)!::write(tty, prompt.data(), prompt.size());
  termios old{};
  const bool have_termios = ::tcgetattr(tty, &old) == 0;
  if (have_termios) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(tty, TCSAFLUSH, &quiet);
  }
  SecureBuffer buf(4096);
  size_t n = 0;
  char c = 0;
  while (n < buf.size() && ::read(tty, &c, 1) == 1 && c != '\n')
    buf.data()[n++] = static_cast<uint8_t>(c);
  if (have_termios) ::tcsetattr(tty, TCSAFLUSH, &old);
  (void)!::write(tty, "\n", 1);
  if (n > 0 && buf.data()[n - 1] == '\r') --n;
  if (n == 0) return InvalidArgument(fmt::format("no {} was entered", noun));
  return SecureBuffer::FromBytes({buf.data(), n});
}

// `noun` names the secret ("passphrase", "password"), `option` how to give it in a file.
Result<SecretString> ReadSecret(const std::string& file, const std::string& prompt, bool confirm,
                                const char* noun, const char* option) {
  if (!file.empty()) return FromFile(file, noun);
  const int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (tty < 0) {
    return InvalidArgument(
        fmt::format("no {}: give {} (there is no terminal to ask on)", noun, option));
  }
  File closer(tty, "/dev/tty");
  DOSSIER_ASSIGN_OR_RETURN(SecretString first, PromptOnce(tty, prompt, noun));
  if (!confirm) return first;
  DOSSIER_ASSIGN_OR_RETURN(SecretString second, PromptOnce(tty, "Repeat it: ", noun));
  if (first.view() != second.view()) {
    return InvalidArgument(fmt::format("the two {}s differ", noun));
  }
  return first;
}

}  // namespace

Result<SecretString> ReadPassphrase(const PassphraseSource& source, const std::string& prompt,
                                    bool confirm) {
  return ReadSecret(source.file, prompt, confirm, "passphrase",
                    "--passphrase-file FILE or set DOSSIER_PASSPHRASE_FILE");
}

Result<SecretString> ReadPassword(const std::string& file, const std::string& prompt) {
  return ReadSecret(file, prompt, true, "password", "--password-file FILE");
}

Progress::Progress(std::string label)
    : label_(std::move(label)),
      enabled_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
}

bool Progress::Due() {
  if (!enabled_) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now - start_ < std::chrono::seconds(1) || now - last_ < std::chrono::milliseconds(100)) {
    return false;
  }
  last_ = now;
  drawn_ = true;
  return true;
}

void Progress::Update(uint64_t bytes_done, uint64_t bytes_total, size_t items_done,
                      size_t items_total) {
  if (!Due()) return;
  const auto now = last_;
  bytes_total = std::max(bytes_total, bytes_done);  // archives expand past their own size
  const double secs = std::chrono::duration<double>(now - start_).count();
  const int pct = bytes_total ? static_cast<int>(bytes_done * 100 / bytes_total) : 0;
  const int bar = pct / 5;
  std::string line = fmt::format("\r{} [{:<20}] {:3}%  {} / {}", label_, std::string(bar, '#'), pct,
                                 HumanSize(bytes_done), HumanSize(bytes_total));
  if (items_total > 0) line += fmt::format("  {}/{} files", items_done, items_total);
  line += fmt::format("  {}/s\033[K", HumanSize(static_cast<uint64_t>(bytes_done / secs)));
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

void Progress::UpdateCount(const std::string& what, int done, int total) {
  if (!Due()) return;
  const int pct = total > 0 ? done * 100 / total : 0;
  const std::string line = fmt::format("\r{} [{:<20}] {:3}%  {}/{}\033[K", what,
                                       std::string(pct / 5, '#'), pct, done, total);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

std::string HumanSize(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < (1 << 20)) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  if (bytes < (uint64_t{1} << 30)) return fmt::format("{:.1f} MiB", bytes / 1048576.0);
  return fmt::format("{:.2f} GiB", bytes / 1073741824.0);
}

}  // namespace dossier::app
