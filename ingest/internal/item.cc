#include "ingest/internal/item.h"

#include <algorithm>
#include <iterator>
#include <set>

namespace dossier::ingest::internal {

// In the order of ItemStatus.
constexpr const char* kStatusNames[] = {"stored", "duplicate", "skipped", "rejected", "missing"};
static_assert(std::size(kStatusNames) == static_cast<size_t>(ItemStatus::kMissing) + 1);

const char* StatusName(ItemStatus status) { return kStatusNames[static_cast<size_t>(status)]; }

Item Line(std::string path, std::string kind, uint64_t size, ItemStatus status,
          std::string reason) {
  Item r;
  r.path = std::move(path);
  r.kind = std::move(kind);
  r.size = size;
  r.status = status;
  r.reason = std::move(reason);
  return r;
}

void AddAdvice(Item& item, std::string advice) {
  if (advice.empty()) return;
  for (const std::string& a : item.advice) {
    if (a == advice) return;
  }
  item.advice.push_back(std::move(advice));
}

size_t ItemLog::Add(Item item, uint64_t batch) {
  const size_t index = items_.size();
  if (InVault(item.status)) batch_of_.emplace_back(index, batch);
  items_.push_back(std::move(item));
  return index;
}

void ItemLog::Unclaim(uint64_t committed, const Status& why) {
  std::set<std::string> lost;
  for (const auto& [index, batch] : batch_of_) {
    Item& item = items_[index];
    if (batch < committed) continue;
    if (item.status == ItemStatus::kStored) lost.insert(item.doc_id);
    if (item.status == ItemStatus::kStored || lost.count(item.doc_id) != 0) {
      item.status = ItemStatus::kRejected;
      item.reason = "not stored: the vault could not make it durable (" + why.message() +
                    ") — ingest it again";
      item.doc_id.clear();
    }
  }
}

void ItemLog::WriteTo(IngestReport& report) {
  report.items.reserve(report.items.size() + items_.size());
  for (Item& i : items_) {
    ItemReport r;
    r.path = std::move(i.path);
    r.kind = std::move(i.kind);
    r.size = i.size;
    r.status = StatusName(i.status);
    r.reason = std::move(i.reason);
    r.doc_id = std::move(i.doc_id);
    if (i.verdict) r.verdict = ocr::VerdictName(*i.verdict);
    r.pages = i.pages;
    for (const std::string& a : i.advice) r.advice += (r.advice.empty() ? "" : "; ") + a;
    r.series = std::move(i.series);
    r.rendition = std::move(i.rendition);
    std::sort(i.page_checks.begin(), i.page_checks.end(),
              [](const PageCheck& a, const PageCheck& b) { return a.page < b.page; });
    r.page_checks = std::move(i.page_checks);
    report.items.push_back(std::move(r));
  }
  items_.clear();
  batch_of_.clear();
}

}  // namespace dossier::ingest::internal
