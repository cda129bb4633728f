#include "exporter/exporter.h"

#include <cctype>
#include <cmath>
#include <string>

namespace dossier::exporter {

Result<uint64_t> ParseSize(std::string_view text) {
  const auto bad = InvalidArgument(
      "`" + std::string(text) +
      "` is not a size: write e.g. 25MB (25,000,000 bytes, as mail providers count), 18MiB or "
      "18M (18 × 2^20 bytes), 1.5G, or a number of bytes such as 500000");
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0) return bad;
  double value = 0;
  try {
    size_t used = 0;
    value = std::stod(std::string(text.substr(0, i)), &used);
    if (used != i) return bad;
  } catch (...) {
    return bad;
  }
  std::string unit;
  for (char c : text.substr(i))
    unit += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double scale = 1;
  // "MB" is decimal, as mail providers and portals count; "M" and "MiB" are binary.
  if (unit == "" || unit == "B")
    scale = 1;
  else if (unit == "K" || unit == "KIB")
    scale = 1024.0;
  else if (unit == "KB")
    scale = 1e3;
  else if (unit == "M" || unit == "MIB")
    scale = 1024.0 * 1024;
  else if (unit == "MB")
    scale = 1e6;
  else if (unit == "G" || unit == "GIB")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "GB")
    scale = 1e9;
  else
    return bad;
  const double bytes = std::floor(value * scale);
  if (!(bytes >= 1) || bytes > 1099511627776.0) return bad;
  return static_cast<uint64_t>(bytes);
}

}  // namespace dossier::exporter
