#include "ingest/ingest.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "common/file_io.h"
#include "common/text.h"
#include "dicom/dicom.h"
#include "ingest/internal/ocr_pool.h"
#include "ingest/sniff.h"
#include "sandbox/frame.h"

namespace dossier::ingest {
namespace fs = std::filesystem;

size_t IngestReport::Count(std::string_view status) const {
  return static_cast<size_t>(std::count_if(
      items.begin(), items.end(), [&](const ItemReport& i) { return i.status == status; }));
}

namespace {

// Refused or skipped entries of one item listed one by one; the rest are counted in one line.
constexpr size_t kMaxListedPerItem = 1000;

constexpr const char* kExecutableReason =
    "executable program: not a medical document, refused for safety";

std::string FormatBytes(uint64_t n) {
  if (n >= (uint64_t{1} << 30) && n % (uint64_t{1} << 30) == 0)
    return fmt::format("{} GiB", n >> 30);
  if (n >= (uint64_t{1} << 20) && n % (uint64_t{1} << 20) == 0)
    return fmt::format("{} MiB", n >> 20);
  return fmt::format("{} bytes", n);
}

struct Planned {
  fs::path source;
  std::string display;  // the path shown to the user and stored (encrypted) as the name
  uint64_t size = 0;
  bool in_folder = false;  // found by walking a folder (not named on the command line)
  size_t root = 0;         // which argument it came from
  std::string refuse;      // non-empty: refused before reading (not a regular file, ...)
};

// Lists files without following symlinks; anything that is not a regular file is refused.
Status Plan(const fs::path& root, const IngestOptions& options, std::vector<Planned>& out) {
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0) {
    return NotFound("cannot read " + root.string() + ": no such file or folder");
  }
  const std::string base =
      root.filename().empty() ? root.parent_path().filename().string() : root.filename().string();
  auto add = [&](const fs::path& p, const std::string& display, const struct stat& s,
                 bool in_folder) -> Status {
    if (out.size() >= options.max_files) {
      return LimitExceeded(
          fmt::format("the upload holds more than {} files: split it", options.max_files));
    }
    Planned item{p, display, static_cast<uint64_t>(s.st_size), in_folder, 0, ""};
    if (S_ISLNK(s.st_mode)) {
      item.refuse = "symbolic link: not followed — upload the file it points to";
      item.size = 0;
    } else if (!S_ISREG(s.st_mode)) {
      item.refuse = "not a regular file (device, pipe or socket)";
      item.size = 0;
    }
    out.push_back(std::move(item));
    return Status::Ok();
  };
  if (!S_ISDIR(st.st_mode)) return add(root, base, st, false);

  std::error_code ec;
  std::vector<fs::path> entries;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) entries.push_back(it->path());
  }
  if (ec) return IoError("cannot list " + root.string() + ": " + ec.message());
  std::sort(entries.begin(), entries.end());
  for (const auto& p : entries) {
    struct stat s {};
    if (::lstat(p.c_str(), &s) != 0) continue;  // vanished while listing
    DOSSIER_RETURN_IF_ERROR(
        add(p, (fs::path(base) / p.lexically_relative(root)).string(), s, true));
  }
  return Status::Ok();
}

// Turns one stream of bytes (a file, or an entry an unpack worker sends) into a stored
// document or a refusal: buffers the head, sniffs it, then streams the rest into the vault.
// A report line without an OCR check (yet).
ItemReport Line(std::string path, std::string kind, uint64_t size, std::string status,
                std::string reason) {
  ItemReport r;
  r.path = std::move(path);
  r.kind = std::move(kind);
  r.size = size;
  r.status = std::move(status);
  r.reason = std::move(reason);
  return r;
}

class EntryStore {
 public:
  EntryStore(vault::Vault& vault, const std::string& case_id, const IngestOptions& options)
      : vault_(vault), case_id_(case_id), options_(options) {}

  // `digested`: the entry's digest comes with its end (from an unpack worker), so the vault
  // need not hash it.
  void Begin(const std::string& path, bool digested) {
    item_ = Line(path, "", 0, "", "");
    digested_ = digested;
    ocr_bytes_.reset();
    ocr_doc_.clear();
    dicom_.reset();
    head_.clear();
    writer_.reset();
    decided_ = false;
    executable_ = false;
    open_ = true;
  }
  bool open() const { return open_; }
  const std::string& path() const { return item_.path; }

  // Errors returned are the vault's (fatal); problems of the entry become its report.
  Status Data(std::span<const uint8_t> data) {
    item_.size += data.size();
    if (!item_.status.empty()) return Status::Ok();  // already refused: drain
    if (item_.size > options_.max_file_bytes) {
      if (!decided_) {  // still say what it was
        head_.insert(head_.end(), data.begin(), data.end());
        item_.kind = Sniff(head_, item_.size).kind;
      }
      Reject("larger than the limit of " + FormatBytes(options_.max_file_bytes) + " for one file");
      return Status::Ok();
    }
    if (writer_) {
      KeepForOcr(data);
      return writer_->Write(data);
    }
    head_.insert(head_.end(), data.begin(), data.end());
    if (head_.size() >= kSniffBytes) return Decide(true);
    return Status::Ok();
  }

