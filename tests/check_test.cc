// The OCR check inside ingest: real worker processes, real Tesseract, a real vault. Verdicts
// reach the report and the catalog, the text becomes searchable, and a worker that hangs or
// crashes on a page costs that page only.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <tuple>

#include "archive_util.h"
#include "ingest/ingest.h"
#include "tests/ingest_util.h"
#include "tests/test_util.h"
#include "vault/audit.h"

namespace dossier::ingest {
namespace {

namespace fs = std::filesystem;
const fs::path kSet = DOSSIER_OCR_SMALL_SET;

class CheckTest : public testing::VaultTestBase {
 protected:
  void SetUp() override {
    VaultTestBase::SetUp();
    patient_ = *v_->AddPatient({"Иванов Иван Петрович", "1980-02-01", "", ""});
    case_ = *v_->OpenCase(patient_, "second opinion");
  }
  IngestReport Ingest(const std::vector<fs::path>& paths, IngestOptions options = {}) {
    options.ocr_workers = 2;
    options.worker.program = DOSSIER_BINARY;
    IngestReport r;
    const Status st = IngestPaths(*v_, case_, paths, options, r);
    EXPECT_TRUE(st.ok()) << st.message();
    return r;
  }
  std::string case_;
};

TEST_F(CheckTest, EveryPageIsJudgedAndItsTextIsSearchable) {
  const fs::path up = dir_ / "up";
  fs::create_directories(up);
  for (const char* f : {"printed-ru.png", "printed-ru-180.png", "handwritten.png", "blank.png",
                        "blurred.png", "printed-exif6.jpg"}) {
    fs::copy_file(kSet / f, up / f);
  }
  testing::WriteFile(up / "two-pages.pdf",
                     testing::TextPdf({"Discharge summary", "Blood count normal"}));
  const IngestReport r = Ingest({up});
  EXPECT_EQ(r.Count("stored"), 7u);
  EXPECT_EQ(Find(r, "up/printed-ru.png").verdict, "printed");
  EXPECT_EQ(Find(r, "up/printed-ru.png").advice, "");
  EXPECT_EQ(Find(r, "up/printed-ru-180.png").verdict, "printed");
  EXPECT_EQ(Find(r, "up/printed-exif6.jpg").verdict, "printed");
  EXPECT_EQ(Find(r, "up/handwritten.png").verdict, "handwritten");
  EXPECT_EQ(Find(r, "up/handwritten.png").advice,
            "it looks handwritten — clinics require printed conclusions; ask the clinic that "
            "wrote it for a printed copy");
  EXPECT_EQ(Find(r, "up/blank.png").verdict, "blank");
  EXPECT_EQ(Find(r, "up/blurred.png").verdict, "unreadable");
  EXPECT_EQ(Find(r, "up/two-pages.pdf").verdict, "printed");
  EXPECT_EQ(Find(r, "up/two-pages.pdf").pages, 2);

  // The catalog agrees, page by page.
  const std::string rotated = Find(r, "up/printed-ru-180.png").doc_id;
  EXPECT_EQ(v_->GetDocument(rotated)->verdict, "printed");
  auto pages = v_->GetPages(rotated, false);
  ASSERT_EQ(pages->size(), 1u);
  EXPECT_EQ((*pages)[0].rotation, 180);
  EXPECT_EQ((*pages)[0].source, "ocr");
  const auto evidence = nlohmann::json::parse((*pages)[0].evidence);
  EXPECT_GT(evidence.at("words").get<int>(), 10);
  // What the verdict set aside and how much of the ink is type are kept, as numbers.
  EXPECT_EQ(evidence.at("set_aside").get<double>(), 0);
  EXPECT_GT(evidence.at("repeated_glyphs").get<double>(), 0.5);
  EXPECT_LT(evidence.at("unexplained_ink").get<double>(), 0.1);
  EXPECT_GE(evidence.at("on_baseline").get<double>(), 0.8);
  EXPECT_EQ(evidence.at("wandering_lines").get<int>(), 0);
  EXPECT_EQ(evidence.size(), 17u);  // the keys of ocr::PageEvidence, no more
  auto pdf_pages = v_->GetPages(Find(r, "up/two-pages.pdf").doc_id, true);
  ASSERT_EQ(pdf_pages->size(), 2u);
  EXPECT_EQ((*pdf_pages)[1].text, "Blood count normal");
  EXPECT_EQ((*pdf_pages)[1].source, "text layer");

  auto hits = v_->Search(case_, "ИВАНОВ ИВАН");
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].doc_id, Find(r, "up/printed-ru.png").doc_id);
  hits = v_->Search(case_, "blood count");
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].page, 2);

  v_.reset();  // the text is sealed: nowhere in the clear
  EXPECT_EQ(testing::FilesContaining(dir_ / "vault", "Blood count normal"),
            std::vector<std::string>{});
}

