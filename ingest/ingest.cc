#include "ingest/ingest.h"

#include <algorithm>
#include <functional>
#include <vector>

#include "common/file_io.h"
#include "ingest/internal/case_patient.h"
#include "ingest/internal/dicom_collection.h"
#include "ingest/internal/entry_store.h"
#include "ingest/internal/item.h"
#include "ingest/internal/item_input.h"
#include "ingest/internal/ocr_queue.h"
#include "ingest/internal/progress.h"
#include "ingest/internal/unpack_reader.h"
#include "ingest/internal/walk.h"
#include "ingest/internal/worker_slot.h"
#include "ingest/sniff.h"

namespace dossier::ingest {
namespace fs = std::filesystem;

size_t IngestReport::Count(std::string_view status) const {
  return static_cast<size_t>(std::count_if(
      items.begin(), items.end(), [&](const ItemReport& i) { return i.status == status; }));
}

namespace {

using internal::Item;
using internal::ItemInput;
using internal::ItemStatus;
using internal::Line;
using internal::PlannedItem;

// One upload, told as the story of its items: each planned file is refused, skipped, stored
// whole (EntryStore), or sent to the worker (UnpackReader) when it is an archive, a disc
// image or DICOM; every stored line may join the OCR queue and the DICOM collection. The
// lines of one folder or item form a group: executables in a group with imaging are its
// viewer software, skipped together.
class Ingester final : public internal::ItemSink {
 public:
  Ingester(vault::Vault& vault, const std::string& case_id, const IngestOptions& options,
           IngestReport& report, const IngestProgressFn& progress)
      : vault_(vault),
        options_(options),
        progress_(progress),
        patient_(vault, case_id),
        worker_(options.worker, report),
        store_(vault, case_id, options),
        reader_(worker_, store_, options, progress_, *this),
        dicom_(vault, case_id, patient_, worker_, log_, *this, report),
        ocr_(vault, options, log_, patient_, progress_) {}

  // Plans the upload with `plan_upload`, then ingests every planned item.
  Status Run(const std::function<Status(std::vector<PlannedItem>&)>& plan_upload) {
    std::vector<PlannedItem> plan;
    DOSSIER_RETURN_IF_ERROR(plan_upload(plan));
    uint64_t bytes = 0;
    for (const auto& p : plan) bytes += p.size;
    progress_.Plan(plan.size(), bytes);
    for (const PlannedItem& p : plan) {
      progress_.Current(p.display);
      DOSSIER_RETURN_IF_ERROR(IngestOne(p).WithContext(p.display));
      progress_.ItemDone();
      if (ocr_.full()) DOSSIER_RETURN_IF_ERROR(ocr_.Run());
    }
    FinishGroup();
    dicom_.Finish();
    DOSSIER_RETURN_IF_ERROR(ocr_.Run());
    return KeepWarnings();
  }

  // Best effort, after the batch commit: a series without a preview shows none.
  Status MakePreviews() { return dicom_.MakePreviews(); }
  // After a failed group commit: what the report called stored in a batch that never
  // committed is not in the vault — say so.
  void UnclaimUncommitted(const Status& why) { log_.Unclaim(vault_.committed_batches(), why); }
  // The lines, as the public report's text.
  void WriteReport(IngestReport& report) { log_.WriteTo(report); }

  // internal::ItemSink
  void Add(Item item) override {
    if (item.kind == "dicom" || item.kind == "dicomdir") saw_imaging_ = true;
    const bool stored = item.status == ItemStatus::kStored;
    const size_t line = log_.Add(std::move(item), store_.joined_batch());
    if (stored) {
      if (auto bytes = store_.TakeOcrBytes(log_[line].doc_id)) ocr_.Queue(line, std::move(*bytes));
    }
  }
  void AddEntry(Item item, bool executable) override {
    if (executable) {
      executables_.push_back(std::move(item));
    } else {
      Add(std::move(item));
    }
  }
  Status Ended(Item& item) override { return dicom_.Note(item, store_.TakeDicom()); }

