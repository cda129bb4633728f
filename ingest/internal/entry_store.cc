#include "ingest/internal/entry_store.h"

#include <fmt/format.h>

#include "ingest/categorize.h"
#include "ingest/sniff.h"

namespace dossier::ingest::internal {
namespace {

std::string FormatBytes(uint64_t n) {
  if (n >= (uint64_t{1} << 30) && n % (uint64_t{1} << 30) == 0)
    return fmt::format("{} GiB", n >> 30);
  if (n >= (uint64_t{1} << 20) && n % (uint64_t{1} << 20) == 0)
    return fmt::format("{} MiB", n >> 20);
  return fmt::format("{} bytes", n);
}

}  // namespace

void EntryStore::Begin(const std::string& path, bool digested) {
  item_ = Line(path, "", 0, ItemStatus::kRejected, "");
  refused_ = false;
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

Status EntryStore::Data(std::span<const uint8_t> data) {
  item_.size += data.size();
  if (refused_) return Status::Ok();  // drain
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

Result<Item> EntryStore::End(const Status& outcome, const vault::ContentDigest* digest) {
  open_ = false;
  // A read that failed explains the entry better than whatever part of it arrived.
  if (!outcome.ok() && !refused_) {
    if (!decided_ && !head_.empty()) item_.kind = Sniff(head_, item_.size).kind;
    Reject(outcome.message());
  }
  if (!decided_ && !refused_) DOSSIER_RETURN_IF_ERROR(Decide(false));
  if (refused_) {
    writer_.reset();  // discards the uncommitted object
    return item_;
  }
  joined_batch_ = vault_.committed_batches();  // before Commit, which may flush the batch
  if (digested_ && digest == nullptr) return Internal("entry ended without its digest");
  DOSSIER_ASSIGN_OR_RETURN(vault::StoreOutcome stored,
                           digested_ ? writer_->CommitWithDigest(*digest) : writer_->Commit());
  writer_.reset();
  item_.doc_id = stored.doc_id;
  item_.status = stored.duplicate ? ItemStatus::kDuplicate : ItemStatus::kStored;
  if (!stored.duplicate && ocr_bytes_) ocr_doc_ = stored.doc_id;
  if (stored.duplicate) item_.reason = "same content as " + stored.doc_id + ", stored once";
  if (!stored.duplicate) AddAdvice(item_, NameKindNote(item_.path, item_.kind));
  return item_;
}

Item EntryStore::Abandon(const std::string& reason) {
  open_ = false;
  writer_.reset();
  if (!refused_) Reject(reason);
  return item_;
}

Status EntryStore::SetDicom(std::string_view json) {
  if (dicom_) return Corrupt("two DICOM summaries for one entry");
  DOSSIER_ASSIGN_OR_RETURN(dicom::InstanceSummary summary, dicom::FromJson(json));
  dicom_ = std::move(summary);
  return Status::Ok();
}

std::optional<std::vector<uint8_t>> EntryStore::TakeOcrBytes(const std::string& doc_id) {
  if (doc_id.empty() || doc_id != ocr_doc_ || !ocr_bytes_) return std::nullopt;
  ocr_doc_.clear();
  return std::exchange(ocr_bytes_, std::nullopt);
}

void EntryStore::Reject(std::string reason) {
  refused_ = true;
  item_.status = ItemStatus::kRejected;
  item_.reason = std::move(reason);
  writer_.reset();
}

Status EntryStore::Decide(bool more) {
  decided_ = true;
  const Sniffed s = Sniff(head_, head_.size() + (more ? 1 : 0));
  item_.kind = s.kind;
  if (!s.container.empty()) {
    Reject(
        fmt::format("archive nested more than {} levels deep: unpack it and send the files inside",
                    options_.unpack.depth));
    return Status::Ok();
  }
  if (!s.accepted()) {
    executable_ = s.reason == kExecutableReason;
    Reject(s.reason);
    return Status::Ok();
  }
  // A clinic's reply (options_.reply_to) is filed as one, whatever its kind.
  DOSSIER_ASSIGN_OR_RETURN(
      writer_, vault_.BeginDocument(
                   s.kind == "dicom"
                       ? vault::NewDocument{case_id_, item_.path, s.kind,
                                            std::string(ToString(DicomCategory().category)),
                                            digested_, DicomCategory().reason, options_.reply_to}
                       : vault::NewDocument{case_id_, item_.path, s.kind, "other", digested_, "",
                                            options_.reply_to}));
  if (options_.ocr && (s.kind == "pdf" || s.kind == "jpeg" || s.kind == "png" || s.kind == "tiff" ||
                       s.kind == "heic" || s.kind == "text")) {
    ocr_bytes_.emplace();
    KeepForOcr(head_);
  }
  const Status st = writer_->Write(head_);
  head_.clear();
  head_.shrink_to_fit();
  return st;
}

void EntryStore::KeepForOcr(std::span<const uint8_t> data) {
  if (!ocr_bytes_) return;
  const uint64_t limit =
      item_.kind == "text" ? options_.text_max_bytes : options_.ocr_max_document_bytes;
  if (ocr_bytes_->size() + data.size() > limit) {
    ocr_bytes_.reset();  // too large to check: stored all the same
    return;
  }
  ocr_bytes_->insert(ocr_bytes_->end(), data.begin(), data.end());
}

}  // namespace dossier::ingest::internal
