#include "common/text.h"

namespace dossier {

std::u32string FoldForSearch(std::string_view s, std::vector<size_t>* offsets) {
  std::u32string out;
  bool space = false;
  for (size_t i = 0; i < s.size();) {
    const size_t at = i;
    const auto c = static_cast<unsigned char>(s[i]);
    const int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    char32_t cp = 0xFFFD;
    if (len == 0 || i + len > s.size()) {
      ++i;
    } else {
      cp = len == 1 ? c : c & (0x7F >> len);
      for (int k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) {
          cp = 0xFFFD;
          break;
        }
        cp = (cp << 6) | (b & 0x3F);
      }
      i += (cp == 0xFFFD) ? 1 : len;
    }
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

}  // namespace dossier
