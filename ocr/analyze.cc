// The page pipeline: decode or render → grey → measure ink → orientation → OCR → evidence →
// verdict (classify.cc). See doc/OCR.md.
#define POINTERHOLDER_TRANSITION 4  // qpdf: std::shared_ptr only
#include <fmt/format.h>
#include <leptonica/allheaders.h>
#include <libexif/exif-data.h>
#include <libheif/heif.h>
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-image.h>
#include <poppler/cpp/poppler-page-renderer.h>
#include <poppler/cpp/poppler-page.h>
#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <string_view>

#include "common/encoding.h"
#include "ocr/internal/lab_codes.h"
#include "ocr/internal/pdf.h"
#include "ocr/internal/thresholds.h"
#include "ocr/ocr.h"

namespace dossier::ocr {
namespace {

struct PixDeleter {
  void operator()(PIX* p) const { pixDestroy(&p); }
};
using PixPtr = std::unique_ptr<PIX, PixDeleter>;
struct BoxDeleter {
  void operator()(BOX* b) const { boxDestroy(&b); }
};
using BoxPtr = std::unique_ptr<BOX, BoxDeleter>;

// Tesseract, Leptonica, Poppler and qpdf all like to print about hostile input; the reasons
// we return say enough.
void Silence() {
  static const bool done = [] {
    setMsgSeverity(L_SEVERITY_NONE);
    poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr);
    return true;
  }();
  (void)done;
}

// 8-bit grey, whatever the source depth; nullptr if Leptonica cannot convert it.
PixPtr ToGray(PIX* pix) {
  if (pixGetDepth(pix) == 32) return PixPtr(pixConvertRGBToLuminance(pix));
  return PixPtr(pixConvertTo8(pix, 0));
}

struct HeifContextFree {
  void operator()(heif_context* c) const { heif_context_free(c); }
};
struct HeifHandleRelease {
  void operator()(heif_image_handle* h) const { heif_image_handle_release(h); }
};
struct HeifImageRelease {
  void operator()(heif_image* i) const { heif_image_release(i); }
};

constexpr const char* kDamagedHeic = "damaged HEIC photo: it cannot be read — send it again";

// The refusal of an image with more pixels than Dossier decodes.
Status TooManyPixels(int64_t max_pixels) {
  return Rejected(fmt::format(
      "image larger than {} megapixels: not analysed — send a smaller scan (300 DPI) or photo",
      max_pixels / 1'000'000));
}

// An ISO base media file (HEIC, AVIF, MP4 …): its first box is `ftyp`.
bool IsBmff(std::span<const uint8_t> bytes) {
  return bytes.size() >= 12 && std::memcmp(bytes.data() + 4, "ftyp", 4) == 0;
}

// The primary picture of a HEIC/HEIF photo in colour (32 bpp), turned and mirrored as its
// own `irot`/`imir` boxes say (libheif applies them: an EXIF orientation inside is not applied
// again). Refused, with a reason a patient can act on: image sequences (a burst, an
// animation) with no still picture, codings libheif cannot decode, more pixels than
// `max_pixels` (checked on the declared size, before decoding), damaged or truncated files.
Result<PixPtr> DecodeHeifRgb(std::span<const uint8_t> bytes, int64_t max_pixels) {
  const std::unique_ptr<heif_context, HeifContextFree> ctx(heif_context_alloc());
  if (!ctx) return Rejected(kDamagedHeic);
  if (heif_context_read_from_memory_without_copy(ctx.get(), bytes.data(), bytes.size(), nullptr)
              .code != heif_error_Ok ||
      heif_context_get_number_of_top_level_images(ctx.get()) < 1) {
    // A sequence without a still picture (a burst, an animation: brand msf1, hevc) has
    // tracks where a photo has items, and libheif reads only items.
    const heif_brand2 brand = heif_read_main_brand(bytes.data(), static_cast<int>(bytes.size()));
    if (brand == heif_fourcc_to_brand("msf1") || brand == heif_fourcc_to_brand("hevc") ||
        brand == heif_fourcc_to_brand("hevx")) {
      return Rejected(
          "HEIC image sequence (a burst or an animation), not a photo: send one photo, or save "
          "it as JPEG");
    }
    return Rejected(kDamagedHeic);
  }
  heif_image_handle* raw_handle = nullptr;
  if (heif_context_get_primary_image_handle(ctx.get(), &raw_handle).code != heif_error_Ok) {
    return Rejected(kDamagedHeic);
  }
  const std::unique_ptr<heif_image_handle, HeifHandleRelease> handle(raw_handle);
  const int64_t w = heif_image_handle_get_ispe_width(handle.get());
  const int64_t h = heif_image_handle_get_ispe_height(handle.get());
  if (w <= 0 || h <= 0) return Rejected(kDamagedHeic);
  if (w * h > max_pixels) return TooManyPixels(max_pixels);
  heif_image* raw_image = nullptr;
  const heif_error err = heif_decode_image(handle.get(), &raw_image, heif_colorspace_RGB,
                                           heif_chroma_interleaved_RGB, nullptr);
  const std::unique_ptr<heif_image, HeifImageRelease> image(raw_image);
  if (err.code == heif_error_Unsupported_feature || err.code == heif_error_Unsupported_filetype) {
    return Rejected(
        "HEIC photo in a coding Dossier cannot decode: save it as JPEG and send it again");
  }
  if (err.code != heif_error_Ok || !image) return Rejected(kDamagedHeic);
  int stride = 0;
  const uint8_t* rgb =
      heif_image_get_plane_readonly(image.get(), heif_channel_interleaved, &stride);
  const int iw = heif_image_get_width(image.get(), heif_channel_interleaved);
  const int ih = heif_image_get_height(image.get(), heif_channel_interleaved);
  if (rgb == nullptr || iw <= 0 || ih <= 0 || 1LL * iw * ih > max_pixels) {
    return Rejected(kDamagedHeic);
  }
  PixPtr pix(pixCreate(iw, ih, 32));
  if (!pix) return Rejected("image in a format Dossier cannot read");
  l_uint32* line = pixGetData(pix.get());
  const l_int32 wpl = pixGetWpl(pix.get());
  for (int y = 0; y < ih; ++y, line += wpl) {
    const uint8_t* px = rgb + static_cast<ptrdiff_t>(y) * stride;
    for (int x = 0; x < iw; ++x, px += 3) composeRGBPixel(px[0], px[1], px[2], line + x);
  }
  return pix;
}

// The same picture as 8-bit grey, for the analysis.
Result<PixPtr> DecodeHeif(std::span<const uint8_t> bytes, int64_t max_pixels) {
  DOSSIER_ASSIGN_OR_RETURN(PixPtr rgb, DecodeHeifRgb(bytes, max_pixels));
  PixPtr gray = ToGray(rgb.get());
  if (!gray) return Rejected("image in a format Dossier cannot read");
  return gray;
}

struct ExifUnref {
  void operator()(ExifData* ed) const { exif_data_unref(ed); }
};
using ExifPtr = std::unique_ptr<ExifData, ExifUnref>;

// EXIF orientation (1–8) of a JPEG, 1 when absent.
int ExifOrientation(std::span<const uint8_t> bytes) {
  const ExifPtr ed(exif_data_new_from_data(bytes.data(), static_cast<unsigned>(bytes.size())));
  if (ed == nullptr) return 1;
  int o = 1;
  if (ExifEntry* e = exif_data_get_entry(ed.get(), EXIF_TAG_ORIENTATION);
      e != nullptr && e->format == EXIF_FORMAT_SHORT && e->components >= 1) {
    o = exif_get_short(e->data, exif_data_get_byte_order(ed.get()));
  }
  return (o >= 1 && o <= 8) ? o : 1;
}

// Applies an EXIF orientation so the picture stands as the camera's user saw it.
PixPtr ApplyExif(PixPtr pix, int orientation) {
  PIX* p = pix.get();
  PixPtr out;
  switch (orientation) {
    case 2:
      out.reset(pixFlipLR(nullptr, p));
      break;
    case 3:
      out.reset(pixRotateOrth(p, 2));
      break;
    case 4:
      out.reset(pixFlipTB(nullptr, p));
      break;
    case 5:
      out.reset(pixFlipLR(nullptr, PixPtr(pixRotateOrth(p, 1)).get()));
      break;
    case 6:
      out.reset(pixRotateOrth(p, 1));
      break;
    case 7:
      out.reset(pixFlipLR(nullptr, PixPtr(pixRotateOrth(p, 3)).get()));
      break;
    case 8:
      out.reset(pixRotateOrth(p, 3));
      break;
    default:
      return pix;
  }
  return out ? std::move(out) : std::move(pix);
}

int CountInRect(PIX* binary, l_int32 x, l_int32 y, l_int32 w, l_int32 h) {
  BoxPtr box(boxCreate(x, y, w, h));
  l_int32 n = 0;
  pixCountPixelsInRect(binary, box.get(), &n, nullptr);
  return n;
}

bool IsCyrillic(char32_t c) { return c >= 0x400 && c <= 0x52F; }
bool IsLatin(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0x24F);
}

