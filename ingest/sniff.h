// Content sniffing: what a file is, decided from its bytes, never its name.
//
//   Sniffed s = Sniff(head, total_size);
//   if (!s.accepted()) report(s.reason);
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace dossier::ingest {

// How many leading bytes Sniff() wants to see (ISO-9660 puts its signature at 32 KiB + 1).
inline constexpr size_t kSniffBytes = 36 * 1024;

struct Sniffed {
  // pdf | jpeg | png | tiff | heic | dicom | dicomdir | office | text | other (a known, harmless
  // format that Dossier stores but cannot analyse: GIF, BMP, WebP, AVIF), archive | disc-image
  // (to be unpacked) — or "" when refused.
  std::string kind;
  // Why the file is refused, in words a patient can act on; empty when accepted.
  std::string reason;
  // For archives and disc images, what to unpack: zip | 7z | rar | tar | gzip | xz | zstd |
  // bzip2 | iso (kind is then "archive" or "disc-image"); empty for documents.
  std::string container;
  bool accepted() const { return reason.empty(); }
};

// The reason an executable is refused (ELF, PE, Mach-O, scripts); inside a disc folder or
// image with imaging the same file is skipped as viewer software instead.
inline constexpr const char* kExecutableReason =
    "executable program: not a medical document, refused for safety";

// `head` holds the first min(kSniffBytes, total_size) bytes.
Sniffed Sniff(std::span<const uint8_t> head, uint64_t total_size);

// A note for a file whose name claims another kind than its bytes show, for the report and
// `docs`: "named .pdf but holds plain text: stored as text" for plain text named as a PDF,
// an image, an Office document, DICOM or an archive; "" otherwise. `name` may be a path.
std::string NameKindNote(std::string_view name, std::string_view kind);

// A signed consent's scan, by its first bytes: "pdf", "jpeg", "png", "tiff" or "heic" (the
// signed paper photographed with an iPhone, recognised as Sniff recognises it); "" for
// anything else, which a consent does not take.
std::string ConsentScanKind(std::span<const uint8_t> bytes);

}  // namespace dossier::ingest
