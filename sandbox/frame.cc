#include "sandbox/frame.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace dossier::sandbox {
namespace {

Status WriteAllFd(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return IoError("the worker's pipe closed");
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

// Reads exactly n bytes before the deadline.
Status ReadExact(int fd, uint8_t* p, size_t n, std::chrono::steady_clock::time_point deadline,
                 bool has_deadline, bool at_frame_start) {
  size_t got = 0;
  while (got < n) {
    if (has_deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) return LimitExceeded("timed out");
      pollfd pfd{fd, POLLIN, 0};
      const int rc = ::poll(&pfd, 1, static_cast<int>(left));
      if (rc < 0 && errno == EINTR) continue;
      if (rc == 0) return LimitExceeded("timed out");
    }
    const ssize_t r = ::read(fd, p + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot read from the worker");
    }
    if (r == 0) {
      return got == 0 && at_frame_start ? NotFound("end of stream")
                                        : Corrupt("the worker stopped mid-frame");
    }
    got += static_cast<size_t>(r);
  }
  return Status::Ok();
}

// One byte with room for one descriptor beside it, as sendmsg/recvmsg want it. Not movable:
// the header points into the object itself.
struct FdMessage {
  char byte = 'F';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  FdMessage() {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
  }
  FdMessage(const FdMessage&) = delete;
  FdMessage& operator=(const FdMessage&) = delete;
};

}  // namespace

Status SendFd(int sock, int fd) {
  FdMessage m;
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  if (::sendmsg(sock, &m.msg, MSG_NOSIGNAL) != 1) return IoError("the worker's socket closed");
  return Status::Ok();
}

Result<File> RecvFd(int sock) {
  FdMessage m;
  if (::recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC) != 1) return IoError("no descriptor received");
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS || (m.msg.msg_flags & MSG_CTRUNC) != 0) {
    return IoError("no descriptor received");
  }
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return File(fd, "upload");
}

Status WriteFrame(int fd, char type, std::span<const uint8_t> payload) {
  if (payload.size() > kMaxFrame) return Internal("frame larger than the protocol allows");
  uint8_t header[5] = {static_cast<uint8_t>(type)};
  const uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) header[1 + i] = static_cast<uint8_t>(n >> (8 * i));
  DOSSIER_RETURN_IF_ERROR(WriteAllFd(fd, header, sizeof(header)));
  return WriteAllFd(fd, payload.data(), payload.size());
}

Status WriteFrame(int fd, char type, std::string_view payload) {
  return WriteFrame(fd, type, {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()});
}

Result<bool> ReadFrameInto(int fd, int timeout_ms, char type, std::span<uint8_t> into,
                           Frame& frame) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  const bool has_deadline = timeout_ms >= 0;
  uint8_t header[5];
  DOSSIER_RETURN_IF_ERROR(ReadExact(fd, header, 5, deadline, has_deadline, true));
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(header[1 + i]) << (8 * i);
  if (n > kMaxFrame) return Corrupt("the worker sent an oversized frame");
  if (static_cast<char>(header[0]) == type && n == into.size() && !into.empty()) {
    DOSSIER_RETURN_IF_ERROR(ReadExact(fd, into.data(), n, deadline, has_deadline, false));
    return true;
  }
  frame.type = static_cast<char>(header[0]);
  frame.payload.resize(n);
  DOSSIER_RETURN_IF_ERROR(ReadExact(fd, reinterpret_cast<uint8_t*>(frame.payload.data()), n,
                                    deadline, has_deadline, false));
  return false;
}

Status ReadFrame(int fd, int timeout_ms, Frame& frame) {
  return ReadFrameInto(fd, timeout_ms, 0, {}, frame).status();
}

std::vector<std::string> SplitNul(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find('\0', start);
    parts.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

Result<std::vector<uint8_t>> ReadWhole(const File& file) {
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> buf(size_t{1} << 20);
  for (;;) {  // from the start, whatever the descriptor's offset (the parent wrote it)
    const ssize_t n = ::pread(file.fd(), buf.data(), buf.size(), static_cast<off_t>(bytes.size()));
    if (n < 0) return IoError("cannot read the file handed to the worker");
    if (n == 0) return bytes;
    bytes.insert(bytes.end(), buf.begin(), buf.begin() + n);
  }
}

}  // namespace dossier::sandbox