  // Ends the entry: `outcome` is how reading it went. Returns the report line.
  Result<ItemReport> End(const Status& outcome, const vault::ContentDigest* digest = nullptr) {
    open_ = false;
    // A read that failed explains the entry better than whatever part of it arrived.
    if (!outcome.ok() && item_.status.empty()) {
      if (!decided_ && !head_.empty()) item_.kind = Sniff(head_, item_.size).kind;
      Reject(outcome.message());
    }
    if (!decided_ && item_.status.empty()) DOSSIER_RETURN_IF_ERROR(Decide(false));
    if (!item_.status.empty()) {
      writer_.reset();  // discards the uncommitted object
      return item_;
    }
    joined_batch_ = vault_.committed_batches();  // before Commit, which may flush the batch
    if (digested_ && digest == nullptr) return Internal("entry ended without its digest");
    DOSSIER_ASSIGN_OR_RETURN(vault::StoreOutcome stored,
                             digested_ ? writer_->CommitWithDigest(*digest) : writer_->Commit());
    writer_.reset();
    item_.doc_id = stored.doc_id;
    item_.status = stored.duplicate ? "duplicate" : "stored";
    if (!stored.duplicate && ocr_bytes_) ocr_doc_ = stored.doc_id;
    if (stored.duplicate) item_.reason = "same content as " + stored.doc_id + ", stored once";
    return item_;
  }

  // Drops an open entry (its reader failed): the report line carries `reason`.
  ItemReport Abandon(const std::string& reason) {
    open_ = false;
    writer_.reset();
    if (item_.status.empty()) Reject(reason);
    return item_;
  }

  // The worker's DICOM summary of the open entry ('M'). kCorrupt when it is not a valid one
  // or comes twice.
  Status SetDicom(std::string_view json) {
    if (dicom_) return Corrupt("two DICOM summaries for one entry");
    DOSSIER_ASSIGN_OR_RETURN(dicom::InstanceSummary summary, dicom::FromJson(json));
    dicom_ = std::move(summary);
    return Status::Ok();
  }
  // The DICOM summary of the entry that just ended, if the worker sent one.
  std::optional<dicom::InstanceSummary> TakeDicom() { return std::exchange(dicom_, std::nullopt); }

  bool executable() const { return executable_; }
  // The bytes of the document just stored as `doc_id`, kept for the OCR check (once).
  std::optional<std::vector<uint8_t>> TakeOcrBytes(const std::string& doc_id) {
    if (doc_id.empty() || doc_id != ocr_doc_ || !ocr_bytes_) return std::nullopt;
    ocr_doc_.clear();
    return std::exchange(ocr_bytes_, std::nullopt);
  }
  // The group-commit batch the last stored entry joined (Vault::committed_batches() then).
  uint64_t joined_batch() const { return joined_batch_; }

 private:
  void Reject(std::string reason) {
    item_.status = "rejected";
    item_.reason = std::move(reason);
    writer_.reset();
  }

  Status Decide(bool more) {
    decided_ = true;
    const Sniffed s = Sniff(head_, head_.size() + (more ? 1 : 0));
    item_.kind = s.kind;
    if (!s.container.empty()) {
      Reject(
          fmt::format("archive nested more than {} levels deep: unpack it and send the "
                      "files inside",
                      options_.unpack.depth));
      return Status::Ok();
    }
    if (!s.accepted()) {
      executable_ = s.reason == kExecutableReason;
      Reject(s.reason);
      return Status::Ok();
    }
    DOSSIER_ASSIGN_OR_RETURN(
        writer_, vault_.BeginDocument({case_id_, item_.path, s.kind, "other", digested_}));
    if (options_.ocr &&
        (s.kind == "pdf" || s.kind == "jpeg" || s.kind == "png" || s.kind == "tiff")) {
      ocr_bytes_.emplace();
      KeepForOcr(head_);
    }
    const Status st = writer_->Write(head_);
    head_.clear();
    head_.shrink_to_fit();
    return st;
  }

  void KeepForOcr(std::span<const uint8_t> data) {
    if (!ocr_bytes_) return;
    if (ocr_bytes_->size() + data.size() > options_.ocr_max_document_bytes) {
      ocr_bytes_.reset();  // too large to check: stored all the same
      return;
    }
    ocr_bytes_->insert(ocr_bytes_->end(), data.begin(), data.end());
  }

  vault::Vault& vault_;
  const std::string& case_id_;
  const IngestOptions& options_;
  ItemReport item_;
  std::optional<std::vector<uint8_t>> ocr_bytes_;  // plaintext, in memory only
  std::string ocr_doc_;                            // the document they were stored as
  std::optional<dicom::InstanceSummary> dicom_;    // the worker's summary of the entry
  std::vector<uint8_t> head_;
  std::unique_ptr<vault::DocumentWriter> writer_;
  bool digested_ = false;
  bool decided_ = false;
  bool executable_ = false;
  bool open_ = false;
  uint64_t joined_batch_ = 0;
};