// Does a recognised word read like a real word: letters of one script (optionally wrapped in
// punctuation), or a number, date or code? Handwriting read by an LSTM model comes out as
// mixed scripts, stray capitals and symbols.
bool WordLike(const std::string& utf8) {
  std::u32string w;
  for (size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    const int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (i + len > utf8.size()) return false;
    char32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
    w.push_back(cp);
    i += len;
  }
  // Punctuation around a word does not make it less of a word (№ only leads: "№12").
  static const std::u32string kTrailing = U".,;:!?()[]\"'«»-–—/%";
  static const std::u32string kLeading = kTrailing + U"№";
  size_t b = 0, e = w.size();
  while (b < e && kLeading.find(w[b]) != std::u32string::npos) ++b;
  while (e > b && kTrailing.find(w[e - 1]) != std::u32string::npos) --e;
  if (b == e) return false;
  int cyr = 0, lat = 0, digit = 0, other = 0, upper_inside = 0;
  for (size_t i = b; i < e; ++i) {
    const char32_t c = w[i];
    if (IsCyrillic(c)) {
      ++cyr;
      if (i > b && c >= 0x410 && c <= 0x42F) ++upper_inside;
    } else if (IsLatin(c)) {
      ++lat;
      if (i > b && c >= 'A' && c <= 'Z') ++upper_inside;
    } else if (c >= '0' && c <= '9') {
      ++digit;
    } else if (!(c == '.' || c == '-' || c == '/' || c == ',' || c == ':')) {
      ++other;
    }
  }
  const int n = static_cast<int>(e - b);
  if (other > 0) return false;
  if (digit > 0) return cyr + lat <= 2;  // 01.02.1980, L4-L5, 12мм
  if (cyr > 0 && lat > 0) return false;  // a script mix: what handwriting reads as
  const bool all_caps = upper_inside == n - 1;
  return n == 1 ? false : (upper_inside == 0 || all_caps);
}

class TessAnalyzer final : public Analyzer {
 public:
  explicit TessAnalyzer(OcrOptions o) : options_(std::move(o)) {}

  Status Init() {
    Silence();
    DOSSIER_RETURN_IF_ERROR(CheckLanguageData(options_.tessdata, Languages()));
    const std::string dir = options_.tessdata.string();
    if (ocr_.Init(dir.c_str(), options_.languages.c_str(), tesseract::OEM_LSTM_ONLY) != 0) {
      return Internal("Tesseract could not start with " + options_.languages + " from " + dir);
    }
    ocr_.SetPageSegMode(tesseract::PSM_AUTO);
    ocr_.SetVariable("debug_file", "/dev/null");
    if (osd_.Init(dir.c_str(), "osd", tesseract::OEM_TESSERACT_ONLY) != 0) {
      return Internal("Tesseract could not start orientation detection from " + dir);
    }
    osd_.SetPageSegMode(tesseract::PSM_OSD_ONLY);
    osd_.SetVariable("debug_file", "/dev/null");
    return Status::Ok();
  }

  Result<DocumentAnalysis> AnalyzePdf(std::span<const uint8_t> pdf, int first, int count,
                                      const PageFn& on_page) override {
    DOSSIER_RETURN_IF_ERROR(OpenCached(pdf));
    poppler::document* doc = pdf_.doc.get();
    const std::vector<ScanImage>& scans = pdf_.scans;
    DocumentAnalysis out;
    out.page_count = doc->pages();
    const int last = std::min(
        {out.page_count, count < 0 ? out.page_count : first - 1 + count, options_.max_pages});
    for (int n = std::max(1, first); n <= last; ++n) {
      page_key_ = PageKey(pdf, pdf_.hash, n);
      std::optional<PageResult> kept = FromKept(page_key_);
      std::unique_ptr<poppler::page> page;
      if (!kept) {
        page.reset(doc->create_page(n - 1));
        if (!page) continue;
      }
      PageResult r = kept ? std::move(*kept) : AnalyzePdfPage(*page, scans[n - 1]);
      r.number = n;
      if (on_page) on_page(r);
      out.pages.push_back(std::move(r));
    }
    Finish(out);
    return out;
  }

  Result<int> CountPages(std::span<const uint8_t> bytes, bool pdf) override {
    if (pdf) {  // kept open: the pages are asked for next
      DOSSIER_RETURN_IF_ERROR(OpenCached(bytes));
      return std::min(pdf_.doc->pages(), options_.max_pages);
    }
    l_int32 n = 0;
    FILE* f = fmemopen(const_cast<uint8_t*>(bytes.data()), bytes.size(), "rb");
    const bool counted = f != nullptr && tiffGetCount(f, &n) == 0;
    if (f != nullptr) std::fclose(f);
    if (!counted || n < 1) {
      return Rejected("damaged TIFF image: it cannot be read — send it again");
    }
    return std::min(static_cast<int>(n), options_.max_pages);
  }

  Result<DocumentAnalysis> AnalyzeImage(std::span<const uint8_t> bytes, int only,
                                        const PageFn& on_page) override {
    const size_t hash = EndsHash(bytes);
    if (only != 0) {  // the text of a page whose verdict came first is read without decoding
      if (std::optional<PageResult> kept = FromKept(PageKey(bytes, hash, only))) {
        DocumentAnalysis out;
        out.page_count = 0;  // not counted again: the caller asked for one page it knows
        kept->number = only;
        if (on_page) on_page(*kept);
        out.pages.push_back(std::move(*kept));
        Finish(out);
        return out;
      }
    }
    std::vector<PixPtr> pages;  // decoded: pages first, first + 1, …
    int first = 1, page_count = 0;
    l_int32 format = IFF_UNKNOWN;
    if (IsBmff(bytes)) {
      DOSSIER_ASSIGN_OR_RETURN(PixPtr gray, DecodeHeif(bytes, options_.max_image_pixels));
      pages.push_back(std::move(gray));
    } else if (bytes.size() < 12 || findFileFormatBuffer(bytes.data(), &format) != 0) {
      return Rejected("not an image Dossier can read (JPEG, PNG, TIFF or HEIC)");
    } else if (l_int32 w = 0, h = 0; pixReadHeaderMem(bytes.data(), bytes.size(), nullptr, &w, &h,
                                                      nullptr, nullptr, nullptr) == 0 &&
                                     1LL * w * h > options_.max_image_pixels) {
      // The declared size, before a byte is decoded: a decompression bomb stops here.
      return TooManyPixels(options_.max_image_pixels);
    } else if (L_FORMAT_IS_TIFF(format) && only != 0) {
      // One page asked (ingest asks page by page): that page alone is decoded, after its own
      // declared size. Decoding every page for each made a 50-page fax quadratic.
      l_int32 w = 0, h = 0, bps = 0, spp = 0, res = 0, cmap = 0, tiff_format = 0;
      if (readHeaderMemTiff(bytes.data(), bytes.size(), only - 1, &w, &h, &bps, &spp, &res, &cmap,
                            &tiff_format) != 0) {
        return Rejected("damaged TIFF image: it cannot be read — send it again");
      }
      if (1LL * w * h > options_.max_image_pixels) return TooManyPixels(options_.max_image_pixels);
      PixPtr pix(pixReadMemTiff(bytes.data(), bytes.size(), only - 1));
      if (!pix) return Rejected("damaged TIFF image: it cannot be read — send it again");
      pages.push_back(std::move(pix));
      first = only;
      DOSSIER_ASSIGN_OR_RETURN(page_count, CountPages(bytes, /*pdf=*/false));
    } else if (L_FORMAT_IS_TIFF(format)) {
      PIXA* pixa = pixaReadMemMultipageTiff(bytes.data(), bytes.size());
      if (pixa == nullptr || pixaGetCount(pixa) == 0) {
        pixaDestroy(&pixa);
        return Rejected("damaged TIFF image: it cannot be read — send it again");
      }
      for (l_int32 i = 0; i < pixaGetCount(pixa); ++i)
        pages.emplace_back(pixaGetPix(pixa, i, L_COPY));
      pixaDestroy(&pixa);
    } else {
      PixPtr pix(pixReadMem(bytes.data(), bytes.size()));
      if (!pix) return Rejected("damaged image: it cannot be read — send it again");
      if (format == IFF_JFIF_JPEG) pix = ApplyExif(std::move(pix), ExifOrientation(bytes));
      pages.push_back(std::move(pix));
    }
    DocumentAnalysis out;
    out.page_count = page_count > 0 ? page_count : static_cast<int>(pages.size());
    for (size_t i = 0; i < pages.size(); ++i) {
      const int number = first + static_cast<int>(i);
      if (number > options_.max_pages) break;
      if (only != 0 && number != only) continue;
      PixPtr gray = ToGray(pages[i].get());
      if (!gray) return Rejected("image in a format Dossier cannot read");
      int dpi = pixGetXRes(pages[i].get());
      const int side = std::max(pixGetWidth(gray.get()), pixGetHeight(gray.get()));
      if (dpi < 70 || dpi > 1200) dpi = std::max(72, static_cast<int>(side / 11.7));  // as A4
      if (side > options_.max_image_side) {  // a phone photo: more pixels than OCR needs
        const float f = static_cast<float>(options_.max_image_side) / static_cast<float>(side);
        gray.reset(pixScaleAreaMap(gray.get(), f, f));
        dpi = static_cast<int>(dpi * f);
      }
      page_key_ = PageKey(bytes, hash, number);
      PageResult r = AnalyzeGray(gray.get(), dpi);
      r.number = number;
      if (on_page) on_page(r);
      out.pages.push_back(std::move(r));
    }
    Finish(out);
    return out;
  }

