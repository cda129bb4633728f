// Text folding for search: what a manager types should find what a page says, whatever the
// case and whichever of е/ё was used.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dossier {

// Lower-cases Latin and Cyrillic, maps ё to е, and turns every run of white space into one
// space. `offsets`, if given, receives for each output character the byte offset in `utf8`
// of the character it came from (so a match can be shown in the original text). Invalid
// UTF-8 bytes are kept as U+FFFD.
std::u32string FoldForSearch(std::string_view utf8, std::vector<size_t>* offsets = nullptr);

// A Latin spelling key for a name, so that Иванов, IVANOV, Ivanoff and Iwanow compare equal:
// Cyrillic transliterated, case folded, the usual variants of transliteration merged
// (kh/h, ts/tz/c, j/y, ia/ya, iu/yu, w/v, ff/v, x/ks). Words are separated by single spaces.
std::string NameKey(std::string_view utf8);

// Does `text` contain `name` as a whole word (or words), in any script or common
// transliteration? For the wrong-patient check: a discharge summary names its patient.
bool MentionsName(std::string_view text, std::string_view name);

// A person as a warning shows them to the operator: "Иванов Иван, born 1980-02-01", or
// "…, no birth date" / "no name, …" for what is not known. `birth_date` is YYYY-MM-DD. For
// the terminal and sealed fields only, never for logs or error messages.
std::string PersonFacts(std::string_view name, std::string_view birth_date);

// Reasons joined by " and ": those of `a`, then those of `b` not in `a` already.
std::string MergeReasons(std::string_view a, std::string_view b);

}  // namespace dossier
