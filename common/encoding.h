// Byte encodings used in catalog rows, key files and checkpoints: hex and standard base64
// (libsodium's constant-time codecs), plus random ids.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dossier {

using Bytes = std::vector<uint8_t>;

std::string ToHex(std::span<const uint8_t> bytes);
std::optional<Bytes> FromHex(std::string_view hex);
std::string ToBase64(std::span<const uint8_t> bytes);
std::optional<Bytes> FromBase64(std::string_view text);
// The same alphabet without `=` padding (age's); only the canonical encoding decodes.
std::string ToBase64Unpadded(std::span<const uint8_t> bytes);
std::optional<Bytes> FromBase64Unpadded(std::string_view text);

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string AsString(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Strict UTF-8 (no overlong forms checked beyond lead/continuation structure).
bool IsValidUtf8(std::string_view s);

// The code point of the UTF-8 sequence at `s[i]`, `i` moved past it; an invalid or cut-off
// sequence gives U+FFFD and moves `i` by one byte.
char32_t NextCodePoint(std::string_view s, size_t& i);
// Appends `c` to `out` as UTF-8.
void AppendUtf8(std::string& out, char32_t c);

// A random identifier: `prefix` + `_` + `length` characters of lower-case Crockford base32
// (no i, l, o, u). 10 characters carry 50 bits — unguessable enough for ids that are not secrets.
std::string RandomId(std::string_view prefix, size_t length = 10);

}  // namespace dossier