TEST_F(CheckTest, AnUnreadablePageIsNoEvidenceOfItsCategory) {
  // A lab sheet whose body is blurred beyond reading under a crisp heading: Tesseract reads
  // "LABORATORY REPORT" and guesses at the rest. The page is unreadable, and a heading read
  // off an unreadable page does not make it a lab result (only printed or mixed pages are
  // evidence): it stays `other` by default.
  const fs::path script = dir_ / "lab.py";
  testing::WriteFile(
      script,
      "import sys\n"
      "from PIL import Image, ImageDraw, ImageFont, ImageFilter\n"
      "img = Image.new('L', (1400, 1000), 255)\n"
      "d = ImageDraw.Draw(img)\n"
      "f = ImageFont.truetype('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', 64)\n"
      "for i, t in enumerate(['Hemoglobin 142 g/L (130-160)', 'WBC 6.1 x10^9/L (4.0-9.0)',\n"
      "                       'Platelets 250 x10^9/L (180-320)', 'ESR 12 mm/h (2-15)']):\n"
      "    d.text((150, 280 + 130 * i), t, font=f, fill=0)\n"
      "img = img.filter(ImageFilter.GaussianBlur(7))\n"
      "bold = ImageFont.truetype('/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf', 60)\n"
      "ImageDraw.Draw(img).text((150, 120), 'LABORATORY REPORT', font=bold, fill=0)\n"
      "img.save(sys.argv[1], dpi=(300, 300))\n");
  const fs::path lab = dir_ / "lab.png";
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script.string() + " " + lab.string()).c_str()), 0);
  const IngestReport r = Ingest({lab});
  const auto& item = Find(r, "lab.png");
  EXPECT_EQ(item.verdict, "unreadable");
  auto pages = v_->GetPages(item.doc_id, true);
  ASSERT_TRUE(pages.ok());
  ASSERT_EQ(pages->size(), 1u);
  EXPECT_NE((*pages)[0].text.find("LABORATORY REPORT"), std::string::npos) << (*pages)[0].text;
  auto doc = v_->GetDocument(item.doc_id);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->category, "other");
  EXPECT_EQ(doc->category_source, "default");
}
TEST_F(CheckTest, ADocumentThatNamesSomeoneElseIsFlagged) {
  // Short lines, one per page: the test PDFs have no line breaks.
  const std::vector<std::string> body = {
      "was admitted on 2 November 2026 with lower back pain",
      "radiating to the left leg",
      "and discharged on 14 November 2026.",
      "Diagnosis: L4-L5 disc herniation with radiculopathy.",
      "Treatment: anti-inflammatory drugs and physiotherapy.",
      "Recommendation: neurosurgical consultation and MRI in three months."};
  auto doc = [&](const std::string& who) {
    std::vector<std::string> pages{"Patient " + who};
    pages.insert(pages.end(), body.begin(), body.end());
    return testing::TextPdf(pages);
  };
  testing::WriteFile(dir_ / "theirs.pdf", doc("IVANOFF Ivan"));
  testing::WriteFile(dir_ / "someone-else.pdf", doc("Petrov Sergey"));
  const IngestReport r = Ingest({dir_ / "theirs.pdf", dir_ / "someone-else.pdf"});
  EXPECT_EQ(Find(r, "theirs.pdf").verdict, "printed");
  EXPECT_EQ(Find(r, "theirs.pdf").advice, "");
  EXPECT_EQ(Find(r, "someone-else.pdf").verdict, "printed");
  // With the facts to decide by: whom the document should name.
  EXPECT_EQ(Find(r, "someone-else.pdf").advice,
            "it does not mention the patient's surname in any spelling — check that this "
            "document is theirs (the case's patient: Иванов Иван Петрович, born 1980-02-01)");
}

TEST_F(CheckTest, HiddenTextInAScannedPdfInsideAZipDoesNotMakeItPrinted) {
  // Scanner software's invisible text over a picture of handwriting.
  const std::string pdf =
      testing::ScannedPdf(testing::ReadFile(kSet / "handwritten.jpg"), "Printed by the hospital");
  testing::WriteArchive(dir_ / "scans.zip", "zip", "", "", {{"epicrisis-scan.pdf", pdf}});
  const IngestReport r = Ingest({dir_ / "scans.zip"});
  EXPECT_EQ(Find(r, "scans.zip/epicrisis-scan.pdf").status, "stored");
  EXPECT_EQ(Find(r, "scans.zip/epicrisis-scan.pdf").verdict, "handwritten");
}