class Ingester {
 public:
  Ingester(vault::Vault& vault, const std::string& case_id, const IngestOptions& options,
           IngestReport& report, const IngestProgressFn& progress)
      : vault_(vault),
        case_id_(case_id),
        options_(options),
        report_(report),
        progress_(progress),
        entry_(vault, case_id, options) {}

  Status Run(const std::vector<fs::path>& paths) {
    std::vector<Planned> plan;
    for (size_t i = 0; i < paths.size(); ++i) {
      const size_t first = plan.size();
      DOSSIER_RETURN_IF_ERROR(Plan(paths[i], options_, plan));
      for (size_t k = first; k < plan.size(); ++k) plan[k].root = i;
    }
    prog_.items_total = plan.size();
    for (const auto& p : plan) prog_.bytes_total += p.size;
    for (const Planned& p : plan) {
      DOSSIER_RETURN_IF_ERROR(IngestOne(p).WithContext(p.display));
      prog_.items_done += 1;
      if (progress_) progress_(prog_);
      if (ocr_pending_ >= options_.ocr_pending_bytes / 2) DOSSIER_RETURN_IF_ERROR(RunPendingOcr());
    }
    FinishGroup();
    FinishSeries();
    return RunPendingOcr();
  }

 private:
  void Add(ItemReport item) {
    if (item.kind == "dicom" || item.kind == "dicomdir") saw_imaging_ = true;
    if (item.status == "stored" || item.status == "duplicate") {
      batch_of_.emplace_back(report_.items.size(), entry_.joined_batch());
    }
    if (item.status == "stored") {
      if (auto bytes = entry_.TakeOcrBytes(item.doc_id)) QueueOcr(item, std::move(*bytes));
    }
    report_.items.push_back(std::move(item));
  }

  // The OCR check of a stored document waits in memory until the item is done.
  void QueueOcr(ItemReport& item, std::vector<uint8_t> bytes) {
    if (ocr_pending_ + bytes.size() > options_.ocr_pending_bytes) {
      item.advice =
          "not checked: this upload holds too many documents to check at once — "
          "send them in smaller parts";
      return;
    }
    auto memfd = SealedMemoryFile(bytes);
    if (!memfd.ok()) {
      item.advice = "not checked: " + memfd.status().message();
      return;
    }
    ocr_pending_ += bytes.size();
    ocr_jobs_.push_back({item.doc_id, item.kind, std::move(memfd).value(), report_.items.size()});
  }

  // The wrong-patient check: a readable document of some length that names neither the
  // first nor the last word of the patient's name (surname first or last), in any script or
  // common transliteration, is probably someone else's.
  Result<bool> LooksLikeThePatients(const internal::OcrResult& r) {
    if (r.verdict != "printed" && r.verdict != "mixed") return true;
    std::string text;
    for (const auto& p : r.pages) text += p.text + "\n";
    if (NameKey(text).size() < 200) return true;  // too little text to expect a name in it
    DOSSIER_ASSIGN_OR_RETURN(const vault::PatientInfo* patient, Patient());
    const std::string name = NameKey(patient->name);
    if (name.empty()) return true;
    const std::string first = name.substr(0, name.find(' '));
    const std::string last = name.substr(name.rfind(' ') + 1);
    return MentionsName(text, first) || MentionsName(text, last);
  }

  // The case's patient, read once (in memory only).
  Result<const vault::PatientInfo*> Patient() {
    if (!patient_) {
      DOSSIER_ASSIGN_OR_RETURN(vault::CaseRecord c, vault_.GetCase(case_id_));
      DOSSIER_ASSIGN_OR_RETURN(vault::PatientRecord p, vault_.GetPatient(c.patient_id));
      patient_ = std::move(p.info);
    }
    return &*patient_;
  }

