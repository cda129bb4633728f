// The page verdict from its evidence, and the advice a patient reads. Thresholds were set on
// the labelled evaluation set (samples/ocr-set, doc/OCR.md), not guessed.
#include <fmt/format.h>

#include <algorithm>

#include "ocr/internal/thresholds.h"
#include "ocr/ocr.h"

namespace dossier::ocr {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPrinted:
      return "printed";
    case Verdict::kMixed:
      return "mixed";
    case Verdict::kHandwritten:
      return "handwritten";
    case Verdict::kUnreadable:
      return "unreadable";
    case Verdict::kBlank:
      return "blank";
  }
  return "?";
}

bool ParseVerdict(std::string_view name, Verdict* v) {
  for (Verdict x : {Verdict::kPrinted, Verdict::kMixed, Verdict::kHandwritten, Verdict::kUnreadable,
                    Verdict::kBlank}) {
    if (name == VerdictName(x)) {
      *v = x;
      return true;
    }
  }
  return false;
}

int Severity(Verdict v) {
  switch (v) {
    case Verdict::kBlank:
      return 0;
    case Verdict::kPrinted:
      return 1;
    case Verdict::kMixed:
      return 2;
    case Verdict::kUnreadable:
      return 3;
    case Verdict::kHandwritten:
      return 4;
  }
  return 0;
}

Verdict WorstVerdict(const std::vector<PageResult>& pages) {
  Verdict worst = Verdict::kBlank;
  for (const auto& p : pages) {
    if (Severity(p.verdict) > Severity(worst)) worst = p.verdict;
  }
  return worst;
}

DocumentAnalysis FromVerdicts(int page_count,
                              const std::vector<std::pair<int, std::string>>& pages) {
  DocumentAnalysis d;
  d.page_count = page_count;
  for (const auto& [number, name] : pages) {
    PageResult r;
    r.number = number;
    if (!ParseVerdict(name, &r.verdict)) r.verdict = Verdict::kUnreadable;
    d.pages.push_back(std::move(r));
  }
  d.verdict = WorstVerdict(d.pages);
  return d;
}

Classified Classify(const PageEvidence& e) {
  const double wordlike_words = e.words * e.wordlike_share;
  const bool reads_well = wordlike_words >= kFewWords && e.mean_confidence >= kPrintConfidence;
  if (e.set_aside > kMostlyPicture && !reads_well) {
    // Pictures, darkness or noise over most of the page, and no text read beside them:
    // nothing a clinic could read (a failed scan, a photo of the wrong thing, a sheet far
    // away).
    return {Verdict::kUnreadable, 0.6};
  }
  if (e.ink_coverage < kBlankInk) {
    // Little ink: a line or two of print (a cover sheet, "page 2 of 2") still reads well.
    if (e.words >= 1 && e.mean_confidence >= kPrintConfidence && e.wordlike_share >= 0.5) {
      return {Verdict::kPrinted, 0.8};
    }
    // Nothing crisp. Grey haze where text would be is a page too blurred to read; the rest
    // (white paper, scanner noise, the other side showing through) is blank.
    if (e.faint_coverage >= kFaintText) return {Verdict::kUnreadable, 0.7};
    return {Verdict::kBlank, 0.95};
  }
  // Print reads with high confidence and its words explain the ink. A signature or a stamp
  // adds a weak line or two and some unexplained ink, no more; remnants of a picture or a
  // tablecloth may add more weak lines, but then type or read words explain nearly all ink.
  // Its shapes sit on their baselines, where they could be measured (a hand that Tesseract
  // reads well, as a carbon copy of neat handwriting at confidence 84, does not), unless it
  // reads at a confidence no handwriting in any set reached (a noisy skewed scan's letters
  // can sit a pixel or two off their line).
  const bool few_weak = e.weak_lines <= std::max(2, e.text_lines / 6);
  const bool type_lines =
      e.on_baseline == 0 || e.on_baseline >= kTypeBaseline || e.mean_confidence >= 90;
  if (reads_well && type_lines && e.text_ink_share >= kPrintInk &&
      (few_weak || e.unexplained_ink <= kExplainedPrint)) {
    return {Verdict::kPrinted, std::min(0.99, e.mean_confidence / 100)};
  }
  // A word or two read out of grey haze (blur, motion, a blurred photo on a tablecloth): not
  // text anyone can read.
  if (wordlike_words < kFewWords && e.words < 10 && e.faint_coverage >= kHaze * e.ink_coverage) {
    return {Verdict::kUnreadable, 0.6};
  }
  if (e.sharpness < kSharpEdges && e.mean_confidence < kPrintConfidence) {
    return {Verdict::kUnreadable, 0.7};
  }
  // Grey haze at least twice the crisp ink and nothing read as print: blurred text with a
  // crisp line or two on it (a heading, a stamp) — what Tesseract guesses there is no reading.
  if (e.faint_coverage >= kHaze * e.ink_coverage) return {Verdict::kUnreadable, 0.6};
  // Type Tesseract reads badly (an old typeface and pre-1918 spelling binarised at 100 DPI
  // reads at confidence 40–60, with half its ink in no word it trusts): its shapes still sit
  // on their line's baseline as only type sits (no handwriting of the tuning split above 0.65,
  // its old Russian 0.87–0.96), a few words read as words, and no rules were set aside: no
  // lines to fill in, so not a form. Blurred type sits on its baselines too, but was called
  // unreadable above.
  if (e.on_baseline >= kTypeBaseline && wordlike_words >= kFewWords && e.set_aside < kNoRules) {
    return {Verdict::kPrinted, e.mean_confidence >= 60 ? 0.7 : 0.6};
  }
  // Letters still too small after scaling up (the scan was too coarse): unreadable, not
  // handwriting.
  if (e.text_height > 0 && e.text_height < kSmallestLetters) return {Verdict::kUnreadable, 0.6};
  // Printed lines, yet not a printed page (weak lines, or ink no word explains): a form
  // filled in by hand. A handwritten page can have a line or two that reads well, but then
  // its words explain little of the ink.
  if (e.strong_lines >= 2 && e.text_ink_share >= kFormPrintInk) return {Verdict::kMixed, 0.6};
  // Shapes that sit on their baselines like type are not a hand's, even where they read badly:
  // print with something else on it.
  if (e.on_baseline >= kTypeBaseline) return {Verdict::kMixed, 0.5};
  return {Verdict::kHandwritten, std::min(0.95, 0.5 + (1 - e.text_ink_share) / 2)};
}

