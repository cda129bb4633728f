// report/: the JSON the CLI prints and the server answers, for a real vault built through the
// real binary (a PDF, a text note and a DICOM instance from samples/). Each function's exact
// JSON, null and empty fields included; each one also equal to what the binary prints for the
// same thing, and recording the same audit events.
#include "report/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace dossier {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::RunResult;

const fs::path kUpload = fs::path(DOSSIER_SAMPLES_DIR) / "upload";

class ReportTest : public testing::CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    ASSERT_EQ(Run({"init"}).exit_code, 0);
    patient_ = Line(Run({"patient", "add", "--name", "Иванов Иван", "--birth-date", "1980-02-01",
                         "--phone", "+7 900 123-45-67"}));
    case_ = Line(Run({"case", "open", "--patient", patient_, "--goal", "second opinion"}));
    RunResult in = Run({"ingest", "--case", case_, (kUpload / "epicrisis.pdf").string(),
                        (kUpload / "patient-note.txt").string(),
                        (kUpload / "disc" / "DICOM" / "IM000001").string()});
    ASSERT_EQ(in.exit_code, 0) << in.err;
    for (const auto& d : Json({"docs", "--case", case_})) {
      if (d["name"] == "epicrisis.pdf") pdf_ = d["id"];
      if (d["name"] == "patient-note.txt") note_ = d["id"];
      if (d["kind"] == "dicom-series") {
        series_ = d["id"];
        instance_ = d["documents"][0];
      }
    }
    ASSERT_FALSE(pdf_.empty() || note_.empty() || series_.empty());
  }
  void TearDown() override {
    v_.reset();
    CliTestBase::TearDown();
  }
  static std::string Line(const RunResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
  }
  // The vault opened in this process, as the server opens it.
  vault::Vault& V() {
    if (!v_) {
      auto v = vault::Vault::Open(vault_, testing::kPassphrase, {"t", "operator"});
      EXPECT_TRUE(v.ok()) << v.status().message();
      v_ = std::move(v).value();
    }
    return *v_;
  }
  template <typename T>
  static T Ok(Result<T> r) {
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(r).value() : T();
  }
  static json Ok(Result<json> r) {
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : json();
  }
  // The actions and objects of the audit events after the first `skip`.
  std::vector<std::pair<std::string, json>> EventsAfter(size_t skip) {
    std::vector<std::pair<std::string, json>> out;
    const json log = Json({"audit", "log"});
    for (size_t i = skip; i < log.size(); ++i) {
      out.emplace_back(log[i]["action"], log[i]["objects"]);
    }
    return out;
  }
  size_t EventCount() { return Json({"audit", "log"}).size(); }

  // The text note as `docs --json` lists it (pages_detail without text).
  json NoteJson(const std::string& added) const {
    return {{"id", note_},
            {"name", "patient-note.txt"},
            {"kind", "text"},
            {"size", 144},
            {"category", "conclusion"},
            {"category_source", "inferred"},
            {"category_reason", "the first page's heading says «заключение»"},
            {"status", "stored"},
            {"added", added},
            {"case", case_},
            {"verdict", "printed"},
            {"pages", 1},
            {"pages_detail", json::array({{{"page", 1},
                                           {"verdict", "printed"},
                                           {"confidence", 1.0},
                                           {"rotation", 0},
                                           {"source", "text file"},
                                           {"evidence", {{"words", 11}}}}})},
            {"warnings", json::array()},
            {"rendition", nullptr}};  // no JPEG copy: not a HEIC photo
  }

  std::unique_ptr<vault::Vault> v_;
  std::string patient_, case_, pdf_, note_, series_, instance_;
};

TEST_F(ReportTest, PatientAndCaseJsonAreExactAndWhatTheCliPrints) {
  auto p = V().GetPatient(patient_);
  ASSERT_TRUE(p.ok());
  const json patient = {{"id", patient_},
                        {"name", "Иванов Иван"},
                        {"birth_date", "1980-02-01"},
                        {"phone", "+7 900 123-45-67"},
                        {"email", ""},
                        {"created", p->created_at},
                        {"erased", false},
                        {"erased_at", ""}};
  EXPECT_EQ(report::PatientJson(*p), patient);
  auto cases = V().ListCases(patient_);
  ASSERT_TRUE(cases.ok());
  ASSERT_EQ(cases->size(), 1u);
  const json kase = {{"id", case_},          {"patient", patient_},
                     {"status", "open"},     {"goal", "second opinion"},
                     {"question", ""},       {"documents", 2},
                     {"dicom_instances", 1}, {"created", (*cases)[0].created_at}};
  EXPECT_EQ(report::CaseJson((*cases)[0]), kase);

  auto patients = V().ListPatients();
  ASSERT_TRUE(patients.ok());
  EXPECT_EQ(report::PatientsJson(*patients), json::array({patient}));
  EXPECT_EQ(report::CasesJson(*cases), json::array({kase}));
  json detail = patient;
  detail["cases"] = json::array({kase});
  EXPECT_EQ(report::PatientDetailJson(*p, *cases), detail);
  v_.reset();  // the binary's turn

  EXPECT_EQ(Json({"patient", "list"}), json::array({patient}));
  EXPECT_EQ(Json({"case", "list"}), json::array({kase}));
  EXPECT_EQ(Json({"patient", "show", patient_}), detail);
  EXPECT_EQ(Json({"case", "list"}), report::CasesJson(*cases));
}