// An iPhone photo as it comes (HEIC, made here by heif-enc, libheif's real encoder): stored
// as uploaded, byte for byte, and checked like a JPEG in the worker; one cut short is stored
// too, its page unreadable with the reason.
TEST_F(CheckTest, AHeicPhotoIsStoredAsUploadedAndChecked) {
  const fs::path jpg = dir_ / "page.jpg";
  const fs::path heic = dir_ / "IMG_0412.HEIC";
  testing::MakeHeicPhoto(kSet / "printed-ru.png", jpg, heic);
  const std::string bytes = testing::ReadFile(heic);
  testing::WriteFile(dir_ / "IMG_0413.HEIC", bytes.substr(0, bytes.size() / 2));
  const IngestReport r = Ingest({heic, dir_ / "IMG_0413.HEIC"});
  const ItemReport& photo = Find(r, "IMG_0412.HEIC");
  EXPECT_EQ(photo.status, "stored");
  EXPECT_EQ(photo.kind, "heic");
  EXPECT_EQ(photo.verdict, "printed");
  EXPECT_EQ(photo.advice, "");
  testing::StringSink back;
  ASSERT_TRUE(v_->ReadDocument(photo.doc_id, back).ok());
  EXPECT_EQ(back.data, bytes);
  auto hits = v_->Search(case_, "ИВАНОВ ИВАН");
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].doc_id, photo.doc_id);
  // Its JPEG copy, which a clinic on any computer opens, is kept beside it: the page as
  // photographed, its own size, with no EXIF from the photo.
  EXPECT_EQ(photo.rendition, "jpeg");
  testing::StringSink copy;
  ASSERT_TRUE(v_->ReadDocument(photo.doc_id, copy, vault::DocumentCopy::kRendition).ok());
  EXPECT_EQ(testing::JpegSize(copy.data), testing::JpegSize(testing::ReadFile(jpg)));
  EXPECT_EQ(copy.data.find("Exif"), std::string::npos);
  auto doc = v_->GetDocument(photo.doc_id);
  EXPECT_EQ(doc->rendition, "jpeg");
  EXPECT_EQ(doc->rendition_size, copy.data.size());

  const ItemReport& cut = Find(r, "IMG_0413.HEIC");
  EXPECT_EQ(cut.status, "stored");
  EXPECT_EQ(cut.kind, "heic");
  EXPECT_EQ(cut.verdict, "unreadable");
  auto pages = v_->GetPages(cut.doc_id, false);
  ASSERT_EQ(pages->size(), 1u);
  EXPECT_EQ(nlohmann::json::parse((*pages)[0].evidence).at("error"),
            "damaged HEIC photo: it cannot be read — send it again");
  EXPECT_EQ(cut.rendition, "");  // nothing to copy; the advice says to send it again
  // The reason, not "blurred, dark or too small": nothing of it could be decoded.
  EXPECT_EQ(cut.advice, "damaged HEIC photo: it cannot be read — send it again");
}

// The copy comes from a worker that read hostile bytes: what is not one whole JPEG is not
// kept, nor is anything from a worker that crashed; the photo itself is stored and checked,
// and its advice says that it will be sent as it is.
TEST_F(CheckTest, AJpegCopyThatIsNotOneIsNotKept) {
  for (const auto& [png, fault, why] :
       {std::tuple<std::string, std::string, std::string>{"printed-ru.png", "forge:jpeg-copy",
                                                          "the worker broke the protocol"},
        {"printed-en.png", "abort:jpeg-copy", "the analysis crashed on this page"}}) {
    SCOPED_TRACE(fault);
    const fs::path jpg = dir_ / (png + ".jpg");
    const fs::path heic = dir_ / (png + ".HEIC");
    testing::MakeHeicPhoto(kSet / png, jpg, heic);
    ::setenv("DOSSIER_WORKER_FAULT", fault.c_str(), 1);
    const IngestReport r = Ingest({heic});
    ::unsetenv("DOSSIER_WORKER_FAULT");
    const ItemReport& photo = Find(r, heic.filename().string());
    EXPECT_EQ(photo.status, "stored");
    EXPECT_EQ(photo.verdict, "printed");
    EXPECT_EQ(photo.rendition, "");
    EXPECT_EQ(photo.advice,
              "no JPEG copy could be made (" + why + "): an export sends the HEIC photo as it is");
    auto doc = v_->GetDocument(photo.doc_id);
    EXPECT_EQ(doc->rendition, "");
    testing::StringSink none;
    EXPECT_EQ(v_->ReadDocument(photo.doc_id, none, vault::DocumentCopy::kRendition).code(),
              StatusCode::kNotFound);
  }
}

