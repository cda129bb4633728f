// HEIC photos (what iPhones save) through the OCR check: real files made by libheif's own
// encoder (x265), as `heif-enc` makes them and as a phone does — pixels stored as the sensor
// saw them, with the `irot` box that turns them upright and an EXIF orientation saying the
// same. Checked like the same page as a JPEG; refused with a reason when cut short, a sequence,
// or larger than the pixel budget.
#include <gtest/gtest.h>
#include <leptonica/allheaders.h>
#include <libexif/exif-data.h>
#include <libheif/heif.h>

#include <cstdlib>
#include <cstring>

#include "ocr/ocr.h"
#include "tests/analyzer_test_base.h"
#include "tests/test_util.h"

namespace dossier::ocr {
namespace {

const fs::path kSet = DOSSIER_OCR_SMALL_SET;

// An EXIF block holding only an orientation (1–8), as libexif writes it.
std::string ExifWithOrientation(int orientation) {
  ExifData* ed = exif_data_new();
  exif_data_set_byte_order(ed, EXIF_BYTE_ORDER_INTEL);
  ExifEntry* e = exif_entry_new();
  exif_content_add_entry(ed->ifd[EXIF_IFD_0], e);
  exif_entry_initialize(e, EXIF_TAG_ORIENTATION);
  exif_set_short(e->data, EXIF_BYTE_ORDER_INTEL, static_cast<ExifShort>(orientation));
  unsigned char* data = nullptr;
  unsigned int size = 0;
  exif_data_save_data(ed, &data, &size);
  std::string out(reinterpret_cast<const char*>(data), size);
  free(data);
  exif_entry_unref(e);
  exif_data_unref(ed);
  return out;
}

heif_error Append(heif_context*, const void* data, size_t size, void* out) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return {heif_error_Ok, heif_suberror_Unspecified, "ok"};
}

// The page `png` of the small set encoded as HEIC at quality 90 by x265. Its pixels are first
// turned `quarters` × 90° clockwise; `display` (an EXIF-style orientation, 1 = as stored) is
// written as the irot/imir boxes a viewer applies, and `exif` (0 = none) as an EXIF block.
std::string Heic(const std::string& png, int quarters, heif_orientation display, int exif) {
  PIX* page = pixRead((kSet / png).c_str());
  PIX* gray = pixConvertTo8(page, 0);
  PIX* turned = pixRotateOrth(gray, quarters);
  const int w = pixGetWidth(turned), h = pixGetHeight(turned);
  heif_image* img = nullptr;
  heif_image_create(w, h, heif_colorspace_RGB, heif_chroma_interleaved_RGB, &img);
  heif_image_add_plane(img, heif_channel_interleaved, w, h, 8);
  int stride = 0;
  uint8_t* px = heif_image_get_plane(img, heif_channel_interleaved, &stride);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      l_uint32 v = 0;
      pixGetPixel(turned, x, y, &v);
      std::memset(px + static_cast<ptrdiff_t>(y) * stride + 3 * x, static_cast<int>(v), 3);
    }
  }
  heif_context* ctx = heif_context_alloc();
  heif_encoder* enc = nullptr;
  heif_context_get_encoder_for_format(ctx, heif_compression_HEVC, &enc);
  heif_encoder_set_lossy_quality(enc, 90);
  heif_encoding_options* opts = heif_encoding_options_alloc();
  opts->image_orientation = display;
  heif_image_handle* handle = nullptr;
  const heif_error err = heif_context_encode_image(ctx, img, enc, opts, &handle);
  EXPECT_EQ(err.code, heif_error_Ok) << err.message;
  if (exif != 0) {
    const std::string block = ExifWithOrientation(exif);
    heif_context_add_exif_metadata(ctx, handle, block.data(), static_cast<int>(block.size()));
  }
  std::string out;
  heif_writer writer{1, &Append};
  heif_context_write(ctx, &writer, &out);
  heif_image_handle_release(handle);
  heif_encoding_options_free(opts);
  heif_encoder_release(enc);
  heif_context_free(ctx);
  heif_image_release(img);
  pixDestroy(&turned);
  pixDestroy(&gray);
  pixDestroy(&page);
  return out;
}

// The EXIF orientation a HEIC file carries (libheif's Exif block, after its 4-byte offset to
// the TIFF header; libexif reads it), 0 if none.
int HeicExifOrientation(const std::string& heic) {
  heif_context* ctx = heif_context_alloc();
  int orientation = 0;
  heif_image_handle* handle = nullptr;
  if (heif_context_read_from_memory_without_copy(ctx, heic.data(), heic.size(), nullptr).code ==
          heif_error_Ok &&
      heif_context_get_primary_image_handle(ctx, &handle).code == heif_error_Ok) {
    heif_item_id id = 0;
    if (heif_image_handle_get_list_of_metadata_block_IDs(handle, "Exif", &id, 1) == 1) {
      std::string block(heif_image_handle_get_metadata_size(handle, id), '\0');
      heif_image_handle_get_metadata(handle, id, block.data());
      ExifData* ed =
          exif_data_new_from_data(reinterpret_cast<const unsigned char*>(block.data()) + 4,
                                  static_cast<unsigned>(block.size() - 4));
      if (ExifEntry* e = ed ? exif_data_get_entry(ed, EXIF_TAG_ORIENTATION) : nullptr) {
        orientation = exif_get_short(e->data, exif_data_get_byte_order(ed));
      }
      if (ed) exif_data_unref(ed);
    }
    heif_image_handle_release(handle);
  }
  heif_context_free(ctx);
  return orientation;
}

