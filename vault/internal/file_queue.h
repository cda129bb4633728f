// The object store's filesystem work — creating temp files, direct writes, renames, deletes —
// runs on one background thread, in submission order, so the caller encrypts the next bytes
// while the disk takes the last ones (doc/PERFORMANCE.md). Private to vault/.
//
// Errors are sticky: the first one is kept, later work on the failed file is skipped, and
// Drain() returns it. The vault drains before syncfs and before any catalog row may refer to
// an object, so nothing written here counts until Drain() said it succeeded.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/file_io.h"
#include "common/status.h"
#include "vault/internal/vault_dir.h"

namespace dossier::vault::internal {

class FileQueue {
 public:
  // Buffers of `buffer_size` bytes; at most `max_queued` of them wait for the thread at once,
  // which bounds memory whatever the caller writes.
  // Files are named relative to `dir` (vault_dir.h).
  FileQueue(VaultDir dir, size_t buffer_size, size_t max_queued);
  ~FileQueue();  // finishes what is queued
  FileQueue(const FileQueue&) = delete;
  FileQueue& operator=(const FileQueue&) = delete;

  // One output file: a temp file written in order, then renamed to its final name (both
  // relative to the vault folder: "tmp/….tmp", "objects/ab/ab…").
  struct Target {
    std::string temp;
    std::string final_path;
    std::optional<DirectFile> file;  // touched only on the queue's thread
    bool failed = false;
  };

  size_t buffer_size() const { return buffer_size_; }
  // An aligned buffer, reused when one is free; blocks while `max_queued` wait for the thread.
  DirectFile::Buffer Acquire();
  // A buffer the caller no longer needs.
  void Release(DirectFile::Buffer buffer);

  // Appends the first `len` bytes of `buffer` to the target's temp file (created on first
  // use). All appends but the last must be multiples of DirectFile::kAlign.
  void Append(const std::shared_ptr<Target>& target, DirectFile::Buffer buffer, size_t len);
  // Closes the temp file and renames it into place (with fsyncs of the file and its folder
  // when `durable`; otherwise the caller syncs the filesystem after Drain()).
  void Finish(const std::shared_ptr<Target>& target, bool durable);
  // Abandons an unfinished target: its temp file is removed.
  void Discard(const std::shared_ptr<Target>& target);
  // Deletes a finished file (fsyncing its folder when `durable`).
  void Remove(std::string rel, bool durable);

  // Waits until everything queued before the call has run (what other threads queue
  // meanwhile does not keep it waiting); returns the first error since the last Drain() and
  // forgets it. Thread-safe, like every call here.
  Status Drain();
  // Waits until everything queued before the call has run, leaving any error for Drain().
  void Wait();

 private:
  struct Job {
    enum class Kind { kAppend, kFinish, kDiscard, kRemove } kind;
    std::shared_ptr<Target> target;
    DirectFile::Buffer buffer;
    size_t len = 0;
    bool durable = false;
    std::string path;
  };
  void Push(Job job);
  void Run();
  Status RunJob(Job& job);
  Status FinishTarget(Target& t, bool durable);

  const VaultDir dir_;
  const size_t buffer_size_;
  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  size_t queued_buffers_ = 0;
  uint64_t queued_jobs_ = 0;  // ever pushed
  uint64_t done_jobs_ = 0;    // ever run, in order
  bool stop_ = false;
  Status error_;
  std::vector<DirectFile::Buffer> free_;
  std::set<std::string> shards_;  // objects/XX folders known to exist (thread only)
  std::thread thread_;            // last: started once everything above exists
};

}  // namespace dossier::vault::internal
