#include "ingest/internal/range_server.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include "common/secure_buffer.h"
#include "ingest/internal/worker_protocol.h"
#include "sandbox/frame.h"

namespace dossier::ingest::internal {

Result<std::unique_ptr<RangeServer>> RangeServer::Start(std::shared_ptr<UploadSource> source,
                                                        File& worker_end) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return ErrnoError("cannot create a socket for", "the upload's range channel", errno);
  }
  File worker(fds[1], "range channel");
  std::unique_ptr<RangeServer> server(
      new RangeServer(std::move(source), File(fds[0], "range channel")));
  try {
    server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  } catch (const std::system_error& e) {
    return IoError(std::string("cannot start a thread for the upload's range channel: ") +
                   e.what());
  }
  worker_end = std::move(worker);
  return server;
}

RangeServer::~RangeServer() { Stop(); }

void RangeServer::Stop() {
  if (!thread_.joinable()) return;
  ::shutdown(channel_.fd(), SHUT_RDWR);  // wakes the thread in a read or write
  thread_.join();
}

std::string RangeServer::violation() const {
  std::lock_guard lock(mu_);
  return violation_;
}

Status RangeServer::failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

void RangeServer::Violate(std::string what) {
  {
    std::lock_guard lock(mu_);
    violation_ = std::move(what);
  }
  violated_.store(true);
  ::shutdown(channel_.fd(), SHUT_RDWR);
}

void RangeServer::Serve() {
  const uint64_t size = source_->size();
  sandbox::Frame ask;
  SecureBuffer buf;  // kMaxRange of plaintext, from the first request on: locked, wiped
  for (;;) {
    // Ends when the worker closes its end (the item is done, or it died) or Stop() closes ours.
    if (!sandbox::ReadFrame(channel_.fd(), -1, ask).ok()) return;
    uint64_t offset = 0;
    uint32_t length = 0;
    const bool ahead = ask.type == kRangeAhead;
    if ((ask.type != kRangeAsk && !ahead) || !DecodeRangeAsk(ask.payload, offset, length) ||
        length == 0) {
      return Violate("a malformed range request");
    }
    if (length > kMaxRange) return Violate("asked for more than 1 MiB at once");
    if (offset > size || length > size - offset) {
      return Violate("asked for bytes beyond the end of the file");
    }
    if (buf.empty()) buf = SecureBuffer(kMaxRange);
    const auto got = source_->ReadAt(offset, {buf.data(), length});
    Status failed = got.ok() ? Status::Ok() : got.status();
    if (got.ok() && *got != length) {
      failed = IoError(fmt::format("the upload ended early, at byte {} of {}: send it again",
                                   offset + *got, size));
    }
    if (!failed.ok()) {
      if (!ahead) {  // the worker may never need a read ahead's bytes: it asks again if it does
        std::lock_guard lock(mu_);
        if (failure_.ok()) failure_ = failed;
      }
      if (!sandbox::WriteFrame(channel_.fd(), kRangeError, failed.message()).ok()) return;
      continue;
    }
    if (!sandbox::WriteFrame(channel_.fd(), kRangeData, {buf.data(), length}).ok()) return;
  }
}

}  // namespace dossier::ingest::internal
