// The frame protocol between a parent and its analysis workers (sandbox/worker.h), and the
// passing of descriptors beside it. What each request and reply means is the business of the
// module that runs the worker: ingest's are listed in doc/FORMAT.md ("Unpack worker
// protocol").
//
// frame = type (1 byte) | payload length (u32 LE) | payload (at most kMaxFrame bytes)
//
// Requests go over a Unix socket, so that a descriptor (the upload, a sealed memfd) can ride
// beside a request as SCM_RIGHTS on one byte (SendFd / RecvFd); replies come back on a pipe.
// Every worker's first reply is its start-up frame (sandbox/worker.h):
//   'O' confined and ready: "" — or, when the parent allowed it, "unconfined\0<reason>"
//   'N' refused to start unconfined: "<reason>" (the worker then exits)
//
//   WriteFrame(fd, 'U', "disc.iso\0limits");   SendFd(fd, upload.fd());
//   Frame f;  Status st = ReadFrame(reply_fd, 60'000, f);   // kLimitExceeded on timeout
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "common/status.h"

namespace dossier::sandbox {

inline constexpr uint32_t kMaxFrame = (1u << 20) + 4096;
inline constexpr size_t kDigestBytes = 32;

struct Frame {
  char type = 0;
  std::string payload;
};

// Writes one frame; kIoError when the other side is gone.
Status WriteFrame(int fd, char type, std::span<const uint8_t> payload);
Status WriteFrame(int fd, char type, std::string_view payload);
// Reads one frame into `frame` (its buffer is reused: no allocation per 1 MiB of data),
// waiting at most `timeout_ms` (-1: forever). kNotFound at a clean end of stream,
// kLimitExceeded on timeout, kCorrupt on a malformed frame.
Status ReadFrame(int fd, int timeout_ms, Frame& frame);
// As ReadFrame, but a frame of `type` whose payload is exactly `into.size()` bytes is read
// straight into `into` (no copy of a MiB of data): true. Any other frame goes to `frame`: false.
Result<bool> ReadFrameInto(int fd, int timeout_ms, char type, std::span<uint8_t> into,
                           Frame& frame);

// "a\0b" → {"a", "b"}
std::vector<std::string> SplitNul(const std::string& s);

// Passes `fd` over the Unix socket `sock`, attached to one byte. kIoError when the socket closed.
Status SendFd(int sock, int fd);
// Receives one descriptor sent by SendFd (close-on-exec). kIoError when none came.
Result<File> RecvFd(int sock);

// The whole of `file` (a sealed memfd the parent filled), read from its start whatever the
// descriptor's offset: how a worker reads a document it was handed.
Result<std::vector<uint8_t>> ReadWhole(const File& file);

}  // namespace dossier::sandbox