  // What the worker said of a DICOM entry that just ended: a stored instance is filed under
  // its study and series and checked against the case's patient; a DICOMDIR's listing is kept
  // for the cross-check at the end of the disc.
  Status NoteDicom(ItemReport& item) {
    std::optional<dicom::InstanceSummary> summary = entry_.TakeDicom();
    // Only what the parent itself recognised as DICOM is filed as DICOM: a summary sent for
    // a PDF or a TIFF (a worker fooled, or subverted) is ignored.
    if (item.kind != "dicom" && item.kind != "dicomdir") summary.reset();
    if (!summary) {
      if (item.kind == "dicom" && item.status == "stored") {
        item.advice = "not summarised (larger than the worker holds in memory): stored unchanged";
      }
      return Status::Ok();
    }
    if (summary->object_kind == "directory") {
      // Cross-checked against the files around it, when it came with them (in a folder or a
      // disc image); a DICOMDIR uploaded on its own has nothing to check against.
      const bool with_files =
          item.path.find('/') != std::string::npos && !summary->referenced_files.empty();
      if (with_files && (item.status == "stored" || item.status == "duplicate")) {
        dicomdirs_.push_back({report_.items.size(), std::move(summary->referenced_files), false});
      }
      return Status::Ok();
    }
    if (item.status != "stored") return Status::Ok();
    DOSSIER_ASSIGN_OR_RETURN(const vault::PatientInfo* patient, Patient());
    vault::DicomInstanceInfo info;
    info.study_uid = summary->study_uid;
    info.series_uid = summary->series_uid;
    info.instance_uid = summary->sop_instance_uid;
    info.instance_number = summary->instance_number;
    info.mismatch = dicom::PatientMismatch(*summary, patient->name, patient->birth_date);
    info.summary = dicom::ToJson(*summary);
    DOSSIER_ASSIGN_OR_RETURN(item.series, vault_.AddDicomInstance(item.doc_id, info));
    auto [it, added] = series_index_.try_emplace(item.series, report_.series.size());
    if (added) {
      SeriesReport r;
      r.id = item.series;
      r.modality = summary->modality;
      r.description = summary->series_description.empty() ? summary->study_description
                                                          : summary->series_description;
      r.date = summary->study_date;
      r.object_kind = summary->object_kind;
      r.mismatch = info.mismatch;
      report_.series.push_back(std::move(r));
    }
    SeriesReport& series = report_.series[it->second];
    series.instances += 1;
    if (series.mismatch.empty()) series.mismatch = info.mismatch;
    tallies_[item.series].Add(*summary);
    return Status::Ok();
  }

  // Each series' problems, counted: "… (3 of 20 instances)".
  void FinishSeries() {
    for (SeriesReport& r : report_.series) r.problems = tallies_[r.id].Problems();
  }

 public:
  // A preview of each series this upload added to: its middle instance (by instance number),
  // decrypted into a sealed memfd and rendered by a worker, never by this process. A series
  // that cannot be rendered (JPEG 2000, no pixels) simply has none. Runs after the batch
  // commit: the objects must be on disk to be read back.
  Status MakePreviews() {
    if (report_.series.empty()) return Status::Ok();
    DOSSIER_ASSIGN_OR_RETURN(auto all, vault_.ListDicomSeries(case_id_));
    for (const auto& s : all) {
      if (series_index_.count(s.id) == 0 || s.doc_ids.empty()) continue;
      DOSSIER_ASSIGN_OR_RETURN(std::vector<uint8_t> png,
                               RenderPreview(s.doc_ids[s.doc_ids.size() / 2]));
      if (!png.empty()) DOSSIER_RETURN_IF_ERROR(vault_.SetSeriesPreview(s.id, png));
    }
    return Status::Ok();
  }

