// Uploads to the server (doc/API.md §Uploads): the unfinished ones (tus), their batches, the
// limits of each role, and the hand-over of finished files to an ingest job. Bytes go to the
// encrypted spool (spool.h) as they arrive; nothing here holds plaintext between requests.
// Private to server/.
//
//   auto up = uploads.Create(who, case_id, patient_id, length, "CD/DICOM/IM1", "b1");
//   uploads.Append(*up, bytes) ...;           // PATCH bodies
//   uploads.CloseBatch(who, case_id, "b1");   // → an ingest job of the batch's files
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "ingest/ingest.h"
#include "server/internal/jobs.h"
#include "server/internal/spool.h"
#include "server/server.h"
#include "vault/vault.h"

namespace dossier::server::internal {

using server::UploadLimits;

// One upload: a file of a tus upload, or a multipart request's files.
struct Upload {
  std::string id;  // upl_…
  std::string user_id, role, patient_id, case_id;
  std::string path;      // relative path on the user's computer (personal: never logged)
  std::string batch;     // "" when ingested as soon as it is complete
  std::string metadata;  // Upload-Metadata as sent, for HEAD
  std::string reply_to;  // a clinic's reply to this request (req_…), filed as such
  std::shared_ptr<SpoolFile> file;
  TimePoint created, expires;
  bool writing = false;  // a PATCH is appending (another one is refused)
  std::string job_id;    // the ingest job once complete and handed over
  // The job ingesting it while it arrives (Options::arriving_min_bytes), until it is
  // complete (then also job_id) or that job gives up.
  std::string arriving_job;
};

class Uploads {
 public:
  struct Options {
    std::map<vault::Role, UploadLimits> limits;
    std::chrono::seconds expiry{24 * 3600};    // unfinished uploads are deleted after
    std::chrono::seconds batch_idle{10 * 60};  // a batch nobody closes is closed after
    // Uploads alone this large are ingested as they arrive (server::ServeOptions).
    uint64_t arriving_min_bytes = uint64_t{32} << 20;
    std::chrono::seconds arriving_stall{20};
    ingest::IngestOptions ingest;
  };
  // Keeps references to all of them.
  Uploads(vault::Vault& vault, Spool& spool, Jobs& jobs, const Clock& clock, Options options);

  // A new upload of `length` bytes into `case_id` (open; the caller checked who may). Refused
  // before any byte is accepted: over the role's per-upload, per-day or parallel limit
  // (kLimitExceeded, saying the limit and who can raise it), an unsafe `path` or one the
  // batch already has (kInvalidArgument naming it).
  Result<std::shared_ptr<Upload>> Create(const vault::UserRecord& who, const std::string& case_id,
                                         const std::string& patient_id, uint64_t length,
                                         const std::string& path, const std::string& batch,
                                         const std::string& metadata);
  // The user's upload `id` in `case_id`; null for any other (expired, another user's).
  std::shared_ptr<Upload> Find(const std::string& id, const std::string& user_id,
                               const std::string& case_id);

  // Marks `up` as being written (kRejected if another request is), and the end of it. The
  // writer appends through Append, which counts the bytes against the day's limit.
  Status BeginWrite(Upload& up);
  // Ends a write: when the upload is complete and in no batch, it goes to an ingest job.
  void EndWrite(Upload& up);
  Status Append(Upload& up, std::span<const uint8_t> bytes);

  // Starts ingesting `up` (a tus upload just created, in no batch, of at least
  // Options::arriving_min_bytes) as its bytes arrive, when no other job is queued or running:
  // all or nothing (ingest::IngestArriving). The job holds the upload's arriving_job until
  // it is complete — then it is its job_id as well, and that job ends with the report. If the
  // ingest gives up first (another job waits, the vault's batch gave way to another write,
  // no byte came for arriving_stall, the upload was cancelled or expired), nothing is kept:
  // once complete the upload is ingested again, by that job if it already is, else by a job
  // of its own, and the first job is forgotten (404: its id was never given out).
  void StartArriving(const std::shared_ptr<Upload>& up);

  // Deletes an upload (tus termination).
  void Terminate(const std::string& id);
  // Hands the batch's files to one ingest job and returns its id. kNotFound for a batch the
  // user does not have in the case; kRejected while some of its files are incomplete.
  Result<std::string> CloseBatch(const vault::UserRecord& who, const std::string& case_id,
                                 const std::string& batch);
  // Ingests `files` (made by Create with no batch, complete) as one job now: the files of
  // one multipart request. Returns the job id.
  std::string IngestNow(std::vector<std::shared_ptr<Upload>> files);

  // Housekeeping (the janitor calls it): unfinished uploads past their expiry are deleted;
  // batches idle past batch_idle are closed with what is complete.
  void Tick();
  // At shutdown: every batch is closed with what is complete, every unfinished upload
  // deleted. The jobs then run to their end (Jobs::Drain).
  void Shutdown();

  // kLimitExceeded, saying the limit and who can raise it, when one file of `length` bytes is
  // more than `who`'s role may upload.
  Status CheckSize(const vault::UserRecord& who, uint64_t length) const;

  size_t unfinished() const;
  const UploadLimits& LimitsOf(vault::Role role) const;

 private:
  std::string SubmitLocked(std::vector<std::shared_ptr<Upload>> files);
  // The work of a job that ingests an upload as it arrives (StartArriving).
  Status IngestWhileArriving(Job& running, const std::shared_ptr<Upload>& up);
  void CloseLocked(const std::string& key);
  uint64_t ReceivedToday(const std::string& user_id);

  vault::Vault& vault_;
  Spool& spool_;
  Jobs& jobs_;
  const Clock& clock_;
  const Options options_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Upload>> uploads_;  // by id
  // Batches by "user\0case\0batch": their uploads and the last time one of them moved.
  struct Batch {
    std::vector<std::string> uploads;
    TimePoint last_activity;
  };
  std::map<std::string, Batch> batches_;
  // Bytes received per user, with when (for the day's limit).
  std::map<std::string, std::vector<std::pair<TimePoint, uint64_t>>> received_;
};

// Whether `case_id` takes uploads: kRejected, in words for the people of the portal, when it
// is closed (a manager reopens it); the vault's failures as they are.
Status CaseTakesUploads(vault::Vault& vault, const std::string& case_id);

// "5.1 GB" (decimal, one digit after the point below 100).
std::string DecimalSize(uint64_t bytes);

}  // namespace dossier::server::internal
