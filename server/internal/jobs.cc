#include "server/internal/jobs.h"

#include <algorithm>

#include "common/encoding.h"
#include "server/internal/errors.h"

namespace dossier::server::internal {

using nlohmann::json;

namespace {

const char* StateName(Job::State s) {
  switch (s) {
    case Job::State::kQueued:
      return "queued";
    case Job::State::kRunning:
      return "running";
    case Job::State::kDone:
      return "done";
    case Job::State::kFailed:
      return "failed";
  }
  return "failed";
}

}  // namespace

void Job::Changed() {
  ++version_;
  cv_.notify_all();
}

void Job::SetProgress(const JobProgress& p) {
  std::lock_guard<std::mutex> lock(mu_);
  progress_ = p;
  Changed();
}

void Job::SetResult(json result) {
  std::lock_guard<std::mutex> lock(mu_);
  result_ = std::move(result);
  Changed();
}

void Job::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  state_ = State::kRunning;
  Changed();
}

void Job::Finish(const Status& st, TimePoint at) {
  std::lock_guard<std::mutex> lock(mu_);
  state_ = st.ok() ? State::kDone : State::kFailed;
  error_ = st;
  finished_at_ = at;
  progress_.current.clear();
  Changed();
}

void Job::SetSecret(std::string key, std::string_view value) {
  std::lock_guard<std::mutex> lock(mu_);
  secret_key_ = std::move(key);
  secret_ = std::make_unique<SecureBuffer>(value.size());
  std::copy(value.begin(), value.end(), secret_->data());
}

json Job::Snapshot(bool reveal) const {
  std::lock_guard<std::mutex> lock(mu_);
  json out = {{"id", id_},
              {"kind", owner_.kind},
              {"case", owner_.case_id},
              {"state", StateName(state_)},
              {"created", FormatUtc(created_)},
              {"finished", finished_at_ ? json(FormatUtc(*finished_at_)) : json()},
              {"progress",
               {{"bytes_done", progress_.bytes_done},
                {"bytes_total", progress_.bytes_total},
                {"items_done", progress_.items_done},
                {"items_total", progress_.items_total},
                {"pages_done", progress_.pages_done},
                {"pages_total", progress_.pages_total},
                {"current", progress_.current},
                {"verdicts", progress_.verdicts}}},
              {"result", result_},
              {"error", json()}};
  if (!secret_key_.empty() && out["result"].is_object()) {
    out["result"][secret_key_] = nullptr;
    if (reveal && secret_ && state_ == State::kDone) {
      out["result"][secret_key_] =
          std::string(reinterpret_cast<const char*>(secret_->data()), secret_->size());
      secret_.reset();  // shown once
    }
  }
  if (state_ == State::kFailed) {
    // The same words and code an API error would carry (errors.h); 5xx say only what to do.
    const ApiError e = ErrorOf(error_.code());
    out["error"] = {
        {"error", CodeOf(e)},
        {"message", HttpStatusOf(e) >= 500 ? "the job failed on the server's side: its log has the "
                                             "reason; try again, or tell the coordinator's office"
                                           : error_.message()}};
  }
  return out;
}

uint64_t Job::version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

bool Job::finished() const {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_at_.has_value();
}

uint64_t Job::Wait(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return version_ > seen || finished_at_.has_value(); });
  return version_;
}

Jobs::Jobs(const Clock& clock, std::chrono::seconds keep)
    : clock_(clock), keep_(keep), runner_([this] { RunLoop(); }) {}

Jobs::~Jobs() { Drain(); }

std::shared_ptr<Job> Jobs::Submit(JobOwner owner, Work work) {
  auto job = std::make_shared<Job>(RandomId("job", 16), std::move(owner), clock_.Now());
  std::lock_guard<std::mutex> lock(mu_);
  Forget();
  jobs_[job->id()] = job;
  if (draining_) {
    job->Finish(Rejected("the server is shutting down: send the upload again once it is back"),
                clock_.Now());
    return job;
  }
  queue_.emplace_back(job, std::move(work));
  cv_.notify_all();
  return job;
}

std::shared_ptr<Job> Jobs::Find(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Job>> Jobs::List(const std::function<bool(const Job&)>& visible) const {
  std::vector<std::shared_ptr<Job>> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, job] : jobs_) {
      if (visible(*job)) out.push_back(job);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a->created_ != b->created_ ? a->created_ > b->created_ : a->id() > b->id();
  });
  return out;
}

void Jobs::Drain() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
    cv_.notify_all();
  }
  if (runner_.joinable()) runner_.join();
}

size_t Jobs::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size() + (running_ ? 1 : 0);
}

void Jobs::RunLoop() {
  for (;;) {
    std::shared_ptr<Job> job;
    Work work;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || draining_; });
      if (queue_.empty()) return;  // draining, and nothing is left
      job = std::move(queue_.front().first);
      work = std::move(queue_.front().second);
      queue_.pop_front();
      running_ = true;
    }
    job->Start();
    Status st = work(*job);
    job->Finish(st, clock_.Now());
    if (job->cleanup_) std::exchange(job->cleanup_, nullptr)();
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
  }
}

void Jobs::Discard(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  jobs_.erase(id);
}

void Jobs::Forget() {
  const TimePoint now = clock_.Now();
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    std::lock_guard<std::mutex> lock(it->second->mu_);
    const auto& at = it->second->finished_at_;
    if (at && now - *at > keep_) {
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace dossier::server::internal