// `heic` with its own size box (`ispe`) saying 10,000 × 10,000 pixels; its data unchanged.
std::string Declaring10000x10000(std::string heic) {
  const size_t ispe = heic.find("ispe");
  EXPECT_NE(ispe, std::string::npos);
  if (ispe == std::string::npos) return heic;
  const char side[4] = {0, 0, 0x27, 0x10};  // 10000, big-endian
  heic.replace(ispe + 8, 4, side, 4);
  heic.replace(ispe + 12, 4, side, 4);
  return heic;
}

class HeicTest : public AnalyzerTestBase {
 protected:
  static PageResult Page(const std::string& bytes) {
    auto r = analyzer_->AnalyzeImage(Bytes(bytes));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() && r->pages.size() == 1 ? r->pages[0] : PageResult{};
  }
};

// A printed page, handwriting and a blank sheet, photographed as HEIC by the real encoder
// (`heif-enc`, from the same page as a JPEG): the verdicts of the JPEGs.
TEST_F(HeicTest, APrintedPageHandwritingAndABlankSheetGetTheVerdictsOfTheirJpegs) {
  for (const auto& [png, want] : {std::pair{"printed-en.png", Verdict::kPrinted},
                                  std::pair{"handwritten.png", Verdict::kHandwritten},
                                  std::pair{"blank.png", Verdict::kBlank}}) {
    SCOPED_TRACE(png);
    const fs::path jpg = dir_ / (std::string(png) + ".jpg");
    const fs::path heic = dir_ / (std::string(png) + ".heic");
    testing::MakeHeicPhoto(kSet / png, jpg, heic);
    const PageResult from_jpeg = Page(testing::ReadFile(jpg));
    const PageResult from_heic = Page(testing::ReadFile(heic));
    EXPECT_EQ(from_jpeg.verdict, want);
    EXPECT_EQ(from_heic.verdict, want);
    EXPECT_EQ(from_heic.rotation, 0);
    if (want == Verdict::kPrinted) {
      EXPECT_NE(from_heic.text.find("Discharge summary."), std::string::npos) << from_heic.text;
    }
  }
}

// A phone stores the sensor's pixels and says how to turn them twice: in the irot box and in
// the EXIF orientation. libheif applies the box; applying the EXIF too would turn the page a
// second time (upside down, or sideways). Either way round, the page is read upright.
TEST_F(HeicTest, AHeicPhotoIsTurnedByItsOwnBoxesAndNotAgainByItsExif) {
  // Pixels turned 90° clockwise, to be shown turned 90° counter-clockwise (EXIF 8); and
  // pixels turned 270° clockwise, to be shown turned 90° clockwise (EXIF 6).
  for (const auto& [quarters, display] : {std::pair{1, heif_orientation_rotate_270_cw},
                                          std::pair{3, heif_orientation_rotate_90_cw}}) {
    SCOPED_TRACE(quarters);
    const std::string heic = Heic("printed-en.png", quarters, display, static_cast<int>(display));
    ASSERT_EQ(HeicExifOrientation(heic), static_cast<int>(display));  // both say it
    const PageResult p = Page(heic);
    EXPECT_EQ(p.verdict, Verdict::kPrinted);
    EXPECT_EQ(p.rotation, 0);  // upright as decoded: no turn was left for OSD to find
    EXPECT_NE(p.text.find("Discharge summary."), std::string::npos) << p.text;
  }
  // The same sideways pixels without the box (what heif-enc makes of a JPEG whose EXIF says
  // to turn it): shown sideways by every HEIC viewer, and turned upright by the OCR check's
  // own orientation detection, which reports it.
  const PageResult sideways = Page(Heic("printed-en.png", 1, heif_orientation_normal, 8));
  EXPECT_EQ(sideways.verdict, Verdict::kPrinted);
  EXPECT_EQ(sideways.rotation, 90);
}