namespace {

std::string PageList(const std::vector<int>& pages) {
  if (pages.size() == 1) return fmt::format("page {}", pages[0]);
  std::string s = "pages ";
  for (size_t i = 0; i < pages.size(); ++i) {
    if (i > 0) s += i + 1 == pages.size() ? " and " : ", ";
    s += std::to_string(pages[i]);
  }
  return s;
}

}  // namespace

std::string Advice(const DocumentAnalysis& doc) {
  std::vector<int> hand, unread, mixed;
  for (const auto& p : doc.pages) {
    if (p.verdict == Verdict::kHandwritten) hand.push_back(p.number);
    if (p.verdict == Verdict::kUnreadable) unread.push_back(p.number);
    if (p.verdict == Verdict::kMixed) mixed.push_back(p.number);
  }
  std::vector<std::string> parts;
  const bool one_page = doc.page_count == 1;
  if (!hand.empty()) {
    parts.push_back(fmt::format(
        "{} handwritten — clinics require printed conclusions; ask the clinic that wrote it "
        "for a printed copy",
        one_page ? "it looks" : PageList(hand) + (hand.size() == 1 ? " looks" : " look")));
  }
  if (!unread.empty()) {
    parts.push_back(fmt::format(
        "{} unreadable (blurred, dark or too small) — scan it again, or photograph it flat "
        "in good light",
        one_page ? "it is" : PageList(unread) + (unread.size() == 1 ? " is" : " are")));
  }
  if (!mixed.empty()) {
    parts.push_back(fmt::format(
        "{} a printed form filled in by hand — a clinic may ask for a fully printed copy",
        one_page ? "it is" : PageList(mixed) + (mixed.size() == 1 ? " is" : " are")));
  }
  if (parts.empty() && !doc.pages.empty() &&
      std::all_of(doc.pages.begin(), doc.pages.end(),
                  [](const PageResult& p) { return p.verdict == Verdict::kBlank; })) {
    return doc.pages.size() == 1 ? "the page is blank — was this the file you meant to send?"
                                 : "every page is blank — was this the file you meant to send?";
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace dossier::ocr