 private:
  // The worker's PNG of a stored DICOM document; empty when there is none. Errors are the
  // vault's only.
  Result<std::vector<uint8_t>> RenderPreview(const std::string& doc_id) {
    MemorySink plain;
    DOSSIER_RETURN_IF_ERROR(vault_.ReadDocument(doc_id, plain));
    auto memfd = SealedMemoryFile(plain.data);
    if (!memfd.ok()) return std::vector<uint8_t>();
    DOSSIER_RETURN_IF_ERROR(Send([&](UnpackWorker& w) { return w.SendPreview(*memfd); }));
    sandbox::Frame reply;
    const int wait_ms = options_.worker.stall_seconds * 1000;
    Status got = sandbox::ReadFrame(worker_->reply_fd(), wait_ms, reply);
    if (got.ok() && reply.type == 'F') return std::vector<uint8_t>();  // cannot be rendered
    std::vector<uint8_t> png(reply.payload.begin(), reply.payload.end());
    // A PNG of at most 256 × 256 pixels, then the end of the request — or the worker goes.
    static constexpr uint8_t kSignature[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    auto side = [&](size_t at) {
      return (uint32_t{png[at]} << 24) | (uint32_t{png[at + 1]} << 16) |
             (uint32_t{png[at + 2]} << 8) | png[at + 3];
    };
    const bool valid = got.ok() && reply.type == 'Q' && png.size() > 24 &&
                       std::equal(std::begin(kSignature), std::end(kSignature), png.begin()) &&
                       side(16) >= 1 && side(16) <= 256 && side(20) >= 1 && side(20) <= 256;
    if (valid) got = sandbox::ReadFrame(worker_->reply_fd(), wait_ms, reply);
    if (!valid || !got.ok() || reply.type != 'F') {
      worker_->Stop();
      worker_.reset();
      return std::vector<uint8_t>();
    }
    return png;
  }

  // The DICOMDIRs stored since report item `from`, checked against the files around them:
  // files they list that are not in the upload become "missing" lines; DICOM files they do
  // not list are said to be unlisted (they were read all the same). File IDs compare
  // without case and ISO 9660 ";1" suffixes.
  void CrossCheckDicomdirs(size_t from) {
    const size_t end = report_.items.size();
    for (DicomdirListing& dir : dicomdirs_) {
      if (dir.checked || dir.item < from || dir.item >= end) continue;
      dir.checked = true;
      const std::string path = report_.items[dir.item].path;
      const size_t slash = path.rfind('/');
      const std::string folder = slash == std::string::npos ? "" : path.substr(0, slash + 1);
      const std::string base = folder.empty() ? "" : dicom::FileIdKey(folder) + "/";
      std::set<std::string> present;
      for (size_t i = from; i < end; ++i) present.insert(dicom::FileIdKey(report_.items[i].path));
      std::set<std::string> listed;
      size_t missing = 0;
      for (const std::string& id : dir.files) {
        const std::string key = base + dicom::FileIdKey(id);
        if (!listed.insert(key).second || present.count(key) != 0) continue;
        if (++missing <= kMaxListedPerItem) {
          Add(Line(folder + id, "dicom", 0, "missing",
                   "listed in the disc's DICOMDIR but not in the upload: copy the whole disc "
                   "again"));
        }
      }
      if (missing > kMaxListedPerItem) {
        Add(Line(path, "dicomdir", 0, "missing",
                 fmt::format("and {} more files listed in the DICOMDIR are not in the upload",
                             missing - kMaxListedPerItem)));
      }
      for (size_t i = from; i < end; ++i) {
        ItemReport& item = report_.items[i];
        if (item.kind != "dicom" || (item.status != "stored" && item.status != "duplicate"))
          continue;
        const std::string key = dicom::FileIdKey(item.path);
        if (key.rfind(base, 0) != 0 || listed.count(key) != 0) continue;
        constexpr const char* kUnlisted = "not listed in the disc's DICOMDIR: read all the same";
        if (item.advice.find(kUnlisted) != std::string::npos) continue;
        item.advice += std::string(item.advice.empty() ? "" : "; ") + kUnlisted;
        if (!item.series.empty()) tallies_[item.series].AddProblem(kUnlisted);
      }
    }
  }

  // Checks every queued document, page by page on all cores, and records the verdicts.
  Status RunPendingOcr() {
    if (ocr_jobs_.empty()) return Status::Ok();
    WorkerOptions w = options_.worker;
    const int workers = options_.ocr_workers > 0
                            ? options_.ocr_workers
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const Status st = internal::RunOcr(
        ocr_jobs_, w, workers,
        [&](internal::OcrResult&& r) -> Status {
          const internal::OcrJob& job = ocr_jobs_[r.job];
          ItemReport& item = report_.items[job.item];
          if (!r.error.empty()) {
            item.advice = "not checked: " + r.error;
            return Status::Ok();
          }
          DOSSIER_RETURN_IF_ERROR(vault_.SetAnalysis(job.doc_id, r.verdict, r.page_count, r.pages));
          item.verdict = r.verdict;
          item.pages = r.page_count;
          item.advice = r.advice;
          DOSSIER_ASSIGN_OR_RETURN(bool theirs, LooksLikeThePatients(r));
          if (!theirs) {
            item.advice += std::string(item.advice.empty() ? "" : "; ") +
                           "it does not mention the patient's surname in any spelling — check "
                           "that this document is theirs";
          }
          return Status::Ok();
        },
        [&](int done, int total) {
          prog_.pages_done = done;
          prog_.pages_total = total;
          if (progress_) progress_(prog_);
        });
    ocr_jobs_.clear();
    ocr_pending_ = 0;
    prog_.pages_done = prog_.pages_total = 0;
    return st;
  }

 public:
  // After a failed group commit: what the report called stored in a batch that never
  // committed is not in the vault — say so.
  void UnclaimUncommitted(const Status& why) {
    std::set<std::string> lost;
    for (const auto& [index, batch] : batch_of_) {
      ItemReport& item = report_.items[index];
      if (batch < vault_.committed_batches()) continue;
      if (item.status == "stored") lost.insert(item.doc_id);
      if (item.status == "stored" || lost.count(item.doc_id) != 0) {
        item.status = "rejected";
        item.reason = "not stored: the vault could not make it durable (" + why.message() +
                      ") — ingest it again";
        item.doc_id.clear();
      }
    }
  }

 private:
  // Executables (by content or by name) inside a disc folder or image are its viewer
  // software, skipped as a group; in an upload without imaging they are refused.
  void FinishGroup() {
    CrossCheckDicomdirs(group_start_);
    for (ItemReport& exe : executables_) {
      exe.status = saw_imaging_ ? "skipped" : "rejected";
      exe.reason = saw_imaging_ ? kViewerSoftware : kExecutableReason;
      report_.items.push_back(std::move(exe));
    }
    executables_.clear();
    saw_imaging_ = false;
  }

  void AddEntryResult(ItemReport item, bool executable) {
    if (executable) {
      executables_.push_back(std::move(item));
    } else {
      Add(std::move(item));
    }
  }

  Status IngestOne(const Planned& p) {
    // Viewer software is judged per argument: imaging in one folder says nothing of another.
    if (!p.in_folder || p.root != current_root_) {
      FinishGroup();
      group_start_ = report_.items.size();
    }
    current_root_ = p.root;
    auto reject = [&](std::string reason) {
      Add(Line(p.display, "", p.size, "rejected", std::move(reason)));
      return Status::Ok();
    };
    if (!p.refuse.empty()) return reject(p.refuse);
    if (p.in_folder) {
      if (const std::string group = SkipGroupForName(p.display); !group.empty()) {
        AddEntryResult(Line(p.display, "", p.size, "skipped", group), group == kViewerSoftware);
        return Status::Ok();
      }
    }
    auto file = File::OpenRegular(p.source);
    if (!file.ok()) return reject(file.status().message());
    std::vector<uint8_t> buf(1 << 20);
    auto head_n = file->ReadFull({buf.data(), kSniffBytes});
    if (!head_n.ok()) return reject(head_n.status().message());
    const Sniffed sniffed = Sniff({buf.data(), *head_n}, p.size);
    if (sniffed.kind == "pdf") {
      DOSSIER_ASSIGN_OR_RETURN(std::string refusal, CheckPdfInWorker(*file));
      if (!refusal.empty()) {
        Add(Line(p.display, "pdf", p.size, "rejected", std::move(refusal)));
        return Status::Ok();
      }
    }
    if (!sniffed.container.empty()) {
      const Status st = IngestContainer(p, *file, sniffed);
      if (!p.in_folder) FinishGroup();
      return st;
    }
    // DICOM is parsed only by a worker: it reads the file and sends it back, summarised.
    if (sniffed.kind == "dicom" || sniffed.kind == "dicomdir") {
      return IngestContainer(p, *file, sniffed, /*whole=*/true);
    }

    entry_.Begin(p.display, false);
    for (size_t n = *head_n; n > 0;) {
      DOSSIER_RETURN_IF_ERROR(entry_.Data({buf.data(), n}));
      prog_.bytes_done += n;
      if (progress_) progress_(prog_);
      auto next = file->Read(buf);
      if (!next.ok()) {
        Add(entry_.Abandon(next.status().message()));
        return Status::Ok();
      }
      n = *next;
    }
    DOSSIER_ASSIGN_OR_RETURN(ItemReport item, entry_.End(Status::Ok()));
    DOSSIER_RETURN_IF_ERROR(NoteDicom(item));
    // A lone executable is refused outright; inside a folder it may be disc viewer software.
    if (p.in_folder) {
      AddEntryResult(std::move(item), entry_.executable());
    } else {
      Add(std::move(item));
    }
    return Status::Ok();
  }

  Status EnsureWorker() {
    if (worker_) return Status::Ok();
    auto w = UnpackWorker::Start(options_.worker);
    if (!w.ok()) return w.status();
    worker_.emplace(std::move(w).value());
    if (!worker_->unconfined().empty()) report_.unconfined_workers = worker_->unconfined();
    return Status::Ok();
  }

  // Why a worker went away, as the reason for the item it was working on.
  std::string WorkerLost(const Status& got, const char* doing) {
    const bool hung = got.code() == StatusCode::kLimitExceeded;
    const std::string how = worker_->Stop();
    worker_.reset();
    return hung ? fmt::format(
                      "the {} stopped responding for {} s and was stopped: the file may be "
                      "damaged or hostile — send it again or unpacked",
                      doing, options_.worker.stall_seconds)
                : CrashReason(doing, how);
  }

  // A worker that crashed: most likely our bug, not the patient's file (issue 11: every
  // single-file .gz once crashed it). Nothing says the file is damaged, so the patient is
  // not told so; the crash goes to the operator's list in the report.
  std::string CrashReason(const std::string& doing, const std::string& how) {
    report_.worker_crashes.push_back(fmt::format("the {} {}", doing, how));
    return "Dossier could not read this file (its reader failed) — the manager has been told";
  }

  // Opens a PDF with Poppler in the worker: why it is refused, or "" when it opens. Fails
  // only if no worker can run.
  Result<std::string> CheckPdfInWorker(const File& source) {
    DOSSIER_ASSIGN_OR_RETURN(File copy, source.Reopen());
    DOSSIER_RETURN_IF_ERROR(Send(
        [&](UnpackWorker& w) { return w.SendCheckPdf(copy, options_.unpack.pdf_check_bytes); }));
    sandbox::Frame reply;
    const Status got =
        sandbox::ReadFrame(worker_->reply_fd(), options_.worker.stall_seconds * 1000, reply);
    if (!got.ok()) return WorkerLost(got, "PDF check");
    const auto parts = sandbox::SplitNul(reply.payload);
    if (reply.type != 'F') {
      worker_->Stop();
      worker_.reset();
      return std::string(
          "the PDF check misbehaved on this file: it may be hostile — send it "
          "again");
    }
    return parts.size() == 2 ? parts[1] : std::string();
  }

  // Sends a request, restarting the worker once if the previous one had gone away.
  Status Send(const std::function<Status(UnpackWorker&)>& send) {
    DOSSIER_RETURN_IF_ERROR(EnsureWorker());
    if (send(*worker_).ok()) return Status::Ok();
    worker_.reset();
    DOSSIER_RETURN_IF_ERROR(EnsureWorker());
    if (send(*worker_).ok()) return Status::Ok();
    worker_.reset();
    return Internal("the unpack worker cannot be started (" +
                    (options_.worker.program.empty() ? std::string("/proc/self/exe")
                                                     : options_.worker.program) +
                    ")");
  }

  // Streams an archive or disc image through a worker process — or, `whole`, one file sent
  // back as a single entry (DICOM, summarised by the worker). Then cross-checks the DICOMDIRs
  // found inside.
  Status IngestContainer(const Planned& p, const File& file, const Sniffed& sniffed,
                         bool whole = false) {
    const size_t first = report_.items.size();
    DOSSIER_RETURN_IF_ERROR(ReadFromWorker(p, file, sniffed, whole));
    if (!whole) CrossCheckDicomdirs(first);
    return Status::Ok();
  }

  // The parent trusts nothing the worker says: every path must lie inside this item and be
  // safe, the item's limits are counted here too, and any breach of the protocol ends the
  // item as if the worker crashed.
  Status ReadFromWorker(const Planned& p, const File& file, const Sniffed& sniffed, bool whole) {
    auto reject_item = [&](std::string reason) {
      Add(Line(p.display, sniffed.kind, p.size, "rejected", std::move(reason)));
    };
    DOSSIER_ASSIGN_OR_RETURN(File copy, file.Reopen());
    DOSSIER_RETURN_IF_ERROR(Send([&](UnpackWorker& w) {
      return whole ? w.SendWhole(copy, p.display) : w.SendUnpack(copy, p.display, options_.unpack);
    }));
    const std::string prefix = p.display + "/";
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(options_.worker.item_seconds);
    uint64_t entries = 0, bytes = 0, unlisted_refused = 0, unlisted_skipped = 0;
    size_t listed = 0;      // refused and skipped lines of this item, capped
    sandbox::Frame buffer;  // reused: data frames are up to 1 MiB each
    const sandbox::Frame* frame = &buffer;

    // Ends the item: the worker is replaced, the open entry (or the item) carries `reason`.
    auto lose_worker = [&](const std::string& reason) {
      if (entry_.open()) {
        Add(entry_.Abandon(reason));
        Add(Line(p.display, sniffed.kind, p.size, "rejected",
                 "the rest of this archive was not read (see the entry above): send it again or "
                 "unpacked"));
      } else {
        reject_item(reason);
      }
    };
    auto violation = [&](const std::string& what) {
      worker_->Stop();
      worker_.reset();
      lose_worker("the unpacker misbehaved on this file (" + what +
                  "): it may be hostile — send it again or unpacked");
      return Status::Ok();
    };
    auto inside = [&](const std::string& path) {
      if (whole) return path == p.display;
      if (path.rfind(prefix, 0) != 0) return false;
      auto safe = SafeEntryPath(path.substr(prefix.size()));
      return safe.ok() && prefix + *safe == path;
    };
    auto list = [&](ItemReport item, bool executable) {
      if (listed >= kMaxListedPerItem) {
        ++(item.status == "skipped" ? unlisted_skipped : unlisted_refused);
        return;
      }
      ++listed;
      AddEntryResult(std::move(item), executable);
    };
    auto summarize = [&] {
      if (unlisted_refused > 0) {
        Add(Line(
            p.display, sniffed.kind, 0, "rejected",
            fmt::format("and {} more entries refused, not listed one by one", unlisted_refused)));
      }
      if (unlisted_skipped > 0) {
        Add(Line(
            p.display, sniffed.kind, 0, "skipped",
            fmt::format("and {} more entries skipped, not listed one by one", unlisted_skipped)));
      }
    };

    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      const int wait_ms = static_cast<int>(
          std::max<int64_t>(0, std::min<int64_t>(left, options_.worker.stall_seconds * 1000)));
      const Status got = sandbox::ReadFrame(worker_->reply_fd(), wait_ms, buffer);
      if (!got.ok()) {
        // The worker crashed or hung on hostile bytes, or the item ran out of time: that entry
        // (or the item) is rejected, the worker replaced, the ingest goes on.
        const std::string reason =
            left <= 0 ? fmt::format("unpacking took longer than {} s: split the upload",
                                    options_.worker.item_seconds)
                      : WorkerLost(got, "unpacker");
        if (worker_) {
          worker_->Stop();
          worker_.reset();
        }
        lose_worker(reason);
        summarize();
        return Status::Ok();
      }
      // Only the small control frames carry "a\0b" fields; data frames are never copied.
      const auto parts =
          frame->type == 'D' ? std::vector<std::string>{} : sandbox::SplitNul(frame->payload);
      const bool counted = frame->type == 'B' || frame->type == 'R' || frame->type == 'S';
      if (counted && ++entries > options_.unpack.entries) {
        summarize();
        return violation("more entries than the limit");
      }
      switch (frame->type) {
        case 'B':
          if (entry_.open()) return violation("an entry began inside another");
          if (!inside(frame->payload)) return violation("an unsafe path");
          entry_.Begin(frame->payload, true);
          break;
        case 'D': {
          if (!entry_.open()) return violation("data outside an entry");
          bytes += frame->payload.size();
          if (bytes > options_.unpack.total_bytes) return violation("more bytes than the limit");
          const auto* d = reinterpret_cast<const uint8_t*>(frame->payload.data());
          DOSSIER_RETURN_IF_ERROR(entry_.Data({d, frame->payload.size()}));
          prog_.bytes_done += frame->payload.size();
          if (progress_) progress_(prog_);
          break;
        }
        case 'E': {
          if (!entry_.open()) return violation("an entry ended that never began");
          const std::string& end = frame->payload;
          vault::ContentDigest digest{};
          Status outcome = Status::Ok();
          if (!end.empty() && end[0] == '\0') {
            if (end.size() != 1 + digest.size()) return violation("a malformed entry end");
            std::memcpy(digest.data(), end.data() + 1, digest.size());
          } else if (end.empty()) {
            return violation("an entry end without its digest");
          } else {
            outcome = Rejected(end);
          }
          DOSSIER_ASSIGN_OR_RETURN(ItemReport item, entry_.End(outcome, &digest));
          DOSSIER_RETURN_IF_ERROR(NoteDicom(item));
          if (item.status == "rejected") {
            list(std::move(item), entry_.executable());
          } else {
            AddEntryResult(std::move(item), entry_.executable());
          }
          break;
        }
        case 'R':
        case 'S':
          if (parts.size() != 2 || parts[0].rfind(prefix, 0) != 0) {
            return violation("a malformed report");
          }
          list(Line(parts[0], "", 0, frame->type == 'R' ? "rejected" : "skipped", parts[1]),
               frame->type == 'S' && parts[1] == kViewerSoftware);
          break;
        case 'M':
          if (!entry_.open()) return violation("a DICOM summary outside an entry");
          if (!entry_.SetDicom(frame->payload).ok()) return violation("a malformed DICOM summary");
          break;
        case 'H':  // still working (buffering a large nested archive or PDF)
          break;
        case 'F':
          if (entry_.open()) Add(entry_.Abandon("the archive ended in the middle of this file"));
          summarize();
          if (parts.size() == 2) reject_item(parts[1]);
          return Status::Ok();
        default:
          return violation("an unknown message");
      }
    }
  }