 private:
  Status IngestOne(const PlannedItem& p) {
    // Viewer software is judged per argument: imaging in one folder says nothing of another.
    if (!p.in_folder || p.root != current_root_) {
      FinishGroup();
      group_start_ = log_.size();
    }
    current_root_ = p.root;
    auto reject = [&](std::string reason) {
      Add(Line(p.display, "", p.size, ItemStatus::kRejected, std::move(reason)));
      return Status::Ok();
    };
    if (!p.refuse.empty()) return reject(p.refuse);
    if (p.in_folder) {
      if (const std::string group = SkipGroupForName(p.display); !group.empty()) {
        AddEntry(Line(p.display, "", p.size, ItemStatus::kSkipped, group),
                 group == kViewerSoftware);
        return Status::Ok();
      }
    }
    auto opened = internal::OpenItem(p);
    if (!opened.ok()) return reject(opened.status().message());
    ItemInput& input = **opened;
    std::vector<uint8_t> buf(1 << 20);
    auto head_n = input.ReadFull({buf.data(), kSniffBytes});
    if (!head_n.ok()) return reject(head_n.status().message());
    const Sniffed sniffed = Sniff({buf.data(), *head_n}, p.size);
    if (sniffed.kind == "pdf") {
      DOSSIER_ASSIGN_OR_RETURN(std::string refusal,
                               worker_.CheckPdf(input, options_.unpack.pdf_check_bytes));
      if (!refusal.empty()) {
        Add(Line(p.display, "pdf", p.size, ItemStatus::kRejected, std::move(refusal)));
        return Status::Ok();
      }
    }
    if (!sniffed.container.empty()) {
      // Unpacked by a worker; then the DICOMDIRs found inside are cross-checked.
      const size_t first = log_.size();
      const Status st = reader_.Read(p, input, sniffed.kind, /*whole=*/false);
      if (st.ok()) dicom_.CrossCheck(first);
      if (!p.in_folder) FinishGroup();
      return st;
    }
    // DICOM is parsed only by a worker: it reads the file and sends it back, summarised.
    if (sniffed.kind == "dicom" || sniffed.kind == "dicomdir") {
      return reader_.Read(p, input, sniffed.kind, /*whole=*/true);
    }
    return StoreWhole(p, input, buf, *head_n);
  }

  // A plain file, streamed into the store from the head already read into `buf`.
  Status StoreWhole(const PlannedItem& p, ItemInput& input, std::vector<uint8_t>& buf,
                    size_t head_n) {
    store_.Begin(p.display, false);
    for (size_t n = head_n; n > 0;) {
      DOSSIER_RETURN_IF_ERROR(store_.Data({buf.data(), n}));
      progress_.Bytes(n);
      auto next = input.Read(buf);
      if (!next.ok()) {
        Add(store_.Abandon(next.status().message()));
        return Status::Ok();
      }
      n = *next;
    }
    DOSSIER_ASSIGN_OR_RETURN(Item item, store_.End(Status::Ok()));
    DOSSIER_RETURN_IF_ERROR(Ended(item));
    // A lone executable is refused outright; inside a folder it may be disc viewer software.
    if (p.in_folder) {
      AddEntry(std::move(item), store_.executable());
    } else {
      Add(std::move(item));
    }
    return Status::Ok();
  }

  // What the report says about each stored document stays with it, for `docs` to show.
  Status KeepWarnings() {
    for (size_t i = 0; i < log_.size(); ++i) {
      const Item& item = log_[i];
      if (item.status != ItemStatus::kStored || item.advice.empty()) continue;
      DOSSIER_RETURN_IF_ERROR(vault_.AddWarnings(item.doc_id, item.advice));
    }
    return Status::Ok();
  }

  // Executables (by content or by name) inside a disc folder or image are its viewer
  // software, skipped as a group; in an upload without imaging they are refused.
  void FinishGroup() {
    dicom_.CrossCheck(group_start_);
    for (Item& exe : executables_) {
      exe.status = saw_imaging_ ? ItemStatus::kSkipped : ItemStatus::kRejected;
      exe.reason = saw_imaging_ ? kViewerSoftware : kExecutableReason;
      log_.AddRefused(std::move(exe));
    }
    executables_.clear();
    saw_imaging_ = false;
  }

