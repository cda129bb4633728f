#include "server/internal/uploads.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/encoding.h"
#include "report/report.h"

namespace dossier::server::internal {

namespace {

const char* RolePlural(vault::Role role) {
  switch (role) {
    case vault::Role::kPatient:
      return "patients";
    case vault::Role::kRepresentative:
      return "representatives";
    case vault::Role::kManager:
      return "managers";
    case vault::Role::kCompliance:
      return "compliance officers";
    case vault::Role::kAdmin:
      return "admins";
  }
  return "this role";
}

// Who can raise a role's limits: a manager (who asks the administrator) or the administrator,
// who starts the server.
const char* WhoRaises(vault::Role role) {
  return role == vault::Role::kPatient || role == vault::Role::kRepresentative
             ? "ask your manager"
             : "ask the server's administrator";
}

std::string BatchKey(const std::string& user, const std::string& case_id,
                     const std::string& batch) {
  return user + '\0' + case_id + '\0' + batch;
}

}  // namespace

std::string DecimalSize(uint64_t bytes) {
  static const char* kUnits[] = {"bytes", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1000 && unit < 4) {
    v /= 1000;
    ++unit;
  }
  if (unit == 0) return fmt::format("{} bytes", bytes);
  // 5.0 GB is "5 GB"; one decimal below 100, none above.
  const std::string n = v < 100 ? fmt::format("{:.1f}", v) : fmt::format("{:.0f}", v);
  const std::string trimmed =
      n.size() > 2 && n.substr(n.size() - 2) == ".0" ? n.substr(0, n.size() - 2) : n;
  return trimmed + " " + kUnits[unit];
}

Status CaseTakesUploads(vault::Vault& vault, const std::string& case_id) {
  Status st = vault.CheckCaseOpen(case_id);
  if (st.code() == StatusCode::kRejected) {
    return Rejected("case " + case_id +
                    " is closed: it takes no uploads until a manager reopens it");
  }
  return st;
}

Uploads::Uploads(vault::Vault& vault, Spool& spool, Jobs& jobs, const Clock& clock, Options options)
    : vault_(vault), spool_(spool), jobs_(jobs), clock_(clock), options_(std::move(options)) {}

const UploadLimits& Uploads::LimitsOf(vault::Role role) const {
  static const UploadLimits kNone;
  auto it = options_.limits.find(role);
  return it == options_.limits.end() ? kNone : it->second;
}

Status Uploads::CheckSize(const vault::UserRecord& who, uint64_t length) const {
  const UploadLimits& limits = LimitsOf(who.role);
  if (length <= limits.per_upload) return Status::Ok();
  return LimitExceeded(fmt::format("this upload is {}; the limit for {} is {} — {}",
                                   DecimalSize(length), RolePlural(who.role),
                                   DecimalSize(limits.per_upload), WhoRaises(who.role)));
}

uint64_t Uploads::ReceivedToday(const std::string& user_id) {
  auto& log = received_[user_id];
  const TimePoint since = clock_.Now() - std::chrono::hours(24);
  log.erase(std::remove_if(log.begin(), log.end(), [&](const auto& e) { return e.first < since; }),
            log.end());
  uint64_t sum = 0;
  for (const auto& [at, n] : log) sum += n;
  return sum;
}

Result<std::shared_ptr<Upload>> Uploads::Create(const vault::UserRecord& who,
                                                const std::string& case_id,
                                                const std::string& patient_id, uint64_t length,
                                                const std::string& path, const std::string& batch,
                                                const std::string& metadata) {
  if (const std::string why = ingest::UploadPathProblem(path); !why.empty()) {
    return InvalidArgument(
        fmt::format("the path `{}` {}: a file's path must be relative and \"/\"-separated, e.g. "
                    "CD/DICOM/IM0001",
                    path.substr(0, 200), why));
  }
  DOSSIER_RETURN_IF_ERROR(CheckSize(who, length));
  const UploadLimits& limits = LimitsOf(who.role);
  const std::string role = RolePlural(who.role);
  std::lock_guard<std::mutex> lock(mu_);
  size_t open = 0;
  uint64_t reserved = 0;
  for (const auto& [id, up] : uploads_) {
    if (up->user_id != who.id || !up->job_id.empty() || up->file->complete()) continue;
    ++open;
    reserved += up->file->length() - up->file->offset();
  }
  if (open >= limits.parallel) {
    return LimitExceeded(fmt::format(
        "you have {} unfinished uploads; the limit for {} is {} at once — finish or cancel one "
        "first, or {}",
        open, role, limits.parallel, WhoRaises(who.role)));
  }
  const uint64_t today = ReceivedToday(who.id);
  if (today + reserved + length > limits.per_day) {
    return LimitExceeded(fmt::format(
        "this upload of {} would pass the limit for {} of {} in 24 hours ({} received, {} more "
        "promised by unfinished uploads) — try again tomorrow, or {}",
        DecimalSize(length), role, DecimalSize(limits.per_day), DecimalSize(today),
        DecimalSize(reserved), WhoRaises(who.role)));
  }
  const std::string key = BatchKey(who.id, case_id, batch);
  if (!batch.empty()) {
    if (auto it = batches_.find(key); it != batches_.end()) {
      for (const std::string& id : it->second.uploads) {
        if (uploads_.count(id) && uploads_[id]->path == path) {
          return InvalidArgument(
              fmt::format("this batch already has a file at `{}`", path.substr(0, 200)));
        }
      }
    }
  }
  DOSSIER_ASSIGN_OR_RETURN(auto file, spool_.Create(length));
  auto up = std::make_shared<Upload>();
  up->id = RandomId("upl", 16);
  up->user_id = who.id;
  up->role = std::string(vault::RoleName(who.role));
  up->patient_id = patient_id;
  up->case_id = case_id;
  up->path = path;
  up->batch = batch;
  up->metadata = metadata;
  up->file = std::move(file);
  up->created = clock_.Now();
  up->expires = up->created + options_.expiry;
  uploads_[up->id] = up;
  if (!batch.empty()) {
    Batch& b = batches_[key];
    b.uploads.push_back(up->id);
    b.last_activity = up->created;
  }
  return up;
}

std::shared_ptr<Upload> Uploads::Find(const std::string& id, const std::string& user_id,
                                      const std::string& case_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = uploads_.find(id);
  if (it == uploads_.end() || it->second->user_id != user_id || it->second->case_id != case_id) {
    return nullptr;
  }
  return it->second;
}

Status Uploads::BeginWrite(Upload& up) {
  std::lock_guard<std::mutex> lock(mu_);
  if (up.writing) {
    return Rejected("another request is sending this upload's bytes: wait for it, then resume");
  }
  if (!up.job_id.empty()) return Rejected("this upload is complete and handed over");
  up.writing = true;
  return Status::Ok();
}

Status Uploads::Append(Upload& up, std::span<const uint8_t> bytes) {
  DOSSIER_RETURN_IF_ERROR(up.file->Append(bytes));
  std::lock_guard<std::mutex> lock(mu_);
  received_[up.user_id].emplace_back(clock_.Now(), bytes.size());
  if (!up.batch.empty()) {
    auto it = batches_.find(BatchKey(up.user_id, up.case_id, up.batch));
    if (it != batches_.end()) it->second.last_activity = clock_.Now();
  }
  return Status::Ok();
}

void Uploads::EndWrite(Upload& up) {
  std::lock_guard<std::mutex> lock(mu_);
  up.writing = false;
  if (!up.file->complete() || !up.job_id.empty()) return;
  if (!up.arriving_job.empty()) {  // handed over already: that job reads it to its end
    up.job_id = up.arriving_job;
    return;
  }
  // A file of a batch waits for the batch; a file alone is ingested now.
  if (!up.batch.empty() && batches_.count(BatchKey(up.user_id, up.case_id, up.batch))) return;
  auto it = uploads_.find(up.id);
  if (it == uploads_.end()) return;
  SubmitLocked({it->second});
}

void Uploads::Terminate(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = uploads_.find(id);
  if (it == uploads_.end()) return;
  if (it->second->file) it->second->file->Remove();
  uploads_.erase(it);
}

Result<std::string> Uploads::CloseBatch(const vault::UserRecord& who, const std::string& case_id,
                                        const std::string& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = BatchKey(who.id, case_id, batch);
  auto it = batches_.find(key);
  if (it == batches_.end()) {
    return NotFound("no open batch `" + batch.substr(0, 64) +
                    "` of yours in this case: it was closed already, or never began");
  }
  size_t incomplete = 0;
  for (const std::string& id : it->second.uploads) {
    auto up = uploads_.find(id);
    if (up != uploads_.end() && !up->second->file->complete()) ++incomplete;
  }
  if (incomplete > 0) {
    return Rejected(fmt::format(
        "{} file{} of this batch {} still being uploaded: close the batch once every file is "
        "complete",
        incomplete, incomplete == 1 ? "" : "s", incomplete == 1 ? "is" : "are"));
  }
  std::vector<std::shared_ptr<Upload>> files;
  for (const std::string& id : it->second.uploads) {
    if (auto up = uploads_.find(id); up != uploads_.end()) {
      files.push_back(up->second);
    }
  }
  batches_.erase(it);
  if (files.empty()) return NotFound("batch `" + batch.substr(0, 64) + "` has no files");
  return SubmitLocked(std::move(files));
}

std::string Uploads::IngestNow(std::vector<std::shared_ptr<Upload>> files) {
  std::lock_guard<std::mutex> lock(mu_);
  return SubmitLocked(std::move(files));
}

void Uploads::CloseLocked(const std::string& key) {
  auto it = batches_.find(key);
  if (it == batches_.end()) return;
  std::vector<std::shared_ptr<Upload>> files;
  for (const std::string& id : it->second.uploads) {
    auto up = uploads_.find(id);
    if (up == uploads_.end()) continue;
    if (up->second->file->complete()) {
      files.push_back(up->second);
    } else {
      up->second->batch.clear();  // finished later, it is ingested alone
    }
  }
  batches_.erase(it);
  if (!files.empty()) SubmitLocked(std::move(files));
}

namespace {

JobOwner OwnerOf(const Upload& first) {
  return {first.user_id, first.patient_id, first.case_id, "ingest"};
}

ingest::IngestProgressFn ProgressOf(Job& running) {
  return [&running](const ingest::IngestProgress& p) {
    running.SetProgress({p.bytes_done, p.bytes_total, p.items_done, p.items_total, p.pages_done,
                         p.pages_total, p.current, p.verdicts});
  };
}

// The work of an ingest job of complete uploads: their files, read back from the spool, into
// the vault; the report as the job's result; the spooled copies deleted.
Status IngestComplete(vault::Vault& vault, const ingest::IngestOptions& options,
                      const std::vector<std::shared_ptr<Upload>>& files, Job& running) {
  const Upload& first = *files.front();
  ingest::IngestReport report;
  std::vector<ingest::UploadFile> sources;
  Status st;
  for (const auto& f : files) {
    auto reader = f->file->Reader();
    if (!reader.ok()) {
      st = Corrupt(reader.status().message());
      break;
    }
    sources.push_back({f->path, std::move(reader).value()});
  }
  if (st.ok()) {
    vault::ActingAs acting(vault, {first.user_id, first.role});
    // A case closed while the files were on their way takes nothing.
    st = CaseTakesUploads(vault, first.case_id);
    if (st.ok()) {
      ingest::IngestOptions opts = options;
      opts.reply_to = first.reply_to;  // a batch's files are one reply, as its first says
      st = ingest::IngestUploads(vault, first.case_id, sources, opts, report, ProgressOf(running));
    }
  }
  // The spooled copies are gone once the vault has them (or refused them).
  running.ThenCleanUp([files] {
    for (const auto& f : files) f->file->Remove();
  });
  running.SetResult(report::IngestJson(report));
  return st;
}

}  // namespace

std::string Uploads::SubmitLocked(std::vector<std::shared_ptr<Upload>> files) {
  vault::Vault* vault = &vault_;
  const ingest::IngestOptions* options = &options_.ingest;
  auto job = jobs_.Submit(OwnerOf(*files.front()), [vault, options, files](Job& running) {
    return IngestComplete(*vault, *options, files, running);
  });
  for (const auto& f : files) f->job_id = job->id();
  return job->id();
}

void Uploads::StartArriving(const std::shared_ptr<Upload>& up) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!up->batch.empty() || !up->reply_to.empty() ||
      up->file->length() < options_.arriving_min_bytes || up->file->length() == 0 ||
      jobs_.pending() > 0 || !uploads_.count(up->id)) {
    return;
  }
  auto job = jobs_.Submit(OwnerOf(*up),
                          [this, up](Job& running) { return IngestWhileArriving(running, up); });
  if (!job->finished()) up->arriving_job = job->id();
}

