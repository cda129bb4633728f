// Long work (an ingest) as jobs: a request answers at once with a job id, and the job's state
// and progress can be read, or followed as it changes (server-sent events), until it ends
// with its report. Jobs live in the server's memory only: after a restart their ids answer
// 404. Private to server/.
//
//   auto job = jobs.Submit({user, patient, case_id, "ingest"}, [](Job& j) -> Status {
//     j.SetProgress(...);  j.SetResult(report_json);  return Status::Ok();
//   });
//   auto seen = jobs.Find(job->id())->Wait(version, 15s);   // for the event stream
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/secure_buffer.h"
#include "common/status.h"

namespace dossier::server::internal {

using TimePoint = std::chrono::system_clock::time_point;

// Who a job is for, and what it works on: a user sees their own jobs; a manager, jobs on
// cases they may see.
struct JobOwner {
  std::string user_id;
  std::string patient_id;
  std::string case_id;
  std::string kind;  // "ingest"
};

struct JobProgress {
  uint64_t bytes_done = 0, bytes_total = 0;
  uint64_t items_done = 0, items_total = 0;
  int pages_done = 0, pages_total = 0;
  std::string current;  // the item being worked on (the user's own file name: never logged)
  // Pages whose verdict is known, by verdict: often before their text (doc/OCR.md step 4b).
  std::map<std::string, int> verdicts;
};

class Job {
 public:
  enum class State { kQueued, kRunning, kDone, kFailed };

  Job(std::string id, JobOwner owner, TimePoint created)
      : id_(std::move(id)), owner_(std::move(owner)), created_(created) {}

  const std::string& id() const { return id_; }
  const JobOwner& owner() const { return owner_; }

  // For the work: progress as it moves, and the result (kept once the job ends).
  void SetProgress(const JobProgress& p);
  void SetResult(nlohmann::json result);
  // Work left for after the job has ended (deleting an upload's spooled copy: 0.2 s for a
  // GB), so that whoever follows the job learns of its end without waiting for it. Runs on
  // the job's thread before the next job starts.
  void ThenCleanUp(std::function<void()> cleanup) { cleanup_ = std::move(cleanup); }

  // A secret of the result (an export's generated password) that is shown once: in the first
  // snapshot taken with `reveal` after the job ended, as result[key]; every snapshot after it
  // has null there. Kept in locked memory until then, and wiped.
  void SetSecret(std::string key, std::string_view value);

  // The job as the API shows it (doc/API.md §Jobs), and its version (+1 on every change).
  nlohmann::json Snapshot(bool reveal = false) const;
  uint64_t version() const;
  bool finished() const;
  // Waits until the version passes `seen`, the job ends, or `timeout`; returns the version.
  uint64_t Wait(uint64_t seen, std::chrono::milliseconds timeout) const;

 private:
  friend class Jobs;
  void Start();
  void Finish(const Status& st, TimePoint at);
  void Changed();  // under mu_

  const std::string id_;
  const JobOwner owner_;
  const TimePoint created_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  State state_ = State::kQueued;
  JobProgress progress_;
  nlohmann::json result_;
  Status error_;
  std::optional<TimePoint> finished_at_;
  std::function<void()> cleanup_;  // set and run by the job's own thread
  std::string secret_key_;
  mutable std::unique_ptr<SecureBuffer> secret_;  // null once shown
  uint64_t version_ = 1;
};

// The jobs of one server and the thread that runs them, one at a time, in order of
// submission (ingest writes the vault; one at a time keeps each upload's group commit whole).
class Jobs {
 public:
  using Work = std::function<Status(Job&)>;

  // Ended jobs are forgotten `keep` after they end.
  Jobs(const Clock& clock, std::chrono::seconds keep);
  ~Jobs();  // Drain()

  std::shared_ptr<Job> Submit(JobOwner owner, Work work);
  // Null when there is no such job (never was, or forgotten).
  std::shared_ptr<Job> Find(const std::string& id) const;
  // The jobs `visible` says yes to, newest first.
  std::vector<std::shared_ptr<Job>> List(const std::function<bool(const Job&)>& visible) const;
  // Runs every job submitted so far to its end, then stops the runner; later Submits run
  // nothing and fail the job at once ("the server is shutting down").
  void Drain();
  size_t pending() const;
  // Forgets a job now, ended or not: its id answers 404 from now on (an ingest that began
  // while its upload arrived, given up before the upload was complete).
  void Discard(const std::string& id);

 private:
  void RunLoop();
  void Forget();  // under mu_

  const Clock& clock_;
  const std::chrono::seconds keep_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::deque<std::pair<std::shared_ptr<Job>, Work>> queue_;
  bool draining_ = false;
  bool running_ = false;  // a job is between Start and Finish
  std::thread runner_;
};

}  // namespace dossier::server::internal