  vault::Vault& vault_;
  const IngestOptions& options_;
  internal::Progress progress_;
  internal::ItemLog log_;
  internal::CasePatient patient_;
  internal::WorkerSlot worker_;
  internal::EntryStore store_;
  internal::UnpackReader reader_;
  internal::DicomCollection dicom_;
  internal::OcrQueue ocr_;
  // The current group (see the class comment).
  std::vector<Item> executables_;
  bool saw_imaging_ = false;
  size_t current_root_ = 0;
  size_t group_start_ = 0;  // its first line
};

// The upload planned by `plan`, ingested: one group commit, the report written whatever
// happens (IngestPaths and IngestUploads differ only in how they plan). With `give_up` set,
// all or nothing (IngestArriving): `*kept` false when nothing was.
Status IngestPlanned(vault::Vault& vault, const std::string& case_id, const IngestOptions& options,
                     IngestReport& report, const IngestProgressFn& progress,
                     const std::function<Status(std::vector<PlannedItem>&)>& plan,
                     const std::function<bool()>& give_up = nullptr, bool* kept = nullptr) {
  DOSSIER_RETURN_IF_ERROR(vault.CheckCaseOpen(case_id));
  IngestOptions resolved = options;
  if (!options.reply_to.empty()) {
    DOSSIER_ASSIGN_OR_RETURN(resolved.reply_to, vault.ReplyTarget(options.reply_to, case_id));
  }
  // One group commit for the whole upload (committing itself every few hundred files): a
  // disc's 2,000 images cost a handful of filesystem syncs, not 6,000 fsyncs.
  const bool whole = static_cast<bool>(give_up);
  const bool own_batch = !vault.in_batch();
  if (whole && !own_batch) return Internal("an upload still arriving is ingested in no batch");
  if (own_batch) {
    DOSSIER_RETURN_IF_ERROR(vault.BeginBatch(whole ? vault::Vault::BatchMode::kWhole
                                                   : vault::Vault::BatchMode::kCommitAsItGoes));
  }
  Ingester ingester(vault, case_id, resolved, report, progress);
  const Status st = ingester.Run(plan);
  if (whole && (!st.ok() || give_up() || vault.batch_gave_way())) {
    vault.AbandonBatch();
    *kept = false;
    return Status::Ok();
  }
  // What was stored before a failure is committed too: the report already lists it.
  const Status committed = own_batch ? vault.CommitBatch() : Status::Ok();
  if (whole && !committed.ok()) {
    *kept = false;  // rolled back: the files are ingested again, and a failure said then
    return Status::Ok();
  }
  if (kept != nullptr) *kept = true;
  if (st.ok() && committed.ok() && !vault.in_batch()) {
    // Best effort: everything is stored already; a series without a preview shows none.
    (void)ingester.MakePreviews();
  }
  if (!st.ok() || !committed.ok()) ingester.UnclaimUncommitted(st.ok() ? committed : st);
  ingester.WriteReport(report);
  if (!st.ok()) return st;
  if (!committed.ok()) {
    return committed.WithContext(
        "the last files of this upload could not be made durable "
        "(the report says which): ingest them again");
  }
  return Status::Ok();
}

}  // namespace

Status IngestPaths(vault::Vault& vault, const std::string& case_id,
                   const std::vector<fs::path>& paths, const IngestOptions& options,
                   IngestReport& report, const IngestProgressFn& progress) {
  return IngestPlanned(
      vault, case_id, options, report, progress,
      [&](std::vector<PlannedItem>& plan) { return internal::PlanPaths(paths, options, plan); });
}

Status IngestUploads(vault::Vault& vault, const std::string& case_id,
                     const std::vector<UploadFile>& files, const IngestOptions& options,
                     IngestReport& report, const IngestProgressFn& progress) {
  return IngestPlanned(
      vault, case_id, options, report, progress,
      [&](std::vector<PlannedItem>& plan) { return internal::PlanUploads(files, options, plan); });
}

Status IngestArriving(vault::Vault& vault, const std::string& case_id,
                      const std::vector<UploadFile>& files, const IngestOptions& options,
                      IngestReport& report, const std::function<bool()>& give_up, bool& kept,
                      const IngestProgressFn& progress) {
  kept = false;
  IngestReport whole;
  DOSSIER_RETURN_IF_ERROR(IngestPlanned(
      vault, case_id, options, whole, progress,
      [&](std::vector<PlannedItem>& plan) { return internal::PlanUploads(files, options, plan); },
      give_up, &kept));
  if (kept) report = std::move(whole);
  return Status::Ok();
}

}  // namespace dossier::ingest