Status Uploads::IngestWhileArriving(Job& running, const std::shared_ptr<Upload>& up) {
  // A read waiting for bytes stops when another job waits for this one to end, when the
  // vault's batch gave way to another write, or when no byte came for arriving_stall (the
  // connection dropped: the client may resume much later).
  struct Watch {
    uint64_t offset = 0;
    TimePoint moved;
    bool stopped = false;
  };
  auto watch = std::make_shared<Watch>();
  watch->moved = clock_.Now();
  auto stop = [this, watch](uint64_t offset) {
    if (offset != watch->offset) {
      watch->offset = offset;
      watch->moved = clock_.Now();
    }
    watch->stopped = watch->stopped || jobs_.pending() > 1 || vault_.batch_gave_way() ||
                     clock_.Now() - watch->moved >= options_.arriving_stall;
    return watch->stopped;
  };
  auto reader = up->file->ArrivingReader(stop);
  bool kept = false;
  ingest::IngestReport report;
  Status st;
  if (reader.ok()) {
    std::shared_ptr<ingest::UploadSource> source = std::move(reader).value();
    const uint64_t length = source->size();
    vault::ActingAs acting(vault_, {up->user_id, up->role});
    st = ingest::IngestArriving(
        vault_, up->case_id, {{up->path, source}}, options_.ingest, report,
        [&] {
          // Nothing is kept before the last byte is in (the client may still cancel): wait
          // for it, as a read does.
          uint8_t last = 0;
          return !source->ReadAt(length - 1, {&last, 1}).ok();
        },
        kept, ProgressOf(running));
  }
  if (kept) {
    running.ThenCleanUp([up] { up->file->Remove(); });
    running.SetResult(report::IngestJson(report));
    return st;
  }
  // Given up: ingested again once complete — now, in this job, if it already is.
  {
    std::lock_guard<std::mutex> lock(mu_);
    up->arriving_job.clear();
    if (!up->file->complete() || !uploads_.count(up->id)) {
      jobs_.Discard(running.id());  // its id was never given out
      return Status::Ok();
    }
    up->job_id = running.id();
  }
  return IngestComplete(vault_, options_.ingest, {up}, running);
}

void Uploads::Tick() {
  std::lock_guard<std::mutex> lock(mu_);
  const TimePoint now = clock_.Now();
  std::vector<std::string> idle;
  for (const auto& [key, b] : batches_) {
    if (now - b.last_activity >= options_.batch_idle) idle.push_back(key);
  }
  for (const std::string& key : idle) CloseLocked(key);
  for (auto it = uploads_.begin(); it != uploads_.end();) {
    Upload& up = *it->second;
    if (now < up.expires || up.writing) {
      ++it;
      continue;
    }
    if (up.job_id.empty()) up.file->Remove();
    it = uploads_.erase(it);
  }
}

void Uploads::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> keys;
  for (const auto& [key, b] : batches_) keys.push_back(key);
  for (const std::string& key : keys) CloseLocked(key);
  for (auto& [id, up] : uploads_) {
    if (up->job_id.empty()) up->file->Remove();
  }
}

size_t Uploads::unfinished() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [id, up] : uploads_) {
    if (up->job_id.empty() && !up->file->complete()) ++n;
  }
  return n;
}

}  // namespace dossier::server::internal