  vault::Vault& vault_;
  const std::string& case_id_;
  const IngestOptions& options_;
  IngestReport& report_;
  const IngestProgressFn& progress_;
  IngestProgress prog_;
  EntryStore entry_;
  std::optional<UnpackWorker> worker_;
  std::vector<ItemReport> executables_;
  bool saw_imaging_ = false;
  size_t current_root_ = 0;
  std::vector<std::pair<size_t, uint64_t>> batch_of_;  // report index → batch it joined
  std::vector<internal::OcrJob> ocr_jobs_;             // stored documents awaiting the check
  std::optional<vault::PatientInfo> patient_;          // the case's patient, once read
  uint64_t ocr_pending_ = 0;                           // their bytes
  // DICOM: the series filed in this upload (index into report_.series), what each one's
  // instances had to say, and the DICOMDIRs awaiting their cross-check.
  struct DicomdirListing {
    size_t item = 0;                 // the DICOMDIR's report line
    std::vector<std::string> files;  // its referenced file IDs
    bool checked = false;
  };
  std::map<std::string, size_t> series_index_;
  std::map<std::string, dicom::SeriesTally> tallies_;
  std::vector<DicomdirListing> dicomdirs_;
  size_t group_start_ = 0;  // first report line of the current folder or item
};

}  // namespace

