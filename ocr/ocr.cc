#include "ocr/ocr.h"

#include <fmt/format.h>
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-version.h>
#include <tesseract/baseapi.h>

#include <cstdlib>
#include <limits>
#include <memory>

#include "ocr/internal/pdf.h"

namespace dossier::ocr {

std::filesystem::path DefaultTessdataDir() {
  if (const char* env = std::getenv("TESSDATA_PREFIX"); env != nullptr && *env != '\0') {
    return env;
  }
  return "/usr/share/tesseract-ocr/5/tessdata";
}

Status CheckLanguageData(const std::filesystem::path& tessdata,
                         const std::vector<std::string>& languages) {
  std::error_code ec;
  if (!std::filesystem::is_directory(tessdata, ec)) {
    return NotFound("no Tesseract data folder at " + tessdata.string() +
                    " (install tesseract-ocr, or set TESSDATA_PREFIX)");
  }
  std::vector<std::string> missing;
  for (const auto& lang : languages) {
    if (!std::filesystem::is_regular_file(tessdata / (lang + ".traineddata"), ec)) {
      missing.push_back(lang + ".traineddata");
    }
  }
  if (missing.empty()) return Status::Ok();
  return NotFound(
      fmt::format("missing Tesseract language data in {}: {} (install "
                  "tesseract-ocr-<lang>, e.g. tesseract-ocr-rus)",
                  tessdata.string(), fmt::join(missing, ", ")));
}

namespace internal {

Result<std::unique_ptr<poppler::document>> OpenPdf(std::span<const uint8_t> pdf) {
  // Poppler prints syntax errors of hostile files to stderr; the reason we return says enough.
  static const bool quiet =
      (poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr), true);
  (void)quiet;
  if (pdf.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return Rejected("PDF larger than 2 GiB: split it");
  }
  std::unique_ptr<poppler::document> doc(poppler::document::load_from_raw_data(
      reinterpret_cast<const char*>(pdf.data()), static_cast<int>(pdf.size())));
  if (!doc) return Rejected("damaged PDF: it cannot be opened — send it again or save it anew");
  // pages() on a still-locked document crashes Poppler: check the lock first.
  if (doc->is_locked()) return Rejected("protected by a password: send it without one");
  if (doc->pages() < 1) return Rejected("damaged PDF: it has no pages — send it again");
  return doc;
}

}  // namespace internal

Status CheckPdf(std::span<const uint8_t> pdf) { return internal::OpenPdf(pdf).status(); }

std::string LibraryVersions() {
  return fmt::format("Tesseract {}, Poppler {}", tesseract::TessBaseAPI::Version(),
                     poppler::version_string());
}

}  // namespace dossier::ocr
