// Plain-text documents, read so that `dossier search` and `dossier text` find what they say:
// their bytes as UTF-8 (UTF-8 as it is, else Windows-1251 or KOI8-R, whichever the letters
// point to), without control characters, cut at line breaks into pages a worker's answer can
// carry. Runs inside the confined unpack worker (the bytes are the patient's, untrusted).
// Private to ingest/.
//
//   const std::string text = DecodePlainText(bytes);
//   for (const std::string& page : TextPages(text)) ...;
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace dossier::ingest::internal {

// The most UTF-8 bytes in one page of a text document: its JSON in the worker's answer stays
// under sandbox::kMaxFrame even when every character needs escaping as \u00XX.
inline constexpr size_t kTextPageBytes = 128 * 1024;

// `bytes` as UTF-8: a byte-order mark dropped, CR LF and lone CR made LF, and every control
// character but tab, line feed and form feed left out (nothing a terminal would obey).
std::string DecodePlainText(std::span<const uint8_t> bytes);

// `utf8` in pages of at most `page_bytes` bytes, each ending at a line break where one falls
// in its second half, else at a character boundary. One (empty) page for an empty text.
std::vector<std::string> TextPages(const std::string& utf8, size_t page_bytes = kTextPageBytes);

}  // namespace dossier::ingest::internal
