#include "ingest/internal/ocr_queue.h"

#include <algorithm>
#include <string>
#include <thread>
#include <utility>

#include "common/text.h"
#include "ingest/categorize.h"

namespace dossier::ingest::internal {

void OcrQueue::Queue(size_t line, std::vector<uint8_t> bytes) {
  Item& item = log_[line];
  if (pending_ + bytes.size() > options_.ocr_pending_bytes) {
    AddAdvice(item,
              "not checked: this upload holds too many documents to check at once — "
              "send them in smaller parts");
    return;
  }
  auto memfd = SealedMemoryFile(bytes);
  if (!memfd.ok()) {
    AddAdvice(item, "not checked: " + memfd.status().message());
    return;
  }
  pending_ += bytes.size();
  jobs_.push_back({item.doc_id, item.kind, std::move(memfd).value(), line});
}

Status OcrQueue::Run() {
  if (jobs_.empty()) return Status::Ok();
  const int workers = options_.ocr_workers > 0
                          ? options_.ocr_workers
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const Status st = RunOcr(
      jobs_, options_.worker, workers, [&](OcrResult&& r) { return Record(std::move(r)); },
      [&](int done, int total) { progress_.Pages(done, total); },
      [&](size_t job, int page, ocr::Verdict v, bool whole, double seconds) {
        PageKnown(log_[jobs_[job].item], page, ocr::VerdictName(v), whole, seconds);
      });
  jobs_.clear();
  pending_ = 0;
  progress_.PagesDone();
  return st;
}

void OcrQueue::PageKnown(Item& item, int page, const std::string& verdict, bool whole,
                         double analysis_seconds) {
  auto it = std::find_if(item.page_checks.begin(), item.page_checks.end(),
                         [page](const PageCheck& c) { return c.page == page; });
  if (it == item.page_checks.end()) {
    item.page_checks.push_back({.page = page});
    it = item.page_checks.end() - 1;
  }
  PageCheck& c = *it;
  const double now = progress_.Seconds();
  if (!whole) {
    c.verdict = verdict;
    c.from_sample = true;
    c.verdict_seconds = now;
    c.analysis_seconds = analysis_seconds;
    progress_.Verdict(verdict);
    return;
  }
  if (c.verdict.empty() || c.verdict != verdict) {
    // First known now, or the sample said otherwise: the page read whole decides.
    const std::string before = std::exchange(c.verdict, verdict);
    c.from_sample = false;
    c.verdict_seconds = now;
    c.analysis_seconds = analysis_seconds;
    progress_.Verdict(verdict, before);
  }
  c.text_seconds = now;
}

Status OcrQueue::Record(OcrResult&& r) {
  const OcrJob& job = jobs_[r.job];
  Item& item = log_[job.item];
  if (!r.error.empty()) {
    AddAdvice(item, "not checked: " + r.error);
    return Status::Ok();
  }
  // Pages the analysis could not finish (a crash, a timeout) are known only now.
  for (const auto& p : r.pages) {
    if (std::none_of(item.page_checks.begin(), item.page_checks.end(), [&p](const PageCheck& c) {
          return c.page == p.number && c.text_seconds > 0;
        })) {
      PageKnown(item, p.number, p.verdict, /*whole=*/true, 0);
    }
  }
  DOSSIER_RETURN_IF_ERROR(
      vault_.SetAnalysis(job.doc_id, ocr::VerdictName(r.verdict), r.page_count, r.pages));
  // Only a page read well is evidence enough (an unreadable page's text is guesswork).
  const bool readable = r.verdict == ocr::Verdict::kPrinted || r.verdict == ocr::Verdict::kMixed;
  if (readable && !r.pages.empty()) {
    if (auto c = InferCategory(r.pages.front().text)) {
      DOSSIER_RETURN_IF_ERROR(vault_.InferCategory(job.doc_id, c->category, c->reason));
    }
  }
  item.verdict = r.verdict;
  item.pages = r.page_count;
  AddAdvice(item, r.advice);
  if (!r.jpeg_copy.empty()) {
    DOSSIER_RETURN_IF_ERROR(vault_.StoreRendition(job.doc_id, "jpeg", r.jpeg_copy));
    item.rendition = "jpeg";
  } else if (job.kind == "heic" && r.verdict != ocr::Verdict::kUnreadable) {
    // (An unreadable photo's advice says already to send it again.)
    AddAdvice(item, "no JPEG copy could be made (" + r.jpeg_copy_error +
                        "): an export sends the HEIC photo as it is");
  }
  DOSSIER_ASSIGN_OR_RETURN(bool theirs, LooksLikeThePatients(r));
  if (!theirs) {
    // The facts to decide by, for the operator's eyes only: kept sealed with the document.
    DOSSIER_ASSIGN_OR_RETURN(const vault::PatientInfo* patient, patient_.Get());
    AddAdvice(item,
              "it does not mention the patient's surname in any spelling — check that "
              "this document is theirs (the case's patient: " +
                  PersonFacts(patient->name, patient->birth_date) + ")");
  }
  return Status::Ok();
}

Result<bool> OcrQueue::LooksLikeThePatients(const OcrResult& r) {
  if (r.verdict != ocr::Verdict::kPrinted && r.verdict != ocr::Verdict::kMixed) return true;
  std::string text;
  for (const auto& p : r.pages) text += p.text + "\n";
  if (NameKey(text).size() < 200) return true;  // too little text to expect a name in it
  DOSSIER_ASSIGN_OR_RETURN(const vault::PatientInfo* patient, patient_.Get());
  const std::string name = NameKey(patient->name);
  if (name.empty()) return true;
  const std::string first = name.substr(0, name.find(' '));
  const std::string last = name.substr(name.rfind(' ') + 1);
  return MentionsName(text, first) || MentionsName(text, last);
}

}  // namespace dossier::ingest::internal
