// One line of the ingest report while the upload runs, with its status and verdict as types;
// ItemLog holds the lines and turns them into the public IngestReport's text in one place
// (WriteTo). Private to ingest/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "ingest/ingest.h"
#include "ocr/ocr.h"

namespace dossier::ingest::internal {

// What became of an item (ItemReport::status, as text: StatusName).
enum class ItemStatus {
  kStored,     // in the vault, durable once its batch commits
  kDuplicate,  // its content is in the case already (doc_id says where)
  kSkipped,    // left out by design (viewer software, system clutter)
  kRejected,   // refused, with a reason
  kMissing,    // listed in a disc's DICOMDIR but not in the upload (the last: StatusName)
};

// "stored", "duplicate", "skipped", "rejected", "missing": the only place they are spelled.
const char* StatusName(ItemStatus status);

// Stored or a duplicate: the item's content is in the vault.
inline bool InVault(ItemStatus s) {
  return s == ItemStatus::kStored || s == ItemStatus::kDuplicate;
}

// Refused or skipped entries of one item listed one by one; the rest are counted in one line.
inline constexpr size_t kMaxListedPerItem = 1000;

// The fields of ItemReport (ingest.h), with types where the set is closed.
struct Item {
  std::string path;
  std::string kind;
  uint64_t size = 0;
  ItemStatus status = ItemStatus::kRejected;
  std::string reason;
  std::string doc_id;
  std::optional<ocr::Verdict> verdict;  // the OCR check's, when it ran
  int pages = 0;
  // What the patient or manager should know, each said once, in the order found (joined
  // with "; " in the report); a stored document keeps them (Vault::AddWarnings).
  std::vector<std::string> advice;
  std::string series;
  std::string rendition;               // "jpeg": a HEIC photo's JPEG copy is kept beside it
  std::vector<PageCheck> page_checks;  // as the OCR check came to know each page
};

// Adds `advice` to the item's, unless it is empty or said already.
void AddAdvice(Item& item, std::string advice);

// A report line without an OCR check (yet).
Item Line(std::string path, std::string kind, uint64_t size, ItemStatus status, std::string reason);

// The report's lines in order, and which group commit each stored line joined.
class ItemLog {
 public:
  size_t size() const { return items_.size(); }
  Item& operator[](size_t i) { return items_[i]; }
  const Item& operator[](size_t i) const { return items_[i]; }

  // Appends `item`; a line in the vault remembers `batch` (Vault::committed_batches() when
  // it was stored). Returns its index.
  size_t Add(Item item, uint64_t batch);
  // Appends a line that is not in the vault (rejected or skipped).
  void AddRefused(Item item) { items_.push_back(std::move(item)); }

  // After a failed group commit: lines stored in a batch at or after `committed` (and the
  // duplicates of those) are not in the vault — they become rejected, saying `why`.
  void Unclaim(uint64_t committed, const Status& why);

  // Appends every line, as text, to `report.items`, and empties the log.
  void WriteTo(IngestReport& report);

 private:
  std::vector<Item> items_;
  std::vector<std::pair<size_t, uint64_t>> batch_of_;  // line → batch it joined
};

}  // namespace dossier::ingest::internal
