#include "ingest/sniff.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

#include "dicom/dicom.h"
#include "ingest/unpack.h"

namespace dossier::ingest {
namespace {

bool StartsWith(std::span<const uint8_t> h, std::string_view magic, size_t at = 0) {
  return h.size() >= at + magic.size() &&
         std::memcmp(h.data() + at, magic.data(), magic.size()) == 0;
}

bool Contains(std::span<const uint8_t> h, std::string_view needle, size_t limit) {
  const auto end = h.begin() + static_cast<std::ptrdiff_t>(std::min(limit, h.size()));
  return std::search(h.begin(), end, needle.begin(), needle.end()) != end;
}

// Text: no NUL bytes and almost no control characters (UTF-8 or a Cyrillic code page).
bool LooksLikeText(std::span<const uint8_t> h) {
  size_t control = 0;
  for (uint8_t c : h) {
    if (c == 0) return false;
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') ++control;
  }
  return control * 100 <= h.size();
}

uint32_t Le(std::span<const uint8_t> h, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | h[at + static_cast<size_t>(i)];
  return v;
}

// An Office document is a ZIP whose entries, as far as the head shows them, include
// "[Content_Types].xml" (OOXML) or start with "mimetype" (ODF), and hold no program. Anything
// else is an archive, to be unpacked and looked at entry by entry.
bool IsOfficeZip(std::span<const uint8_t> h) {
  bool office = false;
  size_t at = 0;
  for (int n = 0; at + 30 <= h.size() && StartsWith(h.subspan(at), "PK\x03\x04"); ++n) {
    const size_t name_len = Le(h, at + 26, 2), extra_len = Le(h, at + 28, 2);
    const uint32_t size = Le(h, at + 18, 4), flags = Le(h, at + 6, 2);
    if (at + 30 + name_len > h.size()) break;
    const std::string name(reinterpret_cast<const char*>(h.data() + at + 30), name_len);
    if (name == "[Content_Types].xml" || (n == 0 && name == "mimetype")) office = true;
    if (SkipGroupForName(name) == kViewerSoftware) return false;
    if (flags & 0x08) break;  // sizes follow the data: the next header cannot be found here
    at += 30 + name_len + extra_len + size;
  }
  return office;
}

// A HEIC photo (HEVC-coded HEIF, what iPhones save): an ISO base media file whose `ftyp` box
// names a HEVC brand, as its major brand or a compatible one. HEIF of other codings (AVIF)
// and sequences without a HEVC brand stay `other`.
bool IsHeic(std::span<const uint8_t> h) {
  if (h.size() < 16 || !StartsWith(h, "ftyp", 4)) return false;
  const uint32_t box =
      (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
  const size_t end =
      std::min<size_t>(std::max<uint32_t>(box, 16), std::min<size_t>(h.size(), 4096));
  for (size_t at = 8; at + 4 <= end; at += 4) {
    if (at == 12) continue;  // the minor version, not a brand
    const std::string_view brand(reinterpret_cast<const char*>(h.data()) + at, 4);
    for (std::string_view hevc : {"heic", "heix", "heim", "heis", "hevc", "hevx"}) {
      if (brand == hevc) return true;
    }
  }
  return false;
}

Sniffed Accept(const char* kind) { return {kind, "", ""}; }
Sniffed Refuse(std::string reason) { return {"", std::move(reason), ""}; }
Sniffed Archive(const char* container) { return {"archive", "", container}; }

}  // namespace

Sniffed Sniff(std::span<const uint8_t> h, uint64_t total_size) {
  if (total_size == 0)
    return Refuse("empty file (0 bytes): nothing to store — send the file again");
  // DICOM first: a Part 10 preamble may itself hold a TIFF header (dual-personality files).
  if (dicom::LooksLikeDicom(h)) {
    // A preamble holding a program or an archive makes a polyglot (CVE-2019-11687): a
    // Windows program that is also a valid DICOM file. TIFF preambles are legitimate.
    if (StartsWith(h, "MZ") ||
        StartsWith(h,
                   "\x7F"
                   "ELF") ||
        StartsWith(h, "PK\x03\x04") || StartsWith(h, "#!")) {
      return Refuse(
          "DICOM file whose preamble holds a program or archive (a known attack): "
          "send the original from the disc");
    }
    // A DICOMDIR's meta header names the Media Storage Directory SOP class.
    return Accept(Contains(h, "1.2.840.10008.1.3.10", 1024) ? "dicomdir" : "dicom");
  }
  if (StartsWith(h, "CD001", 32769)) return {"disc-image", "", "iso"};
  if (StartsWith(h, "%PDF-")) return Accept("pdf");
  // Containers are recognised by their own magic, never by a file inside them (a tar or a
  // stored ZIP holds its first file's bytes within its first kilobyte).
  if (StartsWith(h, "ustar", 257)) return Archive("tar");
  if (StartsWith(h, "PK\x03\x04")) return IsOfficeZip(h) ? Accept("office") : Archive("zip");
  if (StartsWith(h, "\xFF\xD8\xFF")) return Accept("jpeg");
  if (IsHeic(h)) return Accept("heic");
  if (StartsWith(h, "\x89PNG\r\n\x1A\n")) return Accept("png");
  if (StartsWith(h, std::string_view("II*\0", 4)) || StartsWith(h, std::string_view("MM\0*", 4)) ||
      StartsWith(h, std::string_view("II+\0", 4))) {
    return Accept("tiff");
  }
  if (StartsWith(h, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") || StartsWith(h, "{\\rtf")) {
    return Accept("office");
  }
  if (StartsWith(h,
                 "\x7F"
                 "ELF") ||
      StartsWith(h, "MZ") || StartsWith(h, "\xCA\xFE\xBA\xBE") ||
      StartsWith(h, "\xFE\xED\xFA\xCE") || StartsWith(h, "\xFE\xED\xFA\xCF") ||
      StartsWith(h, "\xCE\xFA\xED\xFE") || StartsWith(h, "\xCF\xFA\xED\xFE") ||
      StartsWith(h, "#!")) {
    return Refuse(kExecutableReason);
  }
  if (StartsWith(h, "7z\xBC\xAF\x27\x1C")) return Archive("7z");
  if (StartsWith(h, "Rar!\x1A\x07")) return Archive("rar");
  if (StartsWith(h, "\x1F\x8B")) return Archive("gzip");
  if (StartsWith(h, "\xFD\x37\x7A\x58\x5A")) return Archive("xz");
  if (StartsWith(h, "\x28\xB5\x2F\xFD")) return Archive("zstd");
  if (StartsWith(h, "BZh")) return Archive("bzip2");
  if (StartsWith(h, "GIF87a") || StartsWith(h, "GIF89a") || StartsWith(h, "BM") ||
      (StartsWith(h, "RIFF") && StartsWith(h, "WEBP", 8)) || StartsWith(h, "ftypmif1", 4) ||
      StartsWith(h, "ftypmsf1", 4) || StartsWith(h, "ftypavif", 4)) {
    return Accept("other");
  }
  // Last of the binary checks, after every fixed-offset magic: scanners that prepend junk.
  if (Contains(h, "%PDF-", 1024)) return Accept("pdf");
  if (LooksLikeText(h)) return Accept("text");
  // A DICOM file behind a few stray bytes (a damaged copy), after every other format had its
  // chance: say so, not "unrecognised".
  for (size_t skip = 1; skip <= 8 && skip + 8 < h.size(); ++skip) {
    if (dicom::LooksLikeDicom(h.subspan(skip))) {
      return {"dicom",
              fmt::format("damaged DICOM file: {} stray byte{} before its data — copy it from "
                          "the disc again",
                          skip, skip == 1 ? "" : "s"),
              ""};
    }
  }
  return Refuse(
      "unrecognised content: Dossier accepts PDF, JPEG, PNG, TIFF, HEIC, DICOM, Office documents "
      "and text — save the document in one of these formats");
}

std::string NameKindNote(std::string_view name, std::string_view kind) {
  if (kind != "text") return "";
  const std::string_view base = name.substr(name.find_last_of('/') + 1);
  const size_t dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "";
  std::string ext(base.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Formats whose files are never plain text.
  static constexpr std::string_view kNotText[] = {
      "pdf",  "jpg", "jpeg", "png", "tif", "tiff", "gif", "bmp", "webp", "heic", "doc",
      "docx", "xls", "xlsx", "odt", "ods", "dcm",  "zip", "7z",  "rar",  "iso"};
  if (std::find(std::begin(kNotText), std::end(kNotText), ext) == std::end(kNotText)) return "";
  return "named ." + ext + " but holds plain text: stored as text";
}

std::string ConsentScanKind(std::span<const uint8_t> b) {
  auto starts = [&](std::initializer_list<uint8_t> magic) {
    return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin());
  };
  if (starts({'%', 'P', 'D', 'F', '-'})) return "pdf";
  if (starts({0xFF, 0xD8, 0xFF})) return "jpeg";
  if (starts({0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'})) return "png";
  if (starts({'I', 'I', 42, 0}) || starts({'M', 'M', 0, 42})) return "tiff";
  if (Sniff(b, b.size()).kind == "heic") return "heic";
  return "";
}

}  // namespace dossier::ingest
