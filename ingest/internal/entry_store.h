// The store of one stream of bytes — a file, or an entry an unpack worker sends — into the
// vault: buffers the head, sniffs it, then streams the rest into a vault::DocumentWriter and
// commits it (into the upload's group-commit batch; a duplicate is stored once). A refused
// entry is drained and explained. Keeps the plaintext of a document the OCR check will read
// (in memory only) and the worker's DICOM summary of the entry. Private to ingest/.
//
//   EntryStore store(vault, case_id, options);
//   store.Begin("disc.iso/DICOM/IM0001", /*digested=*/true);
//   DOSSIER_RETURN_IF_ERROR(store.Data(bytes));           // as they arrive
//   DOSSIER_ASSIGN_OR_RETURN(Item line, store.End(Status::Ok(), &digest));
//
// One entry at a time; not thread-safe. Holds references to its arguments.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "dicom/dicom.h"
#include "ingest/ingest.h"
#include "ingest/internal/item.h"
#include "vault/vault.h"

namespace dossier::ingest::internal {

class EntryStore {
 public:
  EntryStore(vault::Vault& vault, const std::string& case_id, const IngestOptions& options)
      : vault_(vault), case_id_(case_id), options_(options) {}

  // `digested`: the entry's digest comes with its end (from an unpack worker), so the vault
  // need not hash it.
  void Begin(const std::string& path, bool digested);
  bool open() const { return open_; }
  const std::string& path() const { return item_.path; }

  // Errors returned are the vault's (fatal); problems of the entry become its report.
  Status Data(std::span<const uint8_t> data);
  // Ends the entry: `outcome` is how reading it went. Returns the report line.
  Result<Item> End(const Status& outcome, const vault::ContentDigest* digest = nullptr);
  // Drops an open entry (its reader failed): the report line carries `reason`.
  Item Abandon(const std::string& reason);

  // The worker's DICOM summary of the open entry ('M'). kCorrupt when it is not a valid one
  // or comes twice.
  Status SetDicom(std::string_view json);
  // The DICOM summary of the entry that just ended, if the worker sent one.
  std::optional<dicom::InstanceSummary> TakeDicom() { return std::exchange(dicom_, std::nullopt); }

  // The entry just ended was refused as an executable (maybe disc viewer software).
  bool executable() const { return executable_; }
  // The bytes of the document just stored as `doc_id`, kept for the OCR check (once).
  std::optional<std::vector<uint8_t>> TakeOcrBytes(const std::string& doc_id);
  // The group-commit batch the last stored entry joined (Vault::committed_batches() then).
  uint64_t joined_batch() const { return joined_batch_; }

 private:
  void Reject(std::string reason);
  Status Decide(bool more);
  void KeepForOcr(std::span<const uint8_t> data);

  vault::Vault& vault_;
  const std::string& case_id_;
  const IngestOptions& options_;
  Item item_;
  bool refused_ = false;                           // item_ is rejected: drain the rest
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

}  // namespace dossier::ingest::internal
