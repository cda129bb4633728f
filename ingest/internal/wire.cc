#include "ingest/internal/wire.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace dossier::ingest::internal {
namespace {

Status WriteAllFd(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return IoError("the unpack worker's pipe closed");
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
      return IoError("cannot read from the unpack worker");
    }
    if (r == 0) {
      return got == 0 && at_frame_start ? NotFound("end of stream")
                                        : Corrupt("the unpack worker stopped mid-frame");
    }
    got += static_cast<size_t>(r);
  }
  return Status::Ok();
}

}  // namespace

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

Status ReadFrame(int fd, int timeout_ms, Frame& frame) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  const bool has_deadline = timeout_ms >= 0;
  uint8_t header[5];
  DOSSIER_RETURN_IF_ERROR(ReadExact(fd, header, 5, deadline, has_deadline, true));
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(header[1 + i]) << (8 * i);
  if (n > kMaxFrame) return Corrupt("the unpack worker sent an oversized frame");
  frame.type = static_cast<char>(header[0]);
  frame.payload.resize(n);
  return ReadExact(fd, reinterpret_cast<uint8_t*>(frame.payload.data()), n, deadline, has_deadline,
                   false);
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

}  // namespace dossier::ingest::internal