 private:
  struct ScanImage {
    bool full_page = false;  // an image covering the page, as a scanner makes
    double dpi = 0;          // its resolution over the page
  };

  std::vector<std::string> Languages() const {
    std::vector<std::string> langs;
    for (size_t b = 0; b <= options_.languages.size();) {
      const size_t e = std::min(options_.languages.find('+', b), options_.languages.size());
      if (e > b) langs.push_back(options_.languages.substr(b, e - b));
      b = e + 1;
    }
    langs.push_back("osd");
    return langs;
  }

  // Which pages carry a full-page image (a scan), found with qpdf. A page with a text layer
  // over such an image is judged by the image: scanner software adds invisible text.
  static std::vector<ScanImage> FindScanImages(std::span<const uint8_t> pdf, int pages) {
    std::vector<ScanImage> out(static_cast<size_t>(pages));
    try {
      QPDF q;
      q.setSuppressWarnings(true);
      q.processMemoryFile("upload.pdf", reinterpret_cast<const char*>(pdf.data()), pdf.size());
      int n = 0;
      for (auto& page : QPDFPageDocumentHelper(q).getAllPages()) {
        if (n >= pages) break;
        const auto box = page.getMediaBox().getArrayAsRectangle();
        const double w_in = std::abs(box.urx - box.llx) / 72.0;
        const double h_in = std::abs(box.ury - box.lly) / 72.0;
        ScanImage& s = out[static_cast<size_t>(n++)];
        if (w_in < 0.5 || h_in < 0.5) continue;
        page.forEachImage(true, [&](QPDFObjectHandle& img, QPDFObjectHandle&, const std::string&) {
          auto dict = img.getDict();
          if (!dict.getKey("/Width").isInteger() || !dict.getKey("/Height").isInteger()) return;
          const double iw = static_cast<double>(dict.getKey("/Width").getIntValue());
          const double ih = static_cast<double>(dict.getKey("/Height").getIntValue());
          // The same shape as the page (either way round) and at least 40 DPI over it: a
          // coarse scan is still a scan, read at its own resolution.
          for (const auto& [pw, ph] : {std::pair{w_in, h_in}, std::pair{h_in, w_in}}) {
            const double aspect = (iw / ih) / (pw / ph);
            if (aspect > 0.85 && aspect < 1.18 && iw / pw >= 40 && ih / ph >= 40) {
              s.full_page = true;
              s.dpi = std::max(s.dpi, iw / pw);
            }
          }
        });
      }
    } catch (const std::exception&) {
      // Poppler opened it; without qpdf's view, a page with a text layer counts as text.
    }
    return out;
  }

