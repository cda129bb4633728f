#include "common/category.h"

namespace dossier {
namespace {

constexpr std::string_view kCategoryNames[] = {"epicrisis", "conclusion",   "lab",  "imaging",
                                               "referral",  "clinic-reply", "other"};
constexpr std::string_view kPurposeNames[] = {"second-opinion", "treatment-planning",
                                              "telemedicine", "treatment"};

template <typename E, size_t N>
std::optional<E> Parse(const std::string_view (&names)[N], std::string_view text) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<E>(i);
  }
  return std::nullopt;
}

template <size_t N>
std::string Join(const std::string_view (&names)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) out += (i ? ", " : "") + std::string(names[i]);
  return out;
}

}  // namespace

std::string_view ToString(Category c) { return kCategoryNames[static_cast<int>(c)]; }
std::optional<Category> ParseCategory(std::string_view t) {
  return Parse<Category>(kCategoryNames, t);
}
std::string_view ToString(Purpose p) { return kPurposeNames[static_cast<int>(p)]; }
std::optional<Purpose> ParsePurpose(std::string_view t) { return Parse<Purpose>(kPurposeNames, t); }
std::string AllCategoryNames() { return Join(kCategoryNames); }
std::string AllPurposeNames() { return Join(kPurposeNames); }

}  // namespace dossier