TEST_F(HeicTest, DamagedSequencesAndOversizedHeicPhotosAreRefusedWithAReason) {
  const std::string good = Heic("printed-en.png", 0, heif_orientation_normal, 0);
  const auto refusal = [&](const std::string& bytes) {
    auto r = analyzer_->AnalyzeImage(Bytes(bytes));
    EXPECT_EQ(r.status().code(), StatusCode::kRejected);
    return std::string(r.status().message());
  };
  // Cut short, as an interrupted upload leaves it.
  EXPECT_EQ(refusal(good.substr(0, good.size() / 2)),
            "damaged HEIC photo: it cannot be read — send it again");
  // Its boxes intact, the end of its picture data garbage: an HEVC decoder conceals the damage
  // and gives a picture — smeared, analysed, never printed.
  std::string garbled = good;
  for (size_t i = garbled.size() - 2000; i < garbled.size(); ++i) garbled[i] = '\x5A';
  auto smeared = analyzer_->AnalyzeImage(Bytes(garbled));
  ASSERT_TRUE(smeared.ok()) << smeared.status().message();
  ASSERT_EQ(smeared->pages.size(), 1u);
  EXPECT_EQ(smeared->pages[0].verdict, Verdict::kUnreadable);
  // An image sequence (a burst): a movie-style file of tracks, no still picture.
  const std::string sequence = std::string(
                                   "\0\0\0\x18"
                                   "ftypmsf1\0\0\0\0msf1hevc",
                                   24) +
                               std::string(
                                   "\0\0\0\x10"
                                   "moov\0\0\0\x08"
                                   "trak",
                                   16);
  EXPECT_EQ(refusal(sequence),
            "HEIC image sequence (a burst or an animation), not a photo: send one photo, or save "
            "it as JPEG");
  // 10,000 × 10,000 pixels declared (the photo's own size box, `ispe`): refused before any
  // decoding — the declared size is all that was looked at (the data is for 1400 × 700).
  const std::string huge = Declaring10000x10000(good);
  EXPECT_EQ(refusal(huge),
            "image larger than 64 megapixels: not analysed — send a smaller scan (300 DPI) or "
            "photo");
}

// The JPEG copy a clinic opens (exports send it): upright as the photo is shown — turned by
// its irot box once, never again by its EXIF — and with no metadata at all, so no viewer turns
// it again and the photo's EXIF (where it was taken) does not travel. It reads as the photo.
TEST_F(HeicTest, TheJpegCopyIsUprightOnceAndCarriesNoExif) {
  PIX* page = pixRead((kSet / "printed-en.png").c_str());
  const int w = pixGetWidth(page), h = pixGetHeight(page);
  pixDestroy(&page);
  for (const auto& [quarters, display] : {std::pair{1, heif_orientation_rotate_270_cw},
                                          std::pair{3, heif_orientation_rotate_90_cw}}) {
    SCOPED_TRACE(quarters);
    const std::string heic = Heic("printed-en.png", quarters, display, static_cast<int>(display));
    auto jpeg = HeicToJpeg(Bytes(heic), OcrOptions().max_image_pixels);
    ASSERT_TRUE(jpeg.ok()) << jpeg.status().message();
    const std::string bytes(jpeg->begin(), jpeg->end());
    l_int32 jw = 0, jh = 0, bps = 0, spp = 0;
    ASSERT_EQ(pixReadHeaderMem(jpeg->data(), jpeg->size(), nullptr, &jw, &jh, &bps, &spp, nullptr),
              0);
    EXPECT_EQ(jw, w);  // the page's own size: turned upright, not left sideways
    EXPECT_EQ(jh, h);
    EXPECT_EQ(spp, 3);  // colour, as photographed
    EXPECT_EQ(bytes.find("Exif"), std::string::npos);
    EXPECT_EQ(bytes.substr(0, 3), "\xFF\xD8\xFF");
    const PageResult p = Page(bytes);
    EXPECT_EQ(p.verdict, Verdict::kPrinted);
    EXPECT_EQ(p.rotation, 0);  // upright: the OCR check found no turn left to make
    EXPECT_NE(p.text.find("Discharge summary."), std::string::npos) << p.text;
  }
  // What the analysis refuses makes no copy, for the same reason.
  const std::string good = Heic("printed-en.png", 0, heif_orientation_normal, 0);
  auto cut = HeicToJpeg(Bytes(good.substr(0, good.size() / 2)), OcrOptions().max_image_pixels);
  EXPECT_EQ(cut.status().code(), StatusCode::kRejected);
  EXPECT_EQ(cut.status().message(), "damaged HEIC photo: it cannot be read — send it again");
  const std::string huge = Declaring10000x10000(good);
  auto big = HeicToJpeg(Bytes(huge), OcrOptions().max_image_pixels);
  EXPECT_EQ(big.status().message(),
            "image larger than 64 megapixels: not analysed — send a smaller scan (300 DPI) or "
            "photo");
}

// The pixel budget holds for every image, before decoding: an 80-megapixel PNG (1 bit per
// pixel, a few kilobytes) would take 80 MB as grey.
TEST_F(HeicTest, EveryImageOverThePixelBudgetIsRefusedBeforeDecoding) {
  const fs::path png = dir_ / "huge.png";
  ASSERT_EQ(std::system(("/usr/bin/python3 -c \"import sys; from PIL import Image; "
                         "Image.new('1', (10000, 8000), 1).save(sys.argv[1])\" " +
                         png.string())
                            .c_str()),
            0);
  auto r = analyzer_->AnalyzeImage(Bytes(testing::ReadFile(png)));
  EXPECT_EQ(r.status().code(), StatusCode::kRejected);
  EXPECT_EQ(r.status().message(),
            "image larger than 64 megapixels: not analysed — send a smaller scan (300 DPI) or "
            "photo");
}

}  // namespace
}  // namespace dossier::ocr