TEST_F(ReportTest, PatientDetailFromTheVaultIsPatientShowWithTheSameEvents) {
  const size_t before = EventCount();
  const json detail = Ok(report::PatientDetailJson(V(), patient_));
  v_.reset();
  const auto events = EventsAfter(before);
  const size_t mid = EventCount();
  EXPECT_EQ(Json({"patient", "show", patient_}), detail);
  EXPECT_EQ(EventsAfter(mid), events);
  EXPECT_EQ(events, (std::vector<std::pair<std::string, json>>{
                        {"patient.read", json::array({patient_})}, {"case.list", json::array()}}));

  // An unknown patient: the vault's own error, nothing printed.
  auto missing = report::PatientDetailJson(V(), "pat_nosuch0000");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_F(ReportTest, DocumentJsonIsExactWithNullVerdictAndEmptyPages) {
  auto note = V().GetDocument(note_);
  ASSERT_TRUE(note.ok());
  auto pages = V().GetPages(note_, false);
  ASSERT_TRUE(pages.ok());
  EXPECT_EQ(report::DocumentJson(*note, *pages), NoteJson(note->added_at));

  // A DICOM instance was never read by the OCR check: verdict null, no pages.
  auto instance = V().GetDocument(instance_);
  ASSERT_TRUE(instance.ok());
  const json j = report::DocumentJson(*instance, {});
  EXPECT_TRUE(j["verdict"].is_null());
  EXPECT_EQ(j["pages"], 0);
  EXPECT_EQ(j["pages_detail"], json::array());
  EXPECT_EQ(j["warnings"], json::array());
  EXPECT_EQ(j["kind"], "dicom");

  // Evidence that is not JSON is shown as null, not an error.
  vault::PageRecord odd = (*pages)[0];
  odd.evidence = "not json";
  EXPECT_TRUE(report::PageJson(odd)["evidence"].is_null());
}

TEST_F(ReportTest, CaseDocumentsAreDocsJsonWithTheSameEvents) {
  const size_t before = EventCount();
  const json listing = Ok(report::CaseDocumentsJson(V(), case_));
  v_.reset();
  const auto events = EventsAfter(before);
  EXPECT_EQ(events,
            (std::vector<std::pair<std::string, json>>{{"document.list", json::array({case_})},
                                                       {"dicom.list", json::array({case_})}}));
  const size_t mid = EventCount();
  EXPECT_EQ(Json({"docs", "--case", case_}), listing);
  EXPECT_EQ(EventsAfter(mid), events);

  ASSERT_EQ(listing.size(), 3u);  // the PDF, the note, then the series
  EXPECT_EQ(listing[0]["id"], pdf_);
  EXPECT_EQ(listing[1], NoteJson(listing[1]["added"]));
  const json series = {{"id", series_},
                       {"name", "OT, 1 instance, 2026-11-10, MRI conclusion (demo)"},
                       {"kind", "dicom-series"},
                       {"category", "imaging"},
                       {"category_source", "inferred"},
                       {"category_reason", "DICOM images"},
                       {"status", "stored"},
                       {"object_kind", "image"},
                       {"modality", "OT"},
                       {"description", "MRI conclusion (demo)"},
                       {"study_description", ""},
                       {"date", "20261110"},
                       {"instances", 1},
                       {"size", 13434},
                       {"added", listing[2]["added"]},
                       {"case", case_},
                       {"study_id", listing[2]["study_id"]},
                       {"study_uid", "1.2.276.0.7230010.3.1.2.8323328.4743.1795323845.204618"},
                       {"series_uid", "1.2.276.0.7230010.3.1.3.8323328.4743.1795323845.204617"},
                       {"dicom_patient", "Ivanov^Ivan"},
                       {"dicom_birth_date", "19800201"},
                       {"mismatch", ""},
                       {"mismatch_facts", ""},
                       {"preview", true},
                       {"problems", json::array()},
                       {"documents", json::array({instance_})}};
  EXPECT_EQ(listing[2], series);
  EXPECT_EQ(listing[2]["study_id"].get<std::string>().rfind("stu_", 0), 0u);

  // The series alone: `dicom list --json`, the server's /api/cases/{id}/series.
  const json alone = Ok(report::CaseSeriesJson(V(), case_));
  v_.reset();
  EXPECT_EQ(alone, json::array({series}));
  EXPECT_EQ(Json({"dicom", "list", "--case", case_}), alone);
}

// The server's listing kept as JSON text: the same entries and the same events as
// CaseDocumentsJson on every call, built again only when the case changed.
TEST_F(ReportTest, AKeptListingIsTheListingAndIsBuiltAgainOnlyWhenTheCaseChanges) {
  const json listing = Ok(report::CaseDocumentsJson(V(), case_));
  report::ListingCache cache;
  auto text = [](const std::vector<report::ListingEntry>& entries, bool full) {
    json out = json::array();
    for (const auto& e : entries) out.push_back(json::parse(full ? e.full : e.patient_side));
    return out;
  };
  const size_t before = EventCount();
  auto first = Ok(cache.Get(V(), case_));
  auto second = Ok(cache.Get(V(), case_));
  EXPECT_EQ(cache.built(), 1u);
  EXPECT_EQ(first, second);  // the same entries, not built again
  EXPECT_EQ(text(*first, true), listing);
  EXPECT_EQ(text(*first, false), listing);  // no mismatch: nothing to hide
  EXPECT_EQ(std::count_if(first->begin(), first->end(),
                          [](const report::ListingEntry& e) { return e.reply; }),
            0);
  // Each call is recorded as a listing is, kept or not.
  const auto events = EventsAfter(before);
  EXPECT_EQ(events,
            (std::vector<std::pair<std::string, json>>{{"document.list", json::array({case_})},
                                                       {"dicom.list", json::array({case_})},
                                                       {"document.list", json::array({case_})},
                                                       {"dicom.list", json::array({case_})}}));
  // A change in the case (another process: the CLI) is in the next listing.
  v_.reset();
  report::ListingCache* kept = &cache;
  ASSERT_EQ(Run({"docs", "set-category", note_, "clinic-reply"}).exit_code, 0);
  auto third = Ok(kept->Get(V(), case_));
  EXPECT_EQ(kept->built(), 2u);
  EXPECT_EQ(text(*third, true), Ok(report::CaseDocumentsJson(V(), case_)));
  EXPECT_TRUE((*third)[1].reply);
}

TEST_F(ReportTest, RemovedDocumentsAreListedWithAllAndShownWithTheirReason) {
  RunResult removed = Run({"docs", "remove", pdf_, "--reason", "uploaded twice"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  const json without = Ok(report::CaseDocumentsJson(V(), case_));
  const json with = Ok(report::CaseDocumentsJson(V(), case_, true));
  v_.reset();
  EXPECT_EQ(Json({"docs", "--case", case_}), without);
  EXPECT_EQ(Json({"docs", "--case", case_, "--all"}), with);
  ASSERT_EQ(without.size(), 2u);
  ASSERT_EQ(with.size(), 3u);
  EXPECT_EQ(with[2], (json{{"id", pdf_},
                           {"name", ""},
                           {"kind", "pdf"},
                           {"size", 972},
                           {"category", "epicrisis"},
                           {"status", "removed"},
                           {"added", with[2]["added"]},
                           {"case", case_},
                           {"removed", with[2]["removed"]},
                           {"removal_reason", "uploaded twice"}}));

  const json detail = Ok(report::DocumentDetailJson(V(), pdf_));
  v_.reset();
  EXPECT_EQ(detail["status"], "removed");
  EXPECT_EQ(detail["removed"], with[2]["removed"]);
  EXPECT_EQ(detail["removal_reason"], "uploaded twice");
  EXPECT_EQ(detail["name"], "");  // deleted with the data
  EXPECT_EQ(Json({"docs", "show", pdf_}), detail);
}

TEST_F(ReportTest, DocumentDetailIsDocsShowWithPagesVerdictsAndCategory) {
  const size_t before = EventCount();
  const json detail = Ok(report::DocumentDetailJson(V(), note_));
  v_.reset();
  json expected = NoteJson(detail["added"]);
  expected["series"] = nullptr;
  expected["removed"] = nullptr;
  expected["removal_reason"] = nullptr;
  EXPECT_EQ(detail, expected);
  const auto events = EventsAfter(before);
  EXPECT_EQ(
      events,
      (std::vector<std::pair<std::string, json>>{{"document.show", json::array({note_, case_})}}));
  const size_t mid = EventCount();
  EXPECT_EQ(Json({"docs", "show", note_}), detail);
  EXPECT_EQ(EventsAfter(mid), events);

  // A DICOM instance names its series; it has no verdict and no pages.
  const json instance = Ok(report::DocumentDetailJson(V(), instance_));
  v_.reset();
  EXPECT_EQ(instance["series"], series_);
  EXPECT_TRUE(instance["verdict"].is_null());
  EXPECT_EQ(instance["pages_detail"], json::array());
  EXPECT_EQ(Json({"docs", "show", instance_}), instance);

  // The plain-text form says the same.
  RunResult text = Run({"docs", "show", note_});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out, "id:        " + note_ +
                          "\n"
                          "name:      patient-note.txt\n"
                          "kind:      text\n"
                          "size:      144 B\n"
                          "case:      " +
                          case_ +
                          "\n"
                          "added:     " +
                          detail["added"].get<std::string>() +
                          "\n"
                          "status:    stored\n"
                          "category:  conclusion (inferred: the first page's heading says "
                          "«заключение»)\n"
                          "verdict:   printed, 1 page\n"
                          "page 1     printed     1.00  text file\n");
}

TEST_F(ReportTest, DocsShowRefusesWhatIsNotADocumentAndRecordsTheFailure) {
  RunResult missing = Run({"docs", "show", "doc_nosuch0000"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(missing.err, "dossier: no document doc_nosuch0000 (see `dossier docs --case ID`)\n");
  const json log = Json({"audit", "log"});
  EXPECT_EQ(log.back()["action"], "document.show");
  EXPECT_EQ(log.back()["outcome"], "refused");
  EXPECT_EQ(log.back()["objects"], json::array({"doc_nosuch0000"}));

  RunResult wrong = Run({"docs", "show", case_});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find(case_ + " is a case, not a document"), std::string::npos) << wrong.err;
}

TEST_F(ReportTest, SearchAndTextAreWhatTheCliPrints) {
  const json hits = Ok(report::CaseSearchJson(V(), case_, "поясниц"));
  v_.reset();
  EXPECT_EQ(hits,
            json::array({{{"id", note_},
                          {"name", "patient-note.txt"},
                          {"page", 1},
                          {"snippet", "…выписку и заключение МРТ. Боли в пояснице с октября."}}}));
  EXPECT_EQ(Json({"search", "--case", case_, "поясниц"}), hits);
  EXPECT_EQ(report::SearchJson({}), json::array());

  auto text = report::LoadDocumentText(V(), note_, 0);
  ASSERT_TRUE(text.ok()) << text.status().message();
  const json pages = report::TextJson(text->pages, 0);
  v_.reset();
  EXPECT_EQ(pages, json::array({{{"page", 1},
                                 {"verdict", "printed"},
                                 {"text",
                                  "Здравствуйте! Прикладываю выписку и заключение МРТ.\n"
                                  "Боли в пояснице с октября.\n"}}}));
  EXPECT_EQ(Json({"text", note_}), pages);
  EXPECT_EQ(report::TextJson(text->pages, 2), json::array());

  auto past = report::LoadDocumentText(V(), note_, 2);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(past.status().message(), "document " + note_ + " has 1 checked page(s)");
  auto none = report::LoadDocumentText(V(), instance_, 0);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(),
            "document " + instance_ +
                " has no checked pages (only PDFs, images and plain-text files are read)");
}

TEST_F(ReportTest, DicomListPrintsTheSeriesAsDocsDoes) {
  RunResult list = Run({"dicom", "list", "--case", case_});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  RunResult docs = Run({"docs", "--case", case_});
  ASSERT_EQ(docs.exit_code, 0) << docs.err;
  const std::string row = docs.out.substr(docs.out.find(series_));
  EXPECT_EQ(
      list.out,
      "ID             KIND           SIZE  CATEGORY   STATUS  VERDICT     ADDED                "
      "SERIES\n" +
          row.substr(0, row.find('\n') + 1) + "1 series, 1 DICOM instance\n");
  RunResult bad = Run({"dicom", "list", "--case", patient_});
  EXPECT_EQ(bad.exit_code, 1);
}

}  // namespace
}  // namespace dossier
