#include "vault/internal/file_queue.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace dossier::vault::internal {
namespace {

// "objects/ab" for "objects/ab/ab…"; "" for a name in the vault folder itself.
std::string ParentOf(const std::string& rel) {
  const size_t slash = rel.rfind('/');
  return slash == std::string::npos ? std::string() : rel.substr(0, slash);
}

}  // namespace

FileQueue::FileQueue(VaultDir dir, size_t buffer_size, size_t max_queued)
    : dir_(std::move(dir)),
      buffer_size_(buffer_size),
      max_queued_(max_queued),
      thread_([this] { Run(); }) {}

FileQueue::~FileQueue() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

DirectFile::Buffer FileQueue::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return queued_buffers_ < max_queued_; });
  if (!free_.empty()) {
    DirectFile::Buffer b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  lock.unlock();
  return DirectFile::AllocateBuffer(buffer_size_);
}

void FileQueue::Release(DirectFile::Buffer buffer) {
  if (!buffer) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (free_.size() < max_queued_ + 1) free_.push_back(std::move(buffer));
}

void FileQueue::Push(Job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (job.buffer) ++queued_buffers_;
    jobs_.push_back(std::move(job));
    ++queued_jobs_;
  }
  cv_.notify_all();
}

void FileQueue::Append(const std::shared_ptr<Target>& target, DirectFile::Buffer buffer,
                       size_t len) {
  Push({Job::Kind::kAppend, target, std::move(buffer), len, false, {}});
}

void FileQueue::Finish(const std::shared_ptr<Target>& target, bool durable) {
  Push({Job::Kind::kFinish, target, nullptr, 0, durable, {}});
}

void FileQueue::Discard(const std::shared_ptr<Target>& target) {
  Push({Job::Kind::kDiscard, target, nullptr, 0, false, {}});
}

void FileQueue::Remove(std::string rel, bool durable) {
  Push({Job::Kind::kRemove, nullptr, nullptr, 0, durable, std::move(rel)});
}

void FileQueue::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = queued_jobs_;
  cv_.wait(lock, [&] { return done_jobs_ >= target; });
}

Status FileQueue::Drain() {
  Wait();
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(error_, Status::Ok());
}

void FileQueue::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return !jobs_.empty() || stop_; });
    if (jobs_.empty()) return;  // stopping, with nothing left to do
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    Status st = RunJob(job);
    lock.lock();
    if (!st.ok() && error_.ok()) error_ = std::move(st);
    if (job.buffer) {
      --queued_buffers_;
      if (free_.size() < max_queued_ + 1) free_.push_back(std::move(job.buffer));
    }
    ++done_jobs_;
    cv_.notify_all();
  }
}

Status FileQueue::RunJob(Job& job) {
  if (job.kind == Job::Kind::kRemove) {
    DOSSIER_RETURN_IF_ERROR(dir_.Remove(job.path));
    return job.durable ? dir_.SyncDir(ParentOf(job.path)) : Status::Ok();
  }
  Target& t = *job.target;
  if (job.kind == Job::Kind::kDiscard || t.failed) {
    if (t.file) {
      t.file.reset();
      (void)dir_.Remove(t.temp);
    }
    return Status::Ok();
  }
  Status st = [&]() -> Status {
    if (!t.file) {
      DOSSIER_ASSIGN_OR_RETURN(DirectFile f, dir_.CreateDirect(t.temp));
      t.file.emplace(std::move(f));
    }
    if (job.kind == Job::Kind::kAppend) return t.file->Append({job.buffer.get(), job.len});
    return FinishTarget(t, job.durable);
  }();
  if (!st.ok()) {  // later jobs for this file are skipped; its temp file goes
    t.failed = true;
    t.file.reset();
    (void)dir_.Remove(t.temp);
  }
  return st;
}

Status FileQueue::FinishTarget(Target& t, bool durable) {
  if (durable) DOSSIER_RETURN_IF_ERROR(t.file->file().Sync());
  DOSSIER_RETURN_IF_ERROR(t.file->file().Close());
  const std::string shard = ParentOf(t.final_path);
  if (shards_.count(shard) == 0) {
    DOSSIER_ASSIGN_OR_RETURN(bool made, dir_.MakeDir(shard));
    if (made && durable) DOSSIER_RETURN_IF_ERROR(dir_.SyncDir(ParentOf(shard)));  // the new entry
    shards_.insert(shard);
  }
  // Every rename walks from the vault folder again, each step with O_NOFOLLOW: a shard
  // swapped for a link since the last object is refused, not written through.
  DOSSIER_RETURN_IF_ERROR(dir_.Rename(t.temp, t.final_path));
  t.file.reset();
  return durable ? dir_.SyncDir(shard) : Status::Ok();
}

}  // namespace dossier::vault::internal
