// The rules a patient's fields follow (vault.h, PatientFieldRule). Their words go into error
// messages, so they state the rule and never the value.
#include <fmt/format.h>

#include <algorithm>

#include "common/clock.h"
#include "common/encoding.h"
#include "vault/vault.h"

namespace dossier::vault {

namespace {

constexpr size_t kMaxNameCharacters = 200;
constexpr int kMinPhoneDigits = 7;
constexpr int kMaxPhoneDigits = 15;  // ITU-T E.164

std::string NameRule(std::string_view v) {
  if (v.empty()) return "is empty";
  const bool one_line = IsValidUtf8(v) && std::none_of(v.begin(), v.end(), [](char c) {
                          const auto u = static_cast<unsigned char>(c);
                          return u < 0x20 || u == 0x7f;
                        });
  const auto characters = std::count_if(
      v.begin(), v.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
  if (!one_line || static_cast<size_t>(characters) > kMaxNameCharacters) {
    return fmt::format("must be one line of 1 to {} characters", kMaxNameCharacters);
  }
  return "";
}

std::string BirthDateRule(std::string_view v, std::string_view today) {
  constexpr const char* kShape = "must be a real date written YYYY-MM-DD";
  if (v.size() != 10 || v[4] != '-' || v[7] != '-') return kShape;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (v[i] < '0' || v[i] > '9') return kShape;
  }
  if (v < "1900-01-01") return "must not be before 1900-01-01";
  if (!ParseDate(v)) return kShape;
  if (v > today) return fmt::format("must not be in the future (today is {})", today);
  return "";
}

std::string PhoneRule(std::string_view v) {
  if (v.empty()) return "";
  int digits = 0;
  bool ok = true;
  for (size_t i = 0; i < v.size() && ok; ++i) {
    const char c = v[i];
    if (c >= '0' && c <= '9') {
      ++digits;
    } else {
      ok = c == ' ' || c == '-' || c == '(' || c == ')' || (c == '+' && i == 0);
    }
  }
  if (ok && digits >= kMinPhoneDigits && digits <= kMaxPhoneDigits) return "";
  return fmt::format(
      "must be a phone number: an optional leading +, then {} to {} digits, which spaces, "
      "hyphens and parentheses may group (+7 900 123-45-67)",
      kMinPhoneDigits, kMaxPhoneDigits);
}

}  // namespace

bool IsEmailAddress(std::string_view e) {
  const size_t at = e.find('@');
  return at != std::string_view::npos && at > 0 && e.find('@', at + 1) == std::string_view::npos &&
         e.find('.', at + 2) != std::string_view::npos && e.back() != '.' &&
         e.find_first_of(" \t\r\n<>,;\"") == std::string_view::npos && e.size() <= 254;
}

std::string PatientFieldRule(std::string_view field, std::string_view value,
                             std::string_view today) {
  if (field == "name") return NameRule(value);
  if (field == "birth_date") return BirthDateRule(value, today);
  if (field == "phone") return PhoneRule(value);
  if (field == "email") {
    if (value.empty() || IsEmailAddress(value)) return "";
    return "must be an e-mail address written name@domain.tld";
  }
  return "is not a field of a patient";
}

}  // namespace dossier::vault
