// Page analysis of PDFs and images (Poppler, Tesseract, Leptonica). No third-party type
// appears in this header.
//
// For now: checking that the Tesseract language data Dossier needs is installed, naming
// what is missing (Tesseract's own Init() only returns -1). Verdicts and text come with the
// OCR issue.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace dossier::ocr {

// The tessdata folder: $TESSDATA_PREFIX if set, else Debian's /usr/share/tesseract-ocr/5/tessdata.
std::filesystem::path DefaultTessdataDir();

// kNotFound naming each missing `<lang>.traineddata` in `tessdata` (e.g. "rus", "eng", "osd").
Status CheckLanguageData(const std::filesystem::path& tessdata,
                         const std::vector<std::string>& languages);

// Opens a PDF from memory with Poppler to prove a clinic will be able to open it. Runs on
// untrusted bytes: call it only inside a worker process. Returns kRejected with a reason a
// patient can act on: damaged, no pages, or protected by a password (a PDF with only an
// owner password opens and is accepted). Poppler's own messages are silenced.
Status CheckPdf(std::span<const uint8_t> pdf);

// "Tesseract 5.3.0, Poppler 22.12.0" — the libraries this build links.
std::string LibraryVersions();

}  // namespace dossier::ocr
