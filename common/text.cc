#include "common/text.h"

#include <algorithm>
#include <utility>

#include "common/encoding.h"

namespace dossier {

std::u32string FoldForSearch(std::string_view s, std::vector<size_t>* offsets) {
  std::u32string out;
  bool space = false;
  for (size_t i = 0; i < s.size();) {
    const size_t at = i;
    char32_t cp = NextCodePoint(s, i);
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == 0xA0) {
      space = true;
      continue;
    }
    if (space && !out.empty()) {
      out.push_back(' ');
      if (offsets) offsets->push_back(at);
    }
    space = false;
    if (cp >= 'A' && cp <= 'Z')
      cp += 0x20;
    else if (cp >= 0x410 && cp <= 0x42F)
      cp += 0x20;  // А–Я
    else if (cp >= 0x400 && cp <= 0x40F)
      cp += 0x50;                 // Ѐ–Џ (Ё among them)
    if (cp == 0x451) cp = 0x435;  // ё → е
    out.push_back(cp);
    if (offsets) offsets->push_back(at);
  }
  return out;
}

namespace {

const char* Translit(char32_t c) {
  static const char* const kLower[] = {
      "a", "b", "v", "g", "d", "e",  "zh", "z",  "i",  "y",    "k", "l", "m", "n", "o",  "p",
      "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "",  "y", "",  "e", "yu", "ya"};
  static_assert(sizeof(kLower) / sizeof(kLower[0]) == 0x450 - 0x430, "а…я");
  if (c >= 0x430 && c <= 0x44F) return kLower[c - 0x430];
  if (c == 0x451) return "e";  // ё
  return nullptr;
}

// In one pass: replacing in place moves the rest of the string at every hit, which made a
// 3 MB text file take 20 s of CPU to check for the patient's name.
void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  size_t hit = s.find(from);
  if (hit == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  size_t at = 0;
  for (; hit != std::string::npos; at = hit + from.size(), hit = s.find(from, at)) {
    out.append(s, at, hit - at);
    out.append(to);
  }
  out.append(s, at);
  s.swap(out);
}

}  // namespace

std::string NameKey(std::string_view utf8) {
  const std::u32string folded = FoldForSearch(utf8);
  std::string out;
  for (char32_t c : folded) {
    if (const char* t = Translit(c)) {
      out += t;
    } else if (c >= 'a' && c <= 'z') {
      out += static_cast<char>(c);
    } else if (c >= '0' && c <= '9') {
      out += static_cast<char>(c);
    } else if (c == 0x456 || c == 0x457) {  // і ї (Ukrainian)
      out += 'i';
    } else if (!out.empty() && out.back() != ' ') {
      out += ' ';  // punctuation and white space separate words
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  // One spelling for the variants that transliteration tables (and clerks) disagree on.
  for (const auto& [from, to] : {std::pair<std::string_view, std::string_view>{"shch", "sch"},
                                 {"kh", "h"},
                                 {"tz", "c"},
                                 {"ts", "c"},
                                 {"x", "ks"},
                                 {"w", "v"},
                                 {"ff", "v"},
                                 {"j", "y"},
                                 {"ia", "ya"},
                                 {"iu", "yu"},
                                 {"iy", "y"},
                                 {"yy", "y"}}) {
    ReplaceAll(out, from, to);
  }
  return out;
}

bool MentionsName(std::string_view text, std::string_view name) {
  const std::string n = NameKey(name);
  if (n.empty()) return false;
  const std::string t = " " + NameKey(text) + " ";
  return t.find(" " + n + " ") != std::string::npos;
}

std::string PersonFacts(std::string_view name, std::string_view birth_date) {
  std::string out = name.empty() ? "no name" : std::string(name);
  out += birth_date.empty() ? ", no birth date" : ", born " + std::string(birth_date);
  return out;
}

std::string MergeReasons(std::string_view a, std::string_view b) {
  constexpr std::string_view kAnd = " and ";
  std::vector<std::string_view> reasons;
  for (std::string_view s : {a, b}) {
    while (!s.empty()) {
      const size_t at = s.find(kAnd);
      const std::string_view r = s.substr(0, at);
      if (std::find(reasons.begin(), reasons.end(), r) == reasons.end()) reasons.push_back(r);
      s = at == std::string_view::npos ? std::string_view() : s.substr(at + kAnd.size());
    }
  }
  std::string out;
  for (std::string_view r : reasons) (out += out.empty() ? "" : kAnd) += r;
  return out;
}

}  // namespace dossier