  PageResult AnalyzePdfPage(poppler::page& page, const ScanImage& scan) {
    const poppler::byte_array utf8 = page.text().to_utf8();
    std::string text(utf8.begin(), utf8.end());
    size_t letters = 0;
    for (unsigned char c : text) letters += (c > ' ');
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    if (!scan.full_page && letters >= 3) {
      // Born-digital: the text layer is what the page says, and it is printed by definition.
      PageResult r;
      r.source = "text layer";
      r.verdict = Verdict::kPrinted;
      r.confidence = 0.99;
      for (size_t i = 0; i < text.size();) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        if (i < text.size()) ++r.evidence.words;
        while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
      }
      r.evidence.wordlike_share = 1;
      r.evidence.mean_confidence = 100;
      r.text = std::move(text);
      return r;
    }
    // A scan is rendered at its own resolution (no finer than 300 DPI), so its pixels are the
    // scanner's, and read like an image file: small letters are scaled up there, as for a
    // JPEG. A page of drawings or vector text without a text layer is rendered at 300 DPI.
    const double dpi = scan.full_page ? std::min(scan.dpi, 1.0 * options_.dpi) : 1.0 * options_.dpi;
    poppler::page_renderer renderer;
    renderer.set_image_format(poppler::image::format_gray8);
    renderer.set_render_hint(poppler::page_renderer::antialiasing, true);
    renderer.set_render_hint(poppler::page_renderer::text_antialiasing, true);
    const poppler::image img = renderer.render_page(&page, dpi, dpi);
    PixPtr pix(img.is_valid() && img.width() >= 16 && img.height() >= 16
                   ? pixCreate(img.width(), img.height(), 8)
                   : nullptr);
    if (!pix) {
      PageResult r;
      r.source = "ocr";
      r.verdict = Verdict::kUnreadable;
      r.confidence = 0.5;
      return r;
    }
    l_uint32* data = pixGetData(pix.get());
    const l_int32 wpl = pixGetWpl(pix.get());
    for (int y = 0; y < img.height(); ++y) {
      const auto* src = reinterpret_cast<const uint8_t*>(img.const_data()) +
                        static_cast<ptrdiff_t>(y) * img.bytes_per_row();
      l_uint32* line = data + static_cast<ptrdiff_t>(y) * wpl;
      for (int x = 0; x < img.width(); ++x) SET_DATA_BYTE(line, x, src[x]);
    }
    return AnalyzeGray(pix.get(), static_cast<int>(dpi));
  }

  // Faint print (a carbon copy, a pale photocopy) on a page flattened to 200: grey structure
  // over the page but hardly a dark pixel. Its contrast stretched, so that its letters count
  // as ink whole, not as their darkest specks; null for any other page (a blank sheet has no
  // structure; a page with dark print needs no stretch).
  static PixPtr StretchFaint(PIX* flat) {
    const double area = 1.0 * pixGetWidth(flat) * pixGetHeight(flat);
    PixPtr grey(pixThresholdToBinary(flat, 175));
    l_int32 grey_pixels = 0;
    if (grey) pixCountPixels(grey.get(), &grey_pixels, nullptr);
    l_uint32 darkest = 0;  // the darkest 0.2% of the page
    if (grey_pixels / area < kStructure || pixGetRankValue(flat, 1, 0.002f, &darkest) != 0 ||
        darkest <= 100) {
      return nullptr;
    }
    return PixPtr(pixGammaTRC(nullptr, flat, 1.0f, static_cast<l_int32>(darkest) - 20, 210));
  }

  // The median height of the letter-sized blobs of ink (pixels), 0 if there are too few,
  // kSmallestLetter - 1 for a crowd of shapes too small to be letters. Faint print breaks into such
  // specks at the ink threshold: a faint page whose specks look like that is measured again
  // stretched.
  static double TextHeight(PIX* gray) {
    PixPtr flat(pixBackgroundNormSimple(gray, nullptr, nullptr));
    if (!flat) return 0;
    const double height = BlobHeight(flat.get());
    if (height != kSmallestLetter - 1) return height;
    PixPtr stretched = StretchFaint(flat.get());
    return stretched ? BlobHeight(stretched.get()) : height;
  }

  // TextHeight on a page flattened to 200.
  static double BlobHeight(PIX* flat) {
    PixPtr bin(pixThresholdToBinary(flat, 130));
    if (!bin) return 0;
    BOXA* boxa = pixConnComp(bin.get(), nullptr, 8);
    if (boxa == nullptr) return 0;
    std::vector<l_int32> heights, tiny;
    for (l_int32 i = 0; i < boxaGetCount(boxa) && heights.size() < 20000; ++i) {
      l_int32 x, y, w, h;
      if (boxaGetBoxGeometry(boxa, i, &x, &y, &w, &h) != 0 || h > 300 || w > 4 * h) continue;
      if (h >= kSmallestLetter) heights.push_back(h);
      if (h >= 2 && h < kSmallestLetter) tiny.push_back(h);
    }
    boxaDestroy(&boxa);
    // Hardly a letter of 4 px but a crowd of smaller shapes: text too small to read (a
    // photo from across the room), not a page without text.
    if (heights.size() < 20 && tiny.size() >= 20 && tiny.size() > 2 * heights.size()) {
      return kSmallestLetter - 1;
    }
    if (heights.size() < 20) return 0;
    std::nth_element(heights.begin(), heights.begin() + heights.size() / 2, heights.end());
    return heights[heights.size() / 2];
  }

  // What Tesseract read of one page image, and how well.
  struct Reading {
    std::string text;
    int words = 0, wordlike = 0;
    double conf_sum = 0, conf_weight = 0;
    l_int32 confident_ink = 0;    // ink pixels inside words read with confidence ≥ 70
    l_int32 unexplained_ink = 0;  // ink neither in such words nor in repeated shapes
    int wandering_lines = 0;
    int shapes = 0, shapes_on_baseline = 0;  // letter-sized shapes in lines, and those on
                                             // their line's baseline
    size_t good_letters = 0;                 // bytes of word-like words read with confidence ≥ 70
    int text_lines = 0, strong_lines = 0, weak_lines = 0;
    std::vector<double> heights;  // of the lines that did not read weakly
  };

  // Counts the shapes of ink in one text line (box x, y, w, h of `ink`) that are at least a
  // third of its height, and those whose bottom sits on the line's baseline: a straight line
  // fitted to the bottoms, refitted without those far off it (descenders, commas). Type sits
  // on one baseline, old or coarse type too; a hand's words and letters wander off it.
  // Returns whether the line wanders: under 60% of its shapes on its baseline.
  static bool OnBaseline(PIX* ink, l_int32 x, l_int32 y, l_int32 w, l_int32 h, int* shapes,
                         int* on) {
    if (w < 8 || h < 8) return false;
    BoxPtr box(boxCreate(x, y, w, h));
    PixPtr line(pixClipRectangle(ink, box.get(), nullptr));
    BOXA* boxa = line ? pixConnComp(line.get(), nullptr, 8) : nullptr;
    std::vector<std::pair<double, double>> pts;  // (centre x, bottom y)
    for (l_int32 i = 0; boxa != nullptr && i < boxaGetCount(boxa); ++i) {
      l_int32 bx, by, bw, bh;
      if (boxaGetBoxGeometry(boxa, i, &bx, &by, &bw, &bh) == 0 && 3 * bh >= h) {
        pts.emplace_back(bx + bw / 2.0, by + bh);
      }
    }
    boxaDestroy(&boxa);
    if (pts.size() < 4) return false;
    const double tol = std::max(2.0, 0.06 * h);
    std::vector<bool> use(pts.size(), true);
    double a = 0, b = 0;  // bottom = a + b·x
    for (int round = 0; round < 3; ++round) {
      double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
      for (size_t i = 0; i < pts.size(); ++i) {
        if (!use[i]) continue;
        const auto [px, py] = pts[i];
        n += 1, sx += px, sy += py, sxx += px * px, sxy += px * py;
      }
      if (n < 2) break;
      const double d = n * sxx - sx * sx;
      b = std::abs(d) > 1e-9 ? (n * sxy - sx * sy) / d : 0;
      a = (sy - b * sx) / n;
      // Keep the shapes near the fit; the bottoms of descenders and of wandering words go.
      const double keep = round == 0 ? 4 * tol : 2 * tol;
      for (size_t i = 0; i < pts.size(); ++i) {
        use[i] = std::abs(pts[i].second - (a + b * pts[i].first)) <= keep;
      }
    }
    int here = 0;
    for (const auto& [px, py] : pts) here += std::abs(py - (a + b * px)) <= tol;
    *shapes += static_cast<int>(pts.size());
    *on += here;
    return here < 0.6 * static_cast<double>(pts.size());
  }

  // Reads `page` (8-bit grey at `dpi`) with Tesseract; `ink` is the same page's ink and
  // `repeated` its repeated shapes, turned the same way, to measure how much of the ink the
  // words explain, and how much neither they nor type do. Leaves the engine cleared.
  Reading Read(PIX* page, int dpi, PIX* ink, PIX* repeated, bool for_text = true) {
    Reading out;
    PixPtr words(pixCreate(pixGetWidth(ink), pixGetHeight(ink), 1));
    ocr_.SetImage(page);
    ocr_.SetSourceResolution(dpi);
    if (ocr_.Recognize(nullptr) != 0) {
      ocr_.Clear();
      return out;
    }
    std::unique_ptr<char[]> text(ocr_.GetUTF8Text());
    if (text) out.text = text.get();
    while (!out.text.empty() && std::isspace(static_cast<unsigned char>(out.text.back()))) {
      out.text.pop_back();
    }
    std::vector<ReadWord> read_words;
    std::unique_ptr<tesseract::ResultIterator> it(ocr_.GetIterator());
    if (it) {
      do {
        std::unique_ptr<char[]> word(it->GetUTF8Text(tesseract::RIL_WORD));
        if (!word || word[0] == '\0') continue;
        ReadWord& rw = read_words.emplace_back();
        rw.text = word.get();
        if (it->BoundingBox(tesseract::RIL_WORD, &rw.x1, &rw.y1, &rw.x2, &rw.y2)) rw.boxed = true;
        const float conf = it->Confidence(tesseract::RIL_WORD);
        const size_t len = std::strlen(word.get());
        ++out.words;
        out.conf_sum += conf * static_cast<double>(len);
        out.conf_weight += static_cast<double>(len);
        const bool like = WordLike(word.get());
        if (conf >= 50 && like) ++out.wordlike;
        if (conf >= 70 && like) out.good_letters += len;
        int x1, y1, x2, y2;
        if (conf >= 70 && it->BoundingBox(tesseract::RIL_WORD, &x1, &y1, &x2, &y2)) {
          out.confident_ink += CountInRect(ink, x1, y1, x2 - x1, y2 - y1);
          BoxPtr b(boxCreate(x1, y1, x2 - x1, y2 - y1));
          if (words) pixSetInRect(words.get(), b.get());
        }
      } while (it->Next(tesseract::RIL_WORD));
    }
    if (words) {
      PixPtr rest(pixSubtract(nullptr, ink, words.get()));
      if (rest) {
        pixSubtract(rest.get(), rest.get(), repeated);
        pixCountPixels(rest.get(), &out.unexplained_ink, nullptr);
      }
    }
    // Lines: printed lines are alike in height; handwritten ones read with low confidence.
    std::unique_ptr<tesseract::ResultIterator> lines(ocr_.GetIterator());
    if (lines) {
      do {
        int x1, y1, x2, y2;
        if (!lines->BoundingBox(tesseract::RIL_TEXTLINE, &x1, &y1, &x2, &y2)) continue;
        std::unique_ptr<char[]> t(lines->GetUTF8Text(tesseract::RIL_TEXTLINE));
        if (!t || std::strlen(t.get()) < 2) continue;
        ++out.text_lines;
        out.wandering_lines +=
            OnBaseline(ink, x1, y1, x2 - x1, y2 - y1, &out.shapes, &out.shapes_on_baseline);
        const float conf = lines->Confidence(tesseract::RIL_TEXTLINE);
        if (conf < 60) {
          ++out.weak_lines;
        } else {
          out.heights.push_back(y2 - y1);
          if (conf >= 85) ++out.strong_lines;
        }
      } while (lines->Next(tesseract::RIL_TEXTLINE));
    }
    ocr_.Clear();
    if (for_text) out.text = RestoreLabCodes(page, dpi, std::move(out.text), read_words);
    return out;
  }

  struct ReadWord {
    std::string text;
    int x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    bool boxed = false;
  };

  // `text`, read from `page` as `words`, with the laboratory codes read as Cyrillic put back
  // into Latin (internal/lab_codes.h), words of capitals read again with the English model
  // alone where that could tell; and "×" for an x before "10^".
  std::string RestoreLabCodes(PIX* page, int dpi, std::string text,
                              const std::vector<ReadWord>& words) {
    std::vector<std::string> latin(words.size());
    bool english_set = false;
    for (size_t i = 0; i < words.size(); ++i) {
      const auto w = internal::SplitCapsWord(words[i].text);
      if (!w) continue;
      std::string code = internal::LatinCode(*w);
      if (code.empty() && internal::WorthReadingAgain(*w) && words[i].boxed && English()) {
        if (!english_set) {
          english_.SetImage(page);
          english_.SetSourceResolution(dpi);
          english_set = true;
        }
        const int pad = std::max(2, (words[i].y2 - words[i].y1) / 4);
        const int x = std::max(0, words[i].x1 - pad), y = std::max(0, words[i].y1 - pad);
        english_.SetRectangle(x, y, words[i].x2 + pad - x, words[i].y2 + pad - y);
        std::unique_ptr<char[]> again(english_.GetUTF8Text());
        if (again) code = internal::LatinCode(*w, Trimmed(again.get()));
      }
      if (!code.empty()) latin[i] = w->lead + code + w->trail;
    }
    if (english_set) english_.Clear();
    // Words come in the order of the text: each is found from where the last one ended.
    size_t at = 0;
    for (size_t i = 0; i < words.size(); ++i) {
      const size_t found = text.find(words[i].text, at);
      if (found == std::string::npos) continue;
      if (latin[i].empty()) {
        at = found + words[i].text.size();
      } else {
        text.replace(found, words[i].text.size(), latin[i]);
        at = found + latin[i].size();
      }
    }
    return internal::MultiplicationSigns(std::move(text));
  }

  static std::string Trimmed(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string(s);
  }

  // The English model alone, for words read again; started on first use. False when the
  // configured languages have no English, or it cannot start (words are then left as read).
  bool English() {
    if (english_state_ == 0) {
      english_state_ = -1;
      if (options_.languages.find("eng") == std::string::npos) return false;
      const std::string dir = options_.tessdata.string();
      if (english_.Init(dir.c_str(), "eng", tesseract::OEM_LSTM_ONLY) != 0) return false;
      english_.SetPageSegMode(tesseract::PSM_SINGLE_WORD);
      english_.SetVariable("debug_file", "/dev/null");
      english_state_ = 1;
    }
    return english_state_ == 1;
  }

  // Ink the verdict need not explain, as a 1-bit mask the size of `ink`: pictures (photos,
  // halftones, ultrasound images, logos), black scanner borders and bands, punch holes, and
  // long thin strokes (table rules, ECG traces, frames). `flat` is the grey page with its
  // paper flattened to 200, `th` the letters' height in pixels (0: unknown).
  static PixPtr SetAsideMask(PIX* flat, PIX* ink, int dpi, double th) {
    const l_int32 W = pixGetWidth(ink), H = pixGetHeight(ink);
    PixPtr mask(pixCreate(W, H, 1));
    if (!mask) return mask;
    if (th <= 0) th = dpi / 10.0;  // about 11 pt print
    const double mm = dpi / 25.4;
    const auto pad = static_cast<l_int32>(std::max(2.0, th / 3));
    const auto set_box = [&](l_int32 x, l_int32 y, l_int32 w, l_int32 h) {
      BoxPtr b(boxCreate(std::max(0, x - pad), std::max(0, y - pad), w + 2 * pad, h + 2 * pad));
      pixSetInRect(mask.get(), b.get());
    };

    // 1. Straight rules (tables, form lines, frames), by opening with a bar longer than any
    // letter: a handwritten word that touches a form's line keeps its ink.
    const auto bar = static_cast<l_int32>(std::max(8 * th, 10 * mm));
    PixPtr rules(pixOpenBrick(nullptr, ink, bar, 1));
    PixPtr vrules(pixOpenBrick(nullptr, ink, 1, bar));
    if (!rules || !vrules) return PixPtr();
    pixOr(rules.get(), rules.get(), vrules.get());
    PixPtr rest(pixSubtract(nullptr, ink, rules.get()));
    if (!rest) return PixPtr();
    pixOr(mask.get(), mask.get(), rules.get());

    // 2. Connected pieces of the rest too large to be letters or handwritten words.
    PIXA* pixa = nullptr;
    BOXA* boxa = pixConnCompPixa(rest.get(), &pixa, 8);
    for (l_int32 i = 0; boxa != nullptr && i < boxaGetCount(boxa); ++i) {
      l_int32 x, y, w, h;
      if (boxaGetBoxGeometry(boxa, i, &x, &y, &w, &h) != 0 || w < 4 || h < 4) continue;
      PixPtr piece(pixaGetPix(pixa, i, L_CLONE));
      l_int32 n = 0;
      pixCountPixels(piece.get(), &n, nullptr);
      const double fill = 1.0 * n / (1.0 * w * h);
      const bool touches = x <= 1 || y <= 1 || x + w >= W - 1 || y + h >= H - 1;
      const bool big = w > 20 * th || h > 6 * th;
      const bool edge_band = touches && (w > W / 8 || h > H / 8);
      // A punch hole: round, 4–9 mm across, its centre within 35 mm of an edge.
      const double cx = x + w / 2.0, cy = y + h / 2.0;
      const bool near_edge = std::min({cx, cy, W - cx, H - cy}) < 35 * mm;
      const bool hole =
          w >= 4 * mm && w <= 9 * mm && h >= 0.8 * w && h <= 1.25 * w && fill >= 0.55 && near_edge;
      if (hole) {
        set_box(x, y, w, h);
      } else if (big || edge_band) {  // its own pixels: a tablecloth around the page is a ring
        pixRasterop(mask.get(), x, y, w, h, PIX_SRC | PIX_DST, piece.get(), 0, 0);
      }
    }
    pixaDestroy(&pixa);
    boxaDestroy(&boxa);

    // 3. Pictures in grey tones: areas that stay dark-to-mid grey when every stroke a letter
    // could have is opened away (0.6 mm, or a third of the letters' height for large or
    // blurred type), mostly solid, and at least 5 letters tall and wide.
    PixPtr tone(pixThresholdToBinary(flat, 175));
    const auto brick = static_cast<l_int32>(std::max({3.0, 0.6 * mm, th / 3}));
    PixPtr solid(tone ? pixOpenBrick(nullptr, tone.get(), brick, brick) : nullptr);
    if (solid) {
      const auto join = static_cast<l_int32>(std::max(3.0, 2 * mm));
      PixPtr joined(pixCloseBrick(nullptr, solid.get(), join, join));
      PIXA* pieces = nullptr;
      BOXA* areas = joined ? pixConnCompPixa(joined.get(), &pieces, 8) : nullptr;
      for (l_int32 i = 0; areas != nullptr && i < boxaGetCount(areas); ++i) {
        l_int32 x, y, w, h;
        if (boxaGetBoxGeometry(areas, i, &x, &y, &w, &h) != 0 || w <= 5 * th || h <= 5 * th) {
          continue;
        }
        if (CountInRect(solid.get(), x, y, w, h) < 0.25 * w * h) continue;
        PixPtr piece(pixaGetPix(pieces, i, L_CLONE));
        pixRasterop(mask.get(), x, y, w, h, PIX_SRC | PIX_DST, piece.get(), 0, 0);
      }
      boxaDestroy(&areas);
      pixaDestroy(&pieces);
    }

    // 4. Halftones and dithered pictures (many dots, no solid mass), found by Leptonica.
    if (dpi >= 150 && dpi <= 600) {
      l_int32 found = 0;
      PixPtr ht(pixGenerateHalftoneMask(ink, nullptr, &found, nullptr));
      if (ht && found) pixOr(mask.get(), mask.get(), ht.get());
    }
    // With a margin: the soft rim of a photo or a band is not text either.
    return PixPtr(pixDilateBrick(nullptr, mask.get(), 2 * pad + 1, 2 * pad + 1));
  }

  // The letter-sized shapes of `ink` that recur near-identically on the page (Leptonica's
  // JBIG2 correlation classer, as a compressor finds repeated symbols), as a 1-bit mask the
  // size of `ink`, and their share of those shapes. Print repeats every letter of its
  // typeface; a hand never draws one twice the same. Independent of whether Tesseract knows
  // the language or the typeface.
  static PixPtr RepeatedGlyphs(PIX* ink, double th, double* share) {
    *share = 0;
    PixPtr mask(pixCreate(pixGetWidth(ink), pixGetHeight(ink), 1));
    if (!mask || th <= 0) return mask;
    const auto lo = static_cast<l_int32>(std::max(3.0, 0.4 * th));  // not dots and commas
    const auto hi = static_cast<l_int32>(3 * th);
    PixPtr letters(pixSelectBySize(ink, lo, lo, 8, L_SELECT_HEIGHT, L_SELECT_IF_GTE, nullptr));
    BOXA* boxa = nullptr;
    PIXA* pixa = nullptr;
    JBCLASSER* c = jbCorrelationInit(JB_CONN_COMPS, hi, hi, 0.8f, 0.6f);
    if (letters && c != nullptr &&
        jbGetComponents(letters.get(), JB_CONN_COMPS, hi, hi, &boxa, &pixa) == 0 &&
        jbAddPageComponents(c, letters.get(), boxa, pixa) == 0 && c->naclass != nullptr &&
        numaGetCount(c->naclass) == boxaGetCount(boxa) && boxaGetCount(boxa) >= 20) {
      const l_int32 n = boxaGetCount(boxa);
      std::vector<int> members(static_cast<size_t>(c->nclass), 0);
      std::vector<l_int32> cls(static_cast<size_t>(n), -1);
      for (l_int32 i = 0; i < n; ++i) {
        numaGetIValue(c->naclass, i, &cls[static_cast<size_t>(i)]);
        const l_int32 k = cls[static_cast<size_t>(i)];
        if (k >= 0 && k < c->nclass) ++members[static_cast<size_t>(k)];
      }
      int repeated = 0;
      for (l_int32 i = 0; i < n; ++i) {
        const l_int32 k = cls[static_cast<size_t>(i)];
        if (k < 0 || k >= c->nclass || members[static_cast<size_t>(k)] < 3) continue;
        ++repeated;
        l_int32 x, y, w, h;
        boxaGetBoxGeometry(boxa, i, &x, &y, &w, &h);
        PixPtr piece(pixaGetPix(pixa, i, L_CLONE));
        pixRasterop(mask.get(), x, y, w, h, PIX_SRC | PIX_DST, piece.get(), 0, 0);
      }
      *share = 1.0 * repeated / n;
    }
    boxaDestroy(&boxa);
    pixaDestroy(&pixa);
    jbClasserDestroy(&c);
    return mask;
  }

  // The evidence of `reading`, over `ink_pixels` of ink, into `e`.
  static void TakeReading(Reading& reading, l_int32 ink_pixels, PageEvidence& e) {
    e.words = reading.words;
    e.mean_confidence = reading.conf_weight > 0 ? reading.conf_sum / reading.conf_weight : 0;
    e.wordlike_share = e.words > 0 ? 1.0 * reading.wordlike / e.words : 0;
    e.text_ink_share = ink_pixels > 0 ? std::min(1.0, 1.0 * reading.confident_ink / ink_pixels) : 0;
    e.wandering_lines = reading.wandering_lines;
    e.on_baseline = reading.shapes > 0 ? 1.0 * reading.shapes_on_baseline / reading.shapes : 0;
    e.unexplained_ink = ink_pixels > 0 ? 1.0 * reading.unexplained_ink / ink_pixels : 0;
    e.text_lines = reading.text_lines;
    e.strong_lines = reading.strong_lines;
    e.weak_lines = reading.weak_lines;
    std::vector<double>& heights = reading.heights;
    e.line_regularity = 0;
    if (heights.size() >= 2) {
      std::sort(heights.begin(), heights.end());
      const double median = heights[heights.size() / 2];
      double dev = 0;
      for (double h : heights) dev += std::abs(h - median);
      e.line_regularity = std::max(0.0, 1.0 - dev / heights.size() / std::max(1.0, median));
    } else if (heights.size() == 1) {
      e.line_regularity = 1;
    }
  }

  // The rows of text lines in `ink` (1 bpp), top to bottom, from its horizontal projection:
  // runs of rows with ink at least `min_height` tall, gaps under a third of `th` closed.
  static std::vector<std::pair<int, int>> TextRows(PIX* ink, double th) {
    std::vector<std::pair<int, int>> rows;
    NUMA* counts = pixCountPixelsByRow(ink, nullptr);
    if (!counts) return rows;
    const int h = numaGetCount(counts);
    const int w = pixGetWidth(ink);
    const int min_ink = std::max(3, w / 400);  // a few letters' worth across the row
    const int gap = std::max(1, static_cast<int>(th / 3));
    int start = -1, last = -1;
    for (int y = 0; y < h; ++y) {
      l_int32 n = 0;
      numaGetIValue(counts, y, &n);
      if (n >= min_ink) {
        if (start < 0 || y - last > gap) {
          if (start >= 0) rows.emplace_back(start, last + 1);
          start = y;
        }
        last = y;
      }
    }
    if (start >= 0) rows.emplace_back(start, last + 1);
    numaDestroy(&counts);
    const double min_height = std::max(4.0, th / 2);
    std::erase_if(rows, [&](const auto& r) { return r.second - r.first < min_height; });
    return rows;
  }

  // The verdict from a sample of the page's lines (doc/OCR.md step 4b): a band of
  // kSampleLines text lines from the middle of the page, read alone. Known only when it is
  // sure: the band reads as print, nothing was set aside (no form's rules, no picture), and
  // the rest of the page's ink is as much type as the band's (repeated shapes), so nothing a
  // hand wrote hides outside it. Nullopt otherwise
  // (the full reading decides), and for a page of fewer than OcrOptions::sample_min_lines
  // lines (reading it all is about as quick).
  std::optional<Classified> SampleVerdict(PIX* gray, int dpi, PIX* ink, PIX* repeated,
                                          const PageEvidence& page) {
    // A form (its rules set aside) is where print and a hand meet: never sure from a sample.
    if (page.set_aside >= kNoRules) return std::nullopt;
    const auto rows = TextRows(ink, page.text_height > 0 ? page.text_height : dpi / 10.0);
    if (rows.empty() || static_cast<int>(rows.size()) < options_.sample_min_lines) {
      return std::nullopt;
    }
    const size_t n = std::min<size_t>(rows.size(), kSampleLines);
    const size_t first = (rows.size() - n) / 2;
    const size_t last = first + n - 1;
    const int pad = std::max(2, (rows[last].second - rows[first].first) / static_cast<int>(n) / 2);
    const int top = std::max(0, rows[first].first - pad);
    const int bottom = std::min(pixGetHeight(gray), rows[last].second + pad);
    BoxPtr band(boxCreate(0, top, pixGetWidth(gray), bottom - top));
    PixPtr band_gray(pixClipRectangle(gray, band.get(), nullptr));
    PixPtr band_ink(pixClipRectangle(ink, band.get(), nullptr));
    PixPtr band_repeated(pixClipRectangle(repeated, band.get(), nullptr));
    if (!band_gray || !band_ink || !band_repeated) return std::nullopt;
    // Letters of the lines above and below that reach into the band (a page a little askew)
    // are painted over: slivers read as garbage.
    {
      PixPtr inner(pixRemoveBorderConnComps(band_ink.get(), 8));
      if (!inner) return std::nullopt;
      PixPtr slivers(pixXor(nullptr, band_ink.get(), inner.get()));
      PixPtr wide(slivers ? pixDilateBrick(nullptr, slivers.get(), 5, 5) : nullptr);
      if (!wide) return std::nullopt;
      pixSetMasked(band_gray.get(), wide.get(), 255);
      band_ink = std::move(inner);
      pixAnd(band_repeated.get(), band_repeated.get(), band_ink.get());
    }
    l_int32 ink_in = 0, ink_all = 0, rep_in = 0, rep_all = 0;
    pixCountPixels(band_ink.get(), &ink_in, nullptr);
    pixCountPixels(ink, &ink_all, nullptr);
    PixPtr rep_ink_all(pixAnd(nullptr, ink, repeated));
    PixPtr rep_ink_in(pixAnd(nullptr, band_ink.get(), band_repeated.get()));
    if (!rep_ink_all || !rep_ink_in) return std::nullopt;
    pixCountPixels(rep_ink_in.get(), &rep_in, nullptr);
    pixCountPixels(rep_ink_all.get(), &rep_all, nullptr);
    const l_int32 ink_out = ink_all - ink_in, rep_out = rep_all - rep_in;
    Reading reading = Read(band_gray.get(), dpi, band_ink.get(), band_repeated.get(), false);
    PageEvidence e = page;
    TakeReading(reading, ink_in, e);
    const Classified c = Classify(e);
    const double unrepeated_in = ink_in > 0 ? 1.0 - 1.0 * rep_in / ink_in : 1;
    const double unrepeated_out = ink_out > 0 ? 1.0 - 1.0 * rep_out / ink_out : 0;
    if (c.verdict != Verdict::kPrinted) return std::nullopt;
    if (unrepeated_out > unrepeated_in + kSampleUnrepeatedMargin) return std::nullopt;
    return c;
  }

  // The heart: one grey page image at `dpi`.
  PageResult AnalyzeGray(PIX* gray, int dpi) {
    PageResult r;
    r.source = "ocr";
    PageEvidence& e = r.evidence;
    // Letters too small for Tesseract (a 50 DPI scan, a photo taken from afar) are scaled up
    // to ~24 px; Tesseract reads them then, where it would see scribbles.
    e.text_height = TextHeight(gray);
    const double letters = e.text_height;  // as they came, before any scaling
    PixPtr enlarged;
    if (e.text_height > 0 && e.text_height < 18) {
      const double side = std::max(pixGetWidth(gray), pixGetHeight(gray));
      const double f = std::min({24.0 / e.text_height, 6.0, 5000.0 / side});
      if (f >= 1.4) {
        enlarged.reset(pixScaleGrayLI(gray, static_cast<l_float32>(f), static_cast<l_float32>(f)));
        if (enlarged) {
          gray = enlarged.get();
          dpi = static_cast<int>(dpi * f);
          e.text_height *= f;
        }
      }
    }
    const double area = 1.0 * pixGetWidth(gray) * pixGetHeight(gray);
    const auto unreadable = [&r](double confidence) {
      r.verdict = Verdict::kUnreadable;
      r.confidence = confidence;
      return r;
    };

    // Ink: the background is flattened to 200 (shading, yellowed paper), then whatever is
    // clearly darker counts — not scanner noise, not the faint other side of the sheet —
    // and specks under ~0.25 mm are dropped.
    PixPtr flat(pixBackgroundNormSimple(gray, nullptr, nullptr));
    if (!flat) return unreadable(0.5);
    // Faint print (a carbon copy, a pale photocopy): grey structure over the page but hardly
    // a dark pixel. Its contrast is stretched so its letters count as ink and Tesseract sees
    // them dark; a blank sheet (no structure) is left alone, and a blur stays soft — its
    // edges are measured after the stretch, relative to its own contrast.
    if (PixPtr stretched = StretchFaint(flat.get())) {
      flat = std::move(stretched);
      gray = flat.get();
    }
    PixPtr binary(pixThresholdToBinary(flat.get(), 130));
    PixPtr faint(pixThresholdToBinary(flat.get(), 175));
    if (!binary || !faint) return unreadable(0.5);
    const int speck = std::max(2, dpi / 100);
    PixPtr ink(pixSelectBySize(binary.get(), speck, speck, 8, L_SELECT_IF_EITHER, L_SELECT_IF_GTE,
                               nullptr));
    PixPtr dark(pixThresholdToBinary(gray, 128));  // the raw picture, not normalised
    if (!ink || !dark) return unreadable(0.5);

    // A page of noise (salt and pepper, a failed scan): layout analysis could take minutes,
    // and setting aside would take the whole page for a picture.
    l_int32 components = 0;
    pixCountConnComp(ink.get(), 8, &components);
    if (components > area / 400) return unreadable(0.6);

    // Pictures, borders, punch holes and rules are set aside: the verdict judges the text.
    PixPtr aside = SetAsideMask(flat.get(), ink.get(), dpi, e.text_height);
    if (!aside) return unreadable(0.5);
    l_int32 aside_pixels = 0;
    pixCountPixels(aside.get(), &aside_pixels, nullptr);
    e.set_aside = aside_pixels / area;
    l_int32 raw_ink = 0;
    pixCountPixels(ink.get(), &raw_ink, nullptr);
    if (raw_ink / area > kInkedOver && e.set_aside > kMostlyPicture) {
      // Ink over a third of the page, most of it pictures or noise: a failed scan or a
      // photograph, not a page to read (noise could keep layout analysis busy for minutes).
      return unreadable(0.6);
    }
    for (PIX* p : {ink.get(), faint.get(), dark.get()}) pixSubtract(p, p, aside.get());
    PixPtr clean(pixCopy(nullptr, gray));
    if (!clean) return unreadable(0.5);
    // Paper where the pictures were, at the paper's own shade: white around a grey sheet
    // would make Tesseract's threshold take the whole sheet for one black shape.
    l_float32 paper = 255;
    if (PixPtr kept = PixPtr(pixInvert(nullptr, aside.get()))) {
      pixGetRankValueMasked(gray, kept.get(), 0, 0, 2, 0.6f, &paper, nullptr);
    }
    pixSetMasked(clean.get(), aside.get(), static_cast<l_uint32>(std::lround(paper)));
    gray = clean.get();

    l_int32 ink_pixels = 0, dark_pixels = 0, faint_pixels = 0;
    pixCountPixels(ink.get(), &ink_pixels, nullptr);
    pixCountPixels(dark.get(), &dark_pixels, nullptr);
    pixCountPixels(faint.get(), &faint_pixels, nullptr);
    e.ink_coverage = ink_pixels / area;
    e.faint_coverage = faint_pixels / area;
    // A crowd of shapes under 4 px as they came (a photo from across the room, a thumbnail)
    // is too small for a clinic to read, whatever Tesseract guesses from it scaled up. Letters
    // of 4 px are read: a 60 DPI scan of 10 pt print has them and reads well scaled up, while
    // smaller type that measures 4 px reads as noise, blurred by the scaling (unreadable by
    // its sharpness, classify.cc).
    if (letters > 0 && letters < kSmallestLetter && e.ink_coverage >= kBlankInk) {
      return unreadable(0.6);
    }
    if ((dark_pixels / area > 0.2 && e.ink_coverage < 0.01) || e.ink_coverage > kInkedOver) {
      // Dark specks all over and no letter-sized ink, or ink over a third of the page (text
      // is 2–10%): noise or a failed scan — not a page to read.
      return unreadable(0.6);
    }
    // Sharpness: the strongest edges of the page. Print and pen strokes have crisp edges;
    // a shaken phone photo does not.
    PixPtr edges(pixSobelEdgeFilter(gray, L_ALL_EDGES));
    l_uint32 edge = 0;
    if (edges) pixGetRankValue(edges.get(), 2, 0.998f, &edge);
    e.sharpness = edge;
    PixPtr repeated = RepeatedGlyphs(ink.get(), e.text_height, &e.repeated_glyphs);
    if (!repeated) return unreadable(0.5);

    if (e.ink_coverage < 0.00005) {  // not a letter's worth of ink: do not wake Tesseract
      const Classified c = Classify(e);
      r.verdict = c.verdict;
      r.confidence = c.confidence;
      return r;
    }

    // Skew: a sheet photographed or laid askew has its lines at a slant, and Tesseract reads
    // a slant of more than a few degrees badly — a phone photo of a printed epicrisis at 6°
    // gave 4 words, level it gives 64. Measured on the text's ink (Leptonica's sweep, ±12°),
    // levelled when it is at least 1° and the measure is sure of it. After the measures above:
    // levelling blurs the edges a little.
    PixPtr level_gray, level_ink, level_repeated;
    {
      l_float32 angle = 0, sure = 0;
      if (pixFindSkewSweepAndSearch(ink.get(), &angle, &sure, 4, 2, kSkewRange, 1, 0.01f) == 0 &&
          sure >= kSkewSure && std::abs(angle) >= kSkewDegrees) {
        const l_float32 radians = angle * 3.14159265f / 180;
        level_gray.reset(pixRotate(gray, radians, L_ROTATE_AREA_MAP, L_BRING_IN_WHITE, 0, 0));
        level_ink.reset(pixRotate(ink.get(), radians, L_ROTATE_SAMPLING, L_BRING_IN_WHITE, 0, 0));
        level_repeated.reset(
            pixRotate(repeated.get(), radians, L_ROTATE_SAMPLING, L_BRING_IN_WHITE, 0, 0));
        if (level_gray && level_ink && level_repeated) {
          gray = level_gray.get();
          ink = std::move(level_ink);
          repeated = std::move(level_repeated);
        }
      }
    }

    // Orientation: upside-down print reads like handwriting. OSD proposes a turn; it is taken
    // only when the turned page reads better than the page as it came.
    if (verdict_first_) {
      if (const auto early = SampleVerdict(gray, dpi, ink.get(), repeated.get(), e)) {
        // Sure from the sample: the verdict now, the page kept for its text (asked next).
        r.early_verdict = r.verdict = early->verdict;
        r.confidence = early->confidence;
        r.text_pending = true;
        Keep({page_key_, r, PixPtr(pixClone(gray)), std::move(ink), std::move(repeated), dpi,
              ink_pixels});
        return r;
      }
    }
    return ReadWhole(std::move(r), gray, dpi, ink.get(), repeated.get(), ink_pixels);
  }

  // The rest of AnalyzeGray: the page read whole (turned by OSD where it reads better so),
  // its evidence and verdict. `r` holds the evidence measured before reading.
  PageResult ReadWhole(PageResult r, PIX* gray, int dpi, PIX* ink, PIX* repeated,
                       l_int32 ink_pixels) {
    PageEvidence& e = r.evidence;
    Reading reading = Read(gray, dpi, ink, repeated);
    osd_.SetImage(gray);
    osd_.SetSourceResolution(dpi);
    int deg = 0;
    float deg_conf = 0, script_conf = 0;
    const char* script = nullptr;
    if (osd_.DetectOrientationScript(&deg, &deg_conf, &script, &script_conf) && deg_conf > 1.5 &&
        deg % 90 == 0 && deg != 0) {
      // `deg`: how far the page was turned clockwise; turning it back rights it.
      const int quarter = (4 - deg / 90) % 4;
      PixPtr upright(pixRotateOrth(gray, quarter));
      PixPtr ink_upright(pixRotateOrth(ink, quarter));
      PixPtr repeated_upright(pixRotateOrth(repeated, quarter));
      if (upright && ink_upright && repeated_upright) {
        Reading turned = Read(upright.get(), dpi, ink_upright.get(), repeated_upright.get());
        // Tesseract reads some sideways pages itself: the turn stands unless the page as it
        // came reads clearly better (an upside-down guess on a coarse scan).
        if (1.05 * static_cast<double>(turned.good_letters) >=
            static_cast<double>(reading.good_letters)) {
          reading = std::move(turned);
          r.rotation = deg;
        }
      }
    }
    osd_.Clear();

    r.text = std::move(reading.text);
    TakeReading(reading, ink_pixels, e);
    const Classified c = Classify(e);
    r.verdict = c.verdict;
    r.confidence = c.confidence;
    r.text_pending = false;
    return r;
  }

  // A page whose verdict came from a sample (SetVerdictFirst), kept as measured for its text.
  struct Prepared {
    size_t key = 0;  // PageKey of its document and number
    PageResult r;    // its evidence before reading, and the sample's verdict
    PixPtr gray, ink, repeated;
    int dpi = 0;
    l_int32 ink_pixels = 0;
  };
  void Keep(Prepared p) {
    if (prepared_.size() >= Analyzer::kKeptPages) prepared_.pop_front();
    prepared_.push_back(std::move(p));
  }
  // The page kept under `key`, taken out; nullopt when it is not kept (read it from scratch).
  std::optional<Prepared> TakeKept(size_t key) {
    for (auto it = prepared_.begin(); it != prepared_.end(); ++it) {
      if (it->key != key) continue;
      Prepared p = std::move(*it);
      prepared_.erase(it);
      return p;
    }
    return std::nullopt;
  }
  // The text of a kept page, read whole; nullopt when it is not kept.
  std::optional<PageResult> FromKept(size_t key) {
    auto p = TakeKept(key);
    if (!p) return std::nullopt;
    return ReadWhole(std::move(p->r), p->gray.get(), p->dpi, p->ink.get(), p->repeated.get(),
                     p->ink_pixels);
  }
  // A page's identity: its document's bytes (address, size, hash of the ends) and number.
  static size_t PageKey(std::span<const uint8_t> doc, size_t hash, int number) {
    return ((reinterpret_cast<size_t>(doc.data()) * 31 + doc.size()) * 31 + hash) * 31 +
           static_cast<size_t>(number);
  }

  static void Finish(DocumentAnalysis& d) { d.verdict = WorstVerdict(d.pages); }

  // The PDF last opened, kept while the same bytes are asked about: ingest asks for one page
  // at a time, and opening a 300-page PDF with Poppler and finding its scans with qpdf for
  // each page made the check quadratic in the page count. Known by its address, size and a
  // hash of its first and last MiB (where a PDF's header, trailer and cross-references are;
  // bounded, so a 1 GiB scan is not hashed whole for every page); a caller that overwrites
  // its buffer with another document calls ForgetDocument() as well (ingest's worker does).
  struct OpenedPdf {
    const uint8_t* data = nullptr;
    size_t size = 0;
    size_t hash = 0;
    std::unique_ptr<poppler::document> doc;
    std::vector<ScanImage> scans;
  };

  static size_t EndsHash(std::span<const uint8_t> pdf) {
    constexpr size_t kEnd = size_t{1} << 20;
    const auto view = [](std::span<const uint8_t> s) {
      return std::string_view(reinterpret_cast<const char*>(s.data()), s.size());
    };
    if (pdf.size() <= 2 * kEnd) return std::hash<std::string_view>{}(view(pdf));
    return std::hash<std::string_view>{}(view(pdf.first(kEnd))) * 31 +
           std::hash<std::string_view>{}(view(pdf.last(kEnd)));
  }

  Status OpenCached(std::span<const uint8_t> pdf) {
    const size_t hash = EndsHash(pdf);
    if (pdf_.doc && pdf_.data == pdf.data() && pdf_.size == pdf.size() && pdf_.hash == hash) {
      return Status::Ok();
    }
    pdf_ = OpenedPdf{};
    DOSSIER_ASSIGN_OR_RETURN(auto doc, internal::OpenPdf(pdf));
    pdf_.scans = FindScanImages(pdf, doc->pages());
    pdf_.doc = std::move(doc);
    pdf_.data = pdf.data();
    pdf_.size = pdf.size();
    pdf_.hash = hash;
    return Status::Ok();
  }

  void ForgetDocument() override { pdf_ = OpenedPdf{}; }
  void SetVerdictFirst(bool on) override { verdict_first_ = on; }

  OcrOptions options_;
  tesseract::TessBaseAPI ocr_;
  tesseract::TessBaseAPI osd_;
  bool verdict_first_ = false;      // SetVerdictFirst
  size_t page_key_ = 0;             // PageKey of the page being analysed
  std::deque<Prepared> prepared_;   // pages whose text is still to read, oldest first
  tesseract::TessBaseAPI english_;  // English() starts it
  int english_state_ = 0;           // 0 not tried, 1 running, -1 unavailable
  OpenedPdf pdf_;
};

}  // namespace

Result<std::unique_ptr<Analyzer>> Analyzer::Create(const OcrOptions& options) {
  auto a = std::make_unique<TessAnalyzer>(options);
  DOSSIER_RETURN_IF_ERROR(a->Init());
  return std::unique_ptr<Analyzer>(std::move(a));
}

Result<std::vector<uint8_t>> HeicToJpeg(std::span<const uint8_t> heic, int64_t max_pixels) {
  if (!IsBmff(heic)) return Rejected(kDamagedHeic);
  DOSSIER_ASSIGN_OR_RETURN(PixPtr rgb, DecodeHeifRgb(heic, max_pixels));
  l_uint8* data = nullptr;
  size_t size = 0;
  if (pixWriteMemJpeg(&data, &size, rgb.get(), kHeicJpegQuality, 0) != 0 || data == nullptr) {
    lept_free(data);
    return Rejected("the JPEG copy could not be made");
  }
  std::vector<uint8_t> jpeg(data, data + size);
  lept_free(data);
  return jpeg;
}

}  // namespace dossier::ocr
