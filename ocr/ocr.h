// Page analysis of PDFs and images: is each page printed text, handwriting, blank or
// unreadable, and what does it say? Poppler renders PDFs, qpdf finds their scanned-page
// images, Leptonica decodes and measures images, Tesseract reads them. Bytes in, analysis
// out: no vault, no files. Runs on untrusted bytes, so call it inside a worker process.
// No third-party type appears in this header. Design and measured quality: doc/OCR.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
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

// The quality HeicToJpeg writes at: a photographed page stays as legible as the HEIC, at
// about twice its size.
inline constexpr int kHeicJpegQuality = 90;

// A JPEG of a HEIC photo's primary picture, for whoever cannot open HEIC (a clinic on
// Windows): turned and mirrored as the photo's `irot`/`imir` say, so it needs no EXIF
// orientation, and with no metadata at all — the photo's EXIF (where it was taken, the
// phone) is not carried over. Refused as the analysis refuses the photo: a sequence, a
// coding libheif lacks, more than `max_pixels` declared, a damaged file. Runs on untrusted
// bytes: call it only inside a worker process.
Result<std::vector<uint8_t>> HeicToJpeg(std::span<const uint8_t> heic, int64_t max_pixels);

// "Tesseract 5.3.0, Poppler 22.12.0" — the libraries this build links.
std::string LibraryVersions();

enum class Verdict { kPrinted, kMixed, kHandwritten, kUnreadable, kBlank };
// "printed", "mixed", "handwritten", "unreadable", "blank"
const char* VerdictName(Verdict v);
// The inverse; false for anything else.
bool ParseVerdict(std::string_view name, Verdict* v);
// How bad a verdict is for a clinic, for "the worst page decides": blank < printed < mixed <
// unreadable < handwritten. A blank back side does not make a printed document blank; a
// document is blank only when every page is.
int Severity(Verdict v);

// What a verdict was based on, kept so a manager (and doc/OCR.md) can see why.
struct PageEvidence {
  int words = 0;               // words Tesseract found (or in the text layer)
  double mean_confidence = 0;  // Tesseract's word confidence, 0–100, weighted by length
  double wordlike_share = 0;   // share of words that read as real words (0–1)
  double ink_coverage = 0;     // share of the page that is ink, specks removed (0–1)
  double faint_coverage = 0;   // share that is darker than the paper at all (blur, haze)
  double text_ink_share = 0;   // share of the ink inside confidently read words (0–1)
  double line_regularity = 0;  // 0–1: how alike the text lines' heights are
  double sharpness = 0;        // mean gradient at ink edges (blurred pages score low)
  double text_height = 0;      // median height of letter-sized ink, pixels, as read
  int text_lines = 0;
  int strong_lines = 0;        // lines read with high confidence (print)
  int weak_lines = 0;          // lines read with low confidence (handwriting, smudges)
  double repeated_glyphs = 0;  // share of letter-sized ink shapes that recur near-identically
                               // (0–1): type repeats itself, a hand never does
  double on_baseline = 0;      // share of the letter-sized shapes in text lines that sit exactly on
                               // their line's baseline (0–1): type does, a hand wanders
  int wandering_lines = 0;     // text lines with under 60% of their shapes on the baseline
  double unexplained_ink = 0;  // share of the ink neither in confidently read words nor in
                               // repeated shapes (0–1): what only a hand explains
  double set_aside = 0;        // share of the page left out as pictures, borders, punch holes and
                               // rules (0–1): ink there is not text the verdict must explain
};

struct PageResult {
  int number = 0;  // 1-based
  Verdict verdict = Verdict::kBlank;
  double confidence = 0;  // 0–1: how sure the verdict is
  int rotation = 0;       // how the page was turned, degrees clockwise (0/90/180/270);
                          // it was turned back before reading
  std::string source;     // "text layer" (born-digital PDF) or "ocr"
  std::string text;       // UTF-8, as read
  PageEvidence evidence;
  // The verdict as known from a sample of the page's lines, before the page was read whole
  // (Analyzer::SetVerdictFirst); nullopt when the sample was not sure, or not taken.
  std::optional<Verdict> early_verdict;
  // The verdict is the sample's and the text is still to be read: ask for the page again.
  bool text_pending = false;
};

