#include "ingest/internal/ocr_session.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "ingest/internal/plain_text.h"

namespace dossier::ingest::internal {

Result<std::string> OcrSession::Count(File file, const std::string& kind) {
  DOSSIER_RETURN_IF_ERROR(Load(std::move(file)));
  if (kind == "text") return std::to_string(TextPagesOfDocument().size());
  if (kind == "pdf" || kind == "tiff") {
    DOSSIER_ASSIGN_OR_RETURN(ocr::Analyzer * a, GetAnalyzer());
    DOSSIER_ASSIGN_OR_RETURN(int n, a->CountPages(bytes_, kind == "pdf"));
    return std::to_string(n);
  }
  return std::string("1");
}

Result<std::string> OcrSession::Page(File file, const std::string& kind, int page,
                                     bool verdict_first) {
  // Fault injection for tests: "hang:ocr-page-N" / "abort:ocr-page-N".
  if (const char* f = std::getenv("DOSSIER_WORKER_FAULT"); f != nullptr) {
    const std::string fault = f, target = ":ocr-page-" + std::to_string(page);
    if (fault == "hang" + target) {
      for (;;) ::pause();
    }
    if (fault == "abort" + target) std::abort();
  }
  DOSSIER_RETURN_IF_ERROR(Load(std::move(file)));
  if (kind == "text") return TextPage(page);
  DOSSIER_ASSIGN_OR_RETURN(ocr::Analyzer * a, GetAnalyzer());
  // Fault injection for tests: "forge:text-pending" sends every page without its text.
  const char* fault = std::getenv("DOSSIER_WORKER_FAULT");
  const bool forge_pending = fault != nullptr && std::string_view(fault) == "forge:text-pending";
  a->SetVerdictFirst(verdict_first);
  Result<ocr::DocumentAnalysis> d =
      kind == "pdf" ? a->AnalyzePdf(bytes_, page, 1) : a->AnalyzeImage(bytes_, page);
  a->SetVerdictFirst(false);
  if (!d.ok()) return d.status();
  if (d->pages.size() != 1) return Rejected("the page could not be read");
  const ocr::PageResult& r = d->pages[0];
  const auto& e = r.evidence;
  nlohmann::json j = {{"number", r.number},
                      {"verdict", ocr::VerdictName(r.verdict)},
                      {"confidence", r.confidence},
                      {"rotation", r.rotation},
                      {"source", r.source},
                      {"text", forge_pending ? std::string() : r.text},
                      {"text_pending", r.text_pending || forge_pending},
                      {"evidence",
                       {{"words", e.words},
                        {"mean_confidence", e.mean_confidence},
                        {"wordlike_share", e.wordlike_share},
                        {"ink_coverage", e.ink_coverage},
                        {"faint_coverage", e.faint_coverage},
                        {"text_ink_share", e.text_ink_share},
                        {"line_regularity", e.line_regularity},
                        {"sharpness", e.sharpness},
                        {"text_lines", e.text_lines},
                        {"strong_lines", e.strong_lines},
                        {"weak_lines", e.weak_lines},
                        {"text_height", e.text_height},
                        {"repeated_glyphs", e.repeated_glyphs},
                        {"unexplained_ink", e.unexplained_ink},
                        {"on_baseline", e.on_baseline},
                        {"wandering_lines", e.wandering_lines},
                        {"set_aside", e.set_aside}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const std::vector<std::string>& OcrSession::TextPagesOfDocument() {
  if (!text_pages_) text_pages_ = TextPages(DecodePlainText(bytes_));
  return *text_pages_;
}

// A page of a plain-text document: its text as written, "printed" (typed text reads
// perfectly) unless it holds nothing but white space.
Result<std::string> OcrSession::TextPage(int page) {
  const auto& pages = TextPagesOfDocument();
  if (page < 1 || static_cast<size_t>(page) > pages.size()) {
    return Rejected("the page could not be read");
  }
  const std::string& text = pages[static_cast<size_t>(page) - 1];
  int words = 0;
  bool in_word = false;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\f';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  nlohmann::json j = {
      {"number", page},
      {"verdict", ocr::VerdictName(words > 0 ? ocr::Verdict::kPrinted : ocr::Verdict::kBlank)},
      {"confidence", 1.0},
      {"rotation", 0},
      {"source", "text file"},
      {"text", text},
      {"evidence", {{"words", words}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status OcrSession::Load(File file) {
  struct stat st {};
  if (::fstat(file.fd(), &st) != 0) return IoError("cannot read the document");
  if (loaded_ && st.st_dev == dev_ && st.st_ino == ino_) return Status::Ok();
  if (st.st_size > (int64_t{1} << 30)) return Rejected("larger than 1 GiB: not analysed");
  if (analyzer_) analyzer_->ForgetDocument();  // its buffer is about to hold another document
  loaded_ = false;
  bytes_.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < bytes_.size()) {
    const ssize_t n =
        ::pread(file.fd(), bytes_.data() + got, bytes_.size() - got, static_cast<off_t>(got));
    if (n <= 0) return IoError("cannot read the document");
    got += static_cast<size_t>(n);
  }
  loaded_ = true;
  text_pages_.reset();
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  return Status::Ok();
}

Result<ocr::Analyzer*> OcrSession::GetAnalyzer() {
  if (!analyzer_) {
    DOSSIER_ASSIGN_OR_RETURN(analyzer_, ocr::Analyzer::Create({}));
  }
  return analyzer_.get();
}

}  // namespace dossier::ingest::internal
