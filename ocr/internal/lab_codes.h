// Laboratory codes in a Russian report: the Latin abbreviations analysers print beside the
// Russian names ("Гемоглобин (HGB) 144 г/л"), which a rus+eng reading takes for Cyrillic —
// "(НСТ)" for HCT, whose letters look the same in both scripts, "(НСВ)" for HGB and "(ГУМ)"
// for LYM, whose do not quite. Ocrmypdf makes the same mistakes (doc/PERFORMANCE.md). Only a
// code on the list below is put back into Latin, and never a Russian abbreviation such as
// АСТ or СОЭ: what is not known is left as read. Private to ocr/.
//
//   if (auto w = SplitCapsWord("(НСТ),")) {
//     std::string code = LatinCode(*w);                          // "HCT"
//     if (code.empty() && WorthReadingAgain(*w)) code = LatinCode(*w, english_reading);
//   }
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dossier::ocr::internal {

// A word of capitals in Cyrillic (some Latin may be mixed in, digits too: "НВА1С") with the
// punctuation around it: "(НСВ)," → {"(", "НСВ", "),"}. Nullopt for anything else, or for
// fewer than 2 or more than 6 letters, or no Cyrillic letter at all.
struct CapsWord {
  std::string lead, core, trail;
};
std::optional<CapsWord> SplitCapsWord(std::string_view word);

// The Latin capitals a word's Cyrillic capitals look like ("НСТ" → "HCT"), Latin letters and
// digits kept; "" when some letter looks like no Latin one (Г, Л, Э…).
std::string LookAlikeLatin(std::string_view caps);

// The capitals and digits of a word read in Latin, its punctuation dropped ("(HGB)," →
// "HGB"); "" when it holds anything else.
std::string LatinCaps(std::string_view word);

// Whether `latin` (capitals and digits, no punctuation) is a laboratory code on the list.
bool IsLabCode(std::string_view latin);
// Whether `cyrillic` (capitals) is a Russian medical abbreviation on the list, to be left
// alone even where it reads as a code: АЛТ is ALT in Russian.
bool IsRussianAbbreviation(std::string_view cyrillic);

// The code `word` (read in Cyrillic) stands for, in Latin, or "" to leave it as read. A
// Russian abbreviation on the list stays. A code of 3 letters or more whose every letter looks
// the same in both scripts ("НСТ") is known by the list alone. Otherwise `english` decides:
// the word read again with the English model alone ("" when it was not), taken when it is a
// code on the list and looks different from the word ("НСВ" read again as "(HGB)").
std::string LatinCode(const CapsWord& word, std::string_view english = {});
// Whether reading `word` again in English could change what LatinCode makes of it.
bool WorthReadingAgain(const CapsWord& word);

// The multiplication sign of a unit ("×10^9/л"), read as a Cyrillic or Latin x, put back:
// an x right before "10^" becomes "×".
std::string MultiplicationSigns(std::string text);

}  // namespace dossier::ocr::internal
