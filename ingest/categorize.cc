#include "ingest/categorize.h"

#include "common/text.h"

namespace dossier::ingest {

const std::vector<CategoryRule>& CategoryRules() {
  static const std::vector<CategoryRule> kRules = {
      {Category::kEpicrisis,
       {"выписной эпикриз", "выписка из истории болезни", "выписка из медицинской карты", "эпикриз",
        "discharge summary"}},
      {Category::kLab,
       {"общий анализ крови", "биохимический анализ крови", "анализ мочи", "результаты анализов",
        "лабораторные исследования", "complete blood count", "blood chemistry", "urinalysis",
        "laboratory report"}},
      {Category::kReferral, {"направление", "referral"}},
      {Category::kConclusion, {"заключение", "conclusion", "report"}},
  };
  return kRules;
}

std::optional<InferredCategory> InferCategory(std::string_view text) {
  // The first lines that hold anything, folded.
  std::vector<std::u32string> lines;
  size_t start = 0;
  while (start < text.size() && static_cast<int>(lines.size()) < kHeadingLines) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::u32string line = FoldForSearch(text.substr(start, end - start));
    if (line.find_first_not_of(U' ') != std::u32string::npos) lines.push_back(std::move(line));
    start = end + 1;
  }
  for (const CategoryRule& rule : CategoryRules()) {
    for (std::string_view phrase : rule.phrases) {
      const std::u32string want = FoldForSearch(phrase);
      for (const auto& line : lines) {
        if (line.find(want) != std::u32string::npos) {
          return InferredCategory{rule.category,
                                  "the first page's heading says «" + std::string(phrase) + "»"};
        }
      }
    }
  }
  return std::nullopt;
}

InferredCategory DicomCategory() { return {Category::kImaging, "DICOM images"}; }

}  // namespace dossier::ingest
