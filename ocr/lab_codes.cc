#include "ocr/internal/lab_codes.h"

#include <algorithm>
#include <span>

#include "common/encoding.h"

namespace dossier::ocr::internal {
namespace {

// The codes haematology, chemistry, coagulation, hormone and urine analysers print (Sysmex,
// Mindray, Beckman, Roche, Abbott), as on Russian laboratory forms.
constexpr std::string_view kLabCodes[] = {
    "AFP",  "ALB",  "ALP",  "ALT",  "AMY",   "APTT",   "ASLO",  "ASO",   "AST",   "BAS",  "BASO",
    "BIL",  "BLD",  "BUN",  "CA",   "CBC",   "CEA",    "CHE",   "CHOL",  "CK",    "CKMB", "CL",
    "CORT", "CRE",  "CREA", "CRP",  "DBIL",  "DDIMER", "EOS",   "ESR",   "FER",   "FIB",  "FSH",
    "FT3",  "FT4",  "GGT",  "GLU",  "GRA",   "GRAN",   "HB",    "HBA1C", "HBSAG", "HCG",  "HCT",
    "HCV",  "HDL",  "HGB",  "HIV",  "IBIL",  "IG",     "INR",   "INS",   "KET",   "LDH",  "LDL",
    "LEU",  "LH",   "LIP",  "LYM",  "LYMPH", "MCH",    "MCHC",  "MCV",   "MG",    "MID",  "MON",
    "MONO", "MPV",  "NEU",  "NEUT", "NIT",   "NRBC",   "PCT",   "PDW",   "PHOS",  "PLCR", "PLT",
    "PRL",  "PRO",  "PSA",  "PT",   "PTH",   "RBC",    "RDW",   "RDWCV", "RDWSD", "RET",  "RF",
    "SG",   "TBIL", "TG",   "TIBC", "TP",    "TPO",    "TSH",   "TT",    "TT3",   "TT4",  "UA",
    "UBG",  "UREA", "VLDL", "WBC",  "FE",    "NA",     "HSCRP",
};

// Russian abbreviations of medicine and of the laboratory (never put into Latin).
constexpr std::string_view kRussian[] = {
    "АД",  "АЛТ", "АСЛО", "АСТ", "АЧТВ", "БАК", "ВИЧ", "ВОП",  "ГБ",   "ГГТ", "ДНК", "ЖКТ",
    "ИБС", "ИМТ", "ИФА",  "КТ",  "КФК",  "ЛДГ", "ЛОР", "ЛПВП", "ЛПНП", "МКБ", "МНО", "МРТ",
    "МСЭ", "НВ",  "ОАК",  "ОАМ", "ОРВИ", "ОХС", "ПВ",  "ПТВ",  "ПТИ",  "ПЦР", "РНК", "РФ",
    "СА",  "СД",  "СОЭ",  "СРБ", "ТВ",   "ТГ",  "ТТГ", "УЗИ",  "ФИО",  "ХС",  "ХСН", "ЦНС",
    "ЧДД", "ЧСС", "ЩФ",   "ЭКГ", "ЭХО",  "ЭЭГ", "ЕД",  "МЕ",
};

bool IsCyrillicCapital(char32_t c) { return (c >= 0x410 && c <= 0x42F) || c == 0x401; }
bool IsLatinCapital(char32_t c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char32_t c) { return c >= '0' && c <= '9'; }

// The Latin capital a Cyrillic one looks like in print, or 0.
char LookAlike(char32_t c) {
  switch (c) {
    case U'А':
      return 'A';
    case U'В':
      return 'B';
    case U'Е':
      return 'E';
    case U'К':
      return 'K';
    case U'М':
      return 'M';
    case U'Н':
      return 'H';
    case U'О':
      return 'O';
    case U'Р':
      return 'P';
    case U'С':
      return 'C';
    case U'Т':
      return 'T';
    case U'У':
      return 'Y';
    case U'Х':
      return 'X';
    default:
      return 0;
  }
}

bool Listed(std::string_view word, std::span<const std::string_view> list) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

}  // namespace

std::optional<CapsWord> SplitCapsWord(std::string_view word) {
  static const std::u32string kPunct = U"()[].,;:!?\"'«»";
  std::u32string w;
  for (size_t i = 0; i < word.size();) w.push_back(NextCodePoint(word, i));
  size_t b = 0, e = w.size();
  while (b < e && kPunct.find(w[b]) != std::u32string::npos) ++b;
  while (e > b && kPunct.find(w[e - 1]) != std::u32string::npos) --e;
  int letters = 0, cyrillic = 0;
  for (size_t i = b; i < e; ++i) {
    if (IsCyrillicCapital(w[i])) {
      ++cyrillic;
      ++letters;
    } else if (IsLatinCapital(w[i])) {
      ++letters;
    } else if (!IsDigit(w[i])) {
      return std::nullopt;
    }
  }
  if (cyrillic == 0 || letters < 2 || letters > 6) return std::nullopt;
  CapsWord out;
  for (size_t i = 0; i < w.size(); ++i) {
    AppendUtf8(i < b ? out.lead : i < e ? out.core : out.trail, w[i]);
  }
  return out;
}

std::string LookAlikeLatin(std::string_view caps) {
  std::string out;
  for (size_t i = 0; i < caps.size();) {
    const char32_t c = NextCodePoint(caps, i);
    if (IsLatinCapital(c) || IsDigit(c)) {
      out.push_back(static_cast<char>(c));
    } else if (char l = LookAlike(c)) {
      out.push_back(l);
    } else {
      return "";
    }
  }
  return out;
}

std::string LatinCaps(std::string_view word) {
  static constexpr std::string_view kPunct = "()[].,;:!?\"'";
  while (!word.empty() && kPunct.find(word.front()) != std::string_view::npos)
    word.remove_prefix(1);
  while (!word.empty() && kPunct.find(word.back()) != std::string_view::npos) word.remove_suffix(1);
  if (word.empty()) return "";
  for (char c : word) {
    if (!IsLatinCapital(static_cast<unsigned char>(c)) && !IsDigit(static_cast<unsigned char>(c))) {
      return "";
    }
  }
  return std::string(word);
}

bool IsLabCode(std::string_view latin) { return Listed(latin, kLabCodes); }

bool IsRussianAbbreviation(std::string_view cyrillic) { return Listed(cyrillic, kRussian); }

std::string LatinCode(const CapsWord& word, std::string_view english) {
  if (IsRussianAbbreviation(word.core)) return "";
  const std::string look = LookAlikeLatin(word.core);
  if (look.size() >= 3 && IsLabCode(look)) return look;
  const std::string code = LatinCaps(english);
  return !code.empty() && code != look && IsLabCode(code) ? code : "";
}

bool WorthReadingAgain(const CapsWord& word) {
  return LatinCode(word).empty() && !IsRussianAbbreviation(word.core);
}

std::string MultiplicationSigns(std::string text) {
  static const std::string_view kCyrillicX = "х";  // U+0445, two bytes
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t len = 0;
    if (text[i] == 'x' || text[i] == 'X') {
      len = 1;
    } else if (text.compare(i, kCyrillicX.size(), kCyrillicX) == 0) {
      len = kCyrillicX.size();
    }
    // The x starts its word or follows a digit ("4,8×10^12"), and "10^" follows it.
    const bool starts = i == 0 || text[i - 1] == ' ' || text[i - 1] == '\n' ||
                        (text[i - 1] >= '0' && text[i - 1] <= '9');
    if (len > 0 && starts && text.compare(i + len, 3, "10^") == 0) {
      out += "×";
      i += len;
      continue;
    }
    out.push_back(text[i++]);
  }
  return out;
}

}  // namespace dossier::ocr::internal
