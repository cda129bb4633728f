#include "ingest/internal/entry_names.h"

#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "common/encoding.h"
#include "ingest/unpack.h"

namespace dossier::ingest {
namespace internal {
namespace {

// Owns an iconv conversion descriptor (iconv_t is a pointer in glibc).
struct IconvClose {
  void operator()(void* cd) const { iconv_close(static_cast<iconv_t>(cd)); }
};
using IconvPtr = std::unique_ptr<void, IconvClose>;

}  // namespace

std::string FromCp866(std::string_view raw) {
  iconv_t opened = iconv_open("UTF-8", "CP866");
  if (opened == reinterpret_cast<iconv_t>(-1)) return std::string(raw);
  const IconvPtr cd(opened);
  std::string out(raw.size() * 3 + 4, '\0');
  char* in = const_cast<char*>(raw.data());
  size_t in_left = raw.size(), out_left = out.size();
  char* o = out.data();
  const size_t rc = iconv(static_cast<iconv_t>(cd.get()), &in, &in_left, &o, &out_left);
  if (rc == static_cast<size_t>(-1)) return std::string(raw);
  out.resize(out.size() - out_left);
  return out;
}

std::string PrintableName(std::string s) {
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  }
  return IsValidUtf8(s) ? s : FromCp866(s);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string StreamName(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::string lower = Lower(base);
  for (std::string_view suffix : {".gz", ".gzip", ".xz", ".bz2", ".bz", ".zst", ".zstd"}) {
    if (lower.size() > suffix.size() && EndsWith(lower, suffix)) {
      return base.substr(0, base.size() - suffix.size());
    }
  }
  return base;
}

}  // namespace internal

using internal::EndsWith;
using internal::Lower;

std::string SkipGroupForName(const std::string& path) {
  const std::string p = Lower(path);
  const std::string base = p.substr(p.rfind('/') == std::string::npos ? 0 : p.rfind('/') + 1);
  if (base == ".ds_store" || base == "thumbs.db" || base == "desktop.ini" ||
      base.rfind("._", 0) == 0 || p.find("__macosx/") != std::string::npos) {
    return kSystemClutter;
  }
  if (base == "autorun.inf" || p.find(".app/") != std::string::npos ||
      p.find(".framework/") != std::string::npos) {
    return kViewerSoftware;
  }
  static constexpr const char* kExtensions[] = {
      ".exe", ".dll", ".ocx", ".sys", ".msi", ".jar", ".class", ".so",  ".dylib", ".bat",
      ".cmd", ".com", ".vbs", ".ps1", ".lnk", ".inf", ".drv",   ".cpl", ".scr",   ".jnlp"};
  for (const char* ext : kExtensions) {
    if (EndsWith(base, ext)) return kViewerSoftware;
  }
  return "";
}

Result<std::string> SafeEntryPath(const std::string& raw) {
  if (raw.size() > internal::kMaxNameBytes) return Rejected("name longer than 4096 bytes: refused");
  std::string name = IsValidUtf8(raw) ? raw : internal::FromCp866(raw);
  std::replace(name.begin(), name.end(), '\\', '/');
  if (name.empty()) return Rejected("entry without a name");
  if (std::any_of(name.begin(), name.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; })) {
    return Rejected("name with control characters: refused");
  }
  if (name[0] == '/') return Rejected("absolute path: refused, archives must hold relative paths");
  if (name.size() >= 2 && name[1] == ':' && std::isalpha(static_cast<unsigned char>(name[0]))) {
    return Rejected("drive-letter path: refused, archives must hold relative paths");
  }
  std::string out;
  size_t start = 0;
  while (start <= name.size()) {
    const size_t end = std::min(name.find('/', start), name.size());
    const std::string part = name.substr(start, end - start);
    if (part == "..") return Rejected("path leads outside the archive (..): refused for safety");
    if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
    start = end + 1;
  }
  if (out.empty()) return Rejected("entry without a name");
  return out;
}

}  // namespace dossier::ingest
