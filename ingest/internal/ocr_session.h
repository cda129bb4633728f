// The worker's side of the OCR check: the document a page request is about, read once from
// its descriptor (a sealed memfd) and kept while the next requests are about the same one,
// and the ocr::Analyzer, made on first use. Runs inside the confined unpack worker only.
// Private to ingest/.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "common/status.h"
#include "ocr/ocr.h"

namespace dossier::ingest::internal {

class OcrSession {
 public:
  // "<count>" pages of a document of `kind` (pdf | tiff | jpeg | png | text), or a refusal.
  // A plain-text document's pages are its text cut at line breaks (plain_text.h).
  Result<std::string> Count(File file, const std::string& kind);
  // One page's analysis as JSON (doc/FORMAT.md, "Unpack worker protocol"). `verdict_first`:
  // the verdict alone where a sample of the page's lines makes it sure, with `text_pending`
  // (ocr::Analyzer::SetVerdictFirst); asking for the page again then gives its text.
  Result<std::string> Page(File file, const std::string& kind, int page,
                           bool verdict_first = false);

 private:
  Status Load(File file);
  Result<ocr::Analyzer*> GetAnalyzer();
  const std::vector<std::string>& TextPagesOfDocument();
  Result<std::string> TextPage(int page);
  std::vector<uint8_t> bytes_;
  std::optional<std::vector<std::string>> text_pages_;  // of bytes_, once decoded
  bool loaded_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::unique_ptr<ocr::Analyzer> analyzer_;
};

}  // namespace dossier::ingest::internal
