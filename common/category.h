// Document categories and consent purposes: closed sets, as enums inside and text only at
// the edges (catalog, JSON, terminal), converted here and nowhere else.
//
//   auto c = ParseCategory("lab");          // std::optional<Category>
//   std::string_view text = ToString(*c);    // "lab"
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dossier {

enum class Category { kEpicrisis, kConclusion, kLab, kImaging, kReferral, kClinicReply, kOther };
inline constexpr Category kAllCategories[] = {
    Category::kEpicrisis, Category::kConclusion,  Category::kLab,   Category::kImaging,
    Category::kReferral,  Category::kClinicReply, Category::kOther,
};

enum class Purpose { kSecondOpinion, kTreatmentPlanning, kTelemedicine, kTreatment };
inline constexpr Purpose kAllPurposes[] = {Purpose::kSecondOpinion, Purpose::kTreatmentPlanning,
                                           Purpose::kTelemedicine, Purpose::kTreatment};

std::string_view ToString(Category c);
std::optional<Category> ParseCategory(std::string_view text);
std::string_view ToString(Purpose p);
std::optional<Purpose> ParsePurpose(std::string_view text);
// "epicrisis, conclusion, lab, imaging, referral, clinic-reply, other": for messages.
std::string AllCategoryNames();
std::string AllPurposeNames();

}  // namespace dossier
