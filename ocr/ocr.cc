#include "ocr/ocr.h"

#include <fmt/format.h>
#include <poppler/cpp/poppler-version.h>
#include <tesseract/baseapi.h>

#include <cstdlib>

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

std::string LibraryVersions() {
  return fmt::format("Tesseract {}, Poppler {}", tesseract::TessBaseAPI::Version(),
                     poppler::version_string());
}

}  // namespace dossier::ocr
