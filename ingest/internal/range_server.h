// The parent's end of a range channel (doc/FORMAT.md, "Range channel"): how the unpack worker
// reads an upload that is not a file here (ingest::UploadSource, the server's encrypted
// spool). A thread answers the worker's requests one at a time from the source, through one
// buffer of kMaxRange (1 MiB) bytes: whatever the upload's size, that is all of it this
// process holds for the worker. Every request is checked; one out of bounds or longer than
// kMaxRange is a breach of the protocol: the channel closes and violation() says what the
// worker did. The worker's end is random_input.h. Private to ingest/.
//
//   File worker_end;
//   DOSSIER_ASSIGN_OR_RETURN(auto server, RangeServer::Start(source, worker_end));
//   worker.SendUnpack(worker_end, "disc.iso", limits, source->size());
//   worker_end = File();          // or the channel never closes
//   … read the worker's replies …
//   server->Stop();                // then violated(), violation() and failure() are final
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/file_io.h"
#include "common/status.h"
#include "ingest/ingest.h"

namespace dossier::ingest::internal {

class RangeServer {
 public:
  // A new channel (AF_UNIX stream socketpair, close-on-exec) over `source`, served from now
  // on; the other end goes to `worker_end`. kIoError when the kernel refuses a socket or a
  // thread.
  static Result<std::unique_ptr<RangeServer>> Start(std::shared_ptr<UploadSource> source,
                                                    File& worker_end);
  RangeServer(const RangeServer&) = delete;
  RangeServer& operator=(const RangeServer&) = delete;
  ~RangeServer();  // Stop()

  // Closes the channel and waits for the thread (which ends at once unless the source is in
  // a read). Idempotent.
  void Stop();
  // True once the worker broke the protocol; may be asked while it serves.
  bool violated() const { return violated_.load(); }
  // What the worker did ("asked for bytes beyond the end of the file"), or "".
  std::string violation() const;
  // The first read of the source that failed (its message says why, and is the item's
  // reason), or Ok.
  Status failure() const;

 private:
  RangeServer(std::shared_ptr<UploadSource> source, File channel)
      : source_(std::move(source)), channel_(std::move(channel)) {}
  void Serve();
  void Violate(std::string what);

  std::shared_ptr<UploadSource> source_;
  File channel_;
  std::thread thread_;
  std::atomic<bool> violated_{false};
  mutable std::mutex mu_;
  std::string violation_;  // guarded by mu_
  Status failure_;         // guarded by mu_
};

}  // namespace dossier::ingest::internal
