// Which category a document is, where the evidence is clear (Clinic requests 1/3): DICOM is
// imaging; otherwise a heading near the top of the first page decides. One table of rules,
// which the tests read; the vault only stores the result, and a manager's choice always wins.
//
//   if (auto c = InferCategory(first_page_text)) vault.InferCategory(doc, c->category, c->reason);
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/category.h"

namespace dossier::ingest {

struct CategoryRule {
  Category category;
  std::vector<std::string_view> phrases;  // any of them, in a heading line (case, ё/е folded)
};

// In order: the first rule with a phrase in one of the first kHeadingLines lines wins (an
// epicrisis names its conclusion further down; a lab form says «анализ» before anything else).
const std::vector<CategoryRule>& CategoryRules();
inline constexpr int kHeadingLines = 8;

struct InferredCategory {
  Category category;
  std::string reason;  // our words with the phrase that matched, never the page's other text
};

// From the text of a document's first page (OCR or text layer), read well enough to be
// evidence (the OCR check said printed or mixed).
std::optional<InferredCategory> InferCategory(std::string_view first_page_text);
// For a DICOM instance.
InferredCategory DicomCategory();

}  // namespace dossier::ingest