// The verdict first (doc/OCR.md step 4b): a page of many lines has its verdict from a sample
// of them before its text; the report says when each came, and the page's whole text is
// stored. A worker that never sends a page's text costs that page, and the ingest ends.
TEST_F(CheckTest, APagesVerdictComesBeforeItsText) {
  const IngestReport r = Ingest({kSet / "printed-long.png", kSet / "printed-ru.png"});
  const ItemReport& item = Find(r, "printed-long.png");
  EXPECT_EQ(item.verdict, "printed");
  ASSERT_EQ(item.page_checks.size(), 1u);
  const PageCheck& c = item.page_checks[0];
  EXPECT_EQ(c.page, 1);
  EXPECT_EQ(c.verdict, "printed");
  EXPECT_TRUE(c.from_sample);
  EXPECT_GT(c.analysis_seconds, 0);
  EXPECT_GT(c.verdict_seconds, 0);
  EXPECT_LT(c.verdict_seconds, c.text_seconds);
  auto pages = v_->GetPages(item.doc_id, true);
  ASSERT_EQ(pages->size(), 1u);
  EXPECT_NE((*pages)[0].text.find("Выписной эпикриз."), std::string::npos) << (*pages)[0].text;
  // Few lines: the verdict and the text together.
  const ItemReport& short_page = Find(r, "printed-ru.png");
  ASSERT_EQ(short_page.page_checks.size(), 1u);
  EXPECT_FALSE(short_page.page_checks[0].from_sample);
  EXPECT_EQ(short_page.page_checks[0].verdict_seconds, short_page.page_checks[0].text_seconds);

  ::setenv("DOSSIER_WORKER_FAULT", "forge:text-pending", 1);
  const IngestReport forged = Ingest({kSet / "printed-en.png"});
  ::unsetenv("DOSSIER_WORKER_FAULT");
  const ItemReport& lost = Find(forged, "printed-en.png");
  EXPECT_EQ(lost.verdict, "unreadable");
  ASSERT_EQ(lost.page_checks.size(), 1u);
  EXPECT_EQ(lost.page_checks[0].verdict, "unreadable");
  EXPECT_FALSE(lost.page_checks[0].from_sample);
  auto lost_pages = v_->GetPages(lost.doc_id, false);
  ASSERT_EQ(lost_pages->size(), 1u);
  EXPECT_EQ(nlohmann::json::parse((*lost_pages)[0].evidence).at("error"),
            "the worker broke the protocol");
}

TEST_F(CheckTest, AHangingOrCrashingPageCostsThatPageOnly) {
  testing::WriteFile(dir_ / "three.pdf", testing::TextPdf({"Page one", "Page two", "Page three"}));
  // The next document has a text layer: no OCR, so the short deadline cannot catch it on a
  // busy machine.
  testing::WriteFile(dir_ / "other.pdf", testing::TextPdf({"Blood count within normal limits"}));
  IngestOptions o;
  o.worker.page_seconds = 4;
  ::setenv("DOSSIER_WORKER_FAULT", "hang:ocr-page-2", 1);
  const IngestReport r = Ingest({dir_ / "three.pdf", dir_ / "other.pdf"}, o);
  ::unsetenv("DOSSIER_WORKER_FAULT");
  const ItemReport& three = Find(r, "three.pdf");
  EXPECT_EQ(three.status, "stored");
  EXPECT_EQ(three.verdict, "unreadable");
  EXPECT_EQ(three.advice,
            "page 2 is unreadable (blurred, dark or too small) — scan it again, or photograph "
            "it flat in good light");
  auto pages = v_->GetPages(three.doc_id, false);
  ASSERT_EQ(pages->size(), 3u);
  EXPECT_EQ((*pages)[0].verdict, "printed");
  EXPECT_EQ((*pages)[1].verdict, "unreadable");
  EXPECT_EQ(nlohmann::json::parse((*pages)[1].evidence).at("error"),
            "the analysis took longer than 4 s");
  EXPECT_EQ((*pages)[2].verdict, "printed");
  EXPECT_EQ(Find(r, "other.pdf").verdict, "printed");  // the pool went on

  ::setenv("DOSSIER_WORKER_FAULT", "abort:ocr-page-1", 1);
  testing::WriteFile(dir_ / "one.pdf", testing::TextPdf({"Only page"}));
  const IngestReport r2 = Ingest({dir_ / "one.pdf"});
  ::unsetenv("DOSSIER_WORKER_FAULT");
  auto one = v_->GetPages(Find(r2, "one.pdf").doc_id, false);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(nlohmann::json::parse((*one)[0].evidence).at("error"),
            "the analysis crashed on this page");
  // A crash is ours, not the file's: the patient is not told "the analysis crashed", and
  // not that the file is damaged either.
  EXPECT_EQ(Find(r2, "one.pdf").advice,
            "it is unreadable (blurred, dark or too small) — scan it again, or photograph it "
            "flat in good light");
}

}  // namespace
}  // namespace dossier::ingest