struct DocumentAnalysis {
  std::vector<PageResult> pages;
  Verdict verdict = Verdict::kBlank;  // the worst page's
  int page_count = 0;                 // pages in the document (some may be unanalysed)
};

// The worst verdict among `pages` (blank when there are none): "the worst page decides".
Verdict WorstVerdict(const std::vector<PageResult>& pages);
// A document rebuilt from stored (page number, verdict name) pairs, for Advice(); its verdict
// is the worst page's. A name ParseVerdict does not know counts as unreadable.
DocumentAnalysis FromVerdicts(int page_count,
                              const std::vector<std::pair<int, std::string>>& pages);

// "pages 2 and 5 look handwritten — clinics require printed conclusions; ask the clinic …"
// Empty when every page is printed or blank.
std::string Advice(const DocumentAnalysis& doc);

struct OcrOptions {
  std::filesystem::path tessdata = DefaultTessdataDir();
  std::string languages = "rus+eng";  // Tesseract's syntax
  int max_pages = 300;                // pages past this are not analysed (reported)
  int dpi = 300;                      // rendering of scanned PDF pages, body-text equivalent
  int max_image_side = 3600;          // larger photos are scaled down to this (pixels)
  // Images over this many pixels are refused before they are decoded (a 48-megapixel phone
  // photo and a 600 DPI A4 scan pass; a decompression bomb does not).
  int64_t max_image_pixels = 64'000'000;
  // Pages of at least this many text lines get their verdict from a sample of their lines
  // first (Analyzer::SetVerdictFirst); shorter ones are read whole at once. bench/ocr_eval
  // --sample-all sets 1, to check the sample's rule on every page of a set.
  int sample_min_lines = 9;
};

// One Tesseract engine (plus one for orientation). Not thread-safe: one per worker process,
// which must have OMP_THREAD_LIMIT=1 in its environment from the start.
class Analyzer {
 public:
  // kNotFound naming missing language data; kInternal if Tesseract refuses to start.
  static Result<std::unique_ptr<Analyzer>> Create(const OcrOptions& options);
  virtual ~Analyzer() = default;

  // Called after each page (for progress and per-page deadlines in the worker).
  using PageFn = std::function<void(const PageResult&)>;
  // A PDF: born-digital pages by their text layer, scanned ones (a full-page image, with or
  // without invisible text over it) by OCR of the rendered page. Pages [first, first+count).
  // kRejected for a damaged or password-protected PDF.
  virtual Result<DocumentAnalysis> AnalyzePdf(std::span<const uint8_t> pdf, int first = 1,
                                              int count = -1, const PageFn& on_page = {}) = 0;
  // JPEG, PNG, TIFF or HEIC, turned as the file says: every page of a multi-page TIFF, or
  // only page `page` (1-based) when it is not 0.
  virtual Result<DocumentAnalysis> AnalyzeImage(std::span<const uint8_t> image, int page = 0,
                                                const PageFn& on_page = {}) = 0;
  // Pages in a PDF (`pdf`) or a TIFF, without analysing them; kRejected if unreadable.
  virtual Result<int> CountPages(std::span<const uint8_t> doc, bool pdf) = 0;
  // The PDF last analysed is kept open while the same bytes are asked about again (page by
  // page). A caller that overwrites its buffer with another document says so here.
  virtual void ForgetDocument() = 0;
  // The verdict first (doc/OCR.md step 4b). On: a page of at least
  // OcrOptions::sample_min_lines lines is judged from a sample of them, and where that makes
  // the verdict sure, the page comes back at once with that verdict, `early_verdict` set,
  // no text and `text_pending`; asking for the same page of the same bytes again reads it
  // whole, from what was measured (the last kKeptPages such pages are kept; an older one is
  // decoded again). A page the sample does not make sure of is read whole at once, as
  // with it off (the default). The whole reading's verdict is the page's: it can differ from
  // the sample's, which bench/ocr_eval counts on every labelled set.
  virtual void SetVerdictFirst(bool on) = 0;
  // How many such pages are kept at once (~11 MB each for an A4 page at 300 DPI): two
  // workers keep the ten pages of a document between its verdicts and its texts.
  static constexpr size_t kKeptPages = 6;
};

// The page classifier, apart from Tesseract so it can be tested and tuned alone.
struct Classified {
  Verdict verdict;
  double confidence;
};
Classified Classify(const PageEvidence& e);

}  // namespace dossier::ocr