Status IngestPaths(vault::Vault& vault, const std::string& case_id,
                   const std::vector<fs::path>& paths, const IngestOptions& options,
                   IngestReport& report, const IngestProgressFn& progress) {
  DOSSIER_RETURN_IF_ERROR(vault.GetCase(case_id).status());
  // One group commit for the whole upload (committing itself every few hundred files): a
  // disc's 2,000 images cost a handful of filesystem syncs, not 6,000 fsyncs.
  const bool own_batch = !vault.in_batch();
  if (own_batch) DOSSIER_RETURN_IF_ERROR(vault.BeginBatch());
  Ingester ingester(vault, case_id, options, report, progress);
  const Status st = ingester.Run(paths);
  // What was stored before a failure is committed too: the report already lists it.
  const Status committed = own_batch ? vault.CommitBatch() : Status::Ok();
  if (st.ok() && committed.ok() && !vault.in_batch()) {
    // Best effort: everything is stored already; a series without a preview shows none.
    (void)ingester.MakePreviews();
  }
  if (!st.ok() || !committed.ok()) ingester.UnclaimUncommitted(st.ok() ? committed : st);
  if (!st.ok()) return st;
  if (!committed.ok()) {
    return committed.WithContext(
        "the last files of this upload could not be made durable "
        "(the report says which): ingest them again");
  }
  return Status::Ok();
}

}  // namespace dossier::ingest
