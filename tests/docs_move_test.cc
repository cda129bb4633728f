// Corrections through the real `dossier` binary (issue 14): `docs move` within a patient and to
// another patient's case (keys rewrapped, fields resealed, the wrong-patient check run again for
// DICOM, studies followed), `docs remove` (data deleted, the record kept with its sealed reason),
// every refusal with its exact message and exit code, and the audit events they leave.
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace dossier {
namespace {

namespace fs = std::filesystem;
using testing::RunResult;

const fs::path kUpload = fs::path(DOSSIER_SAMPLES_DIR) / "upload";
const fs::path kCtSmall = testing::kPydicomFiles / "CT_small.dcm";  // CompressedSamples^CT1

class DocsMoveTest : public testing::CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    ASSERT_EQ(Run({"init"}).exit_code, 0);
    ivanov_ = Line(Run({"patient", "add", "--name", "Иванов Иван", "--birth-date", "1980-02-01"}));
    ivanov_case_ = Line(Run({"case", "open", "--patient", ivanov_, "--goal", "consultation"}));
    ivanov_other_ = Line(Run({"case", "open", "--patient", ivanov_, "--goal", "follow-up"}));
    // The patient of pydicom's CT_small.dcm, as the disc names her.
    other_ = Line(
        Run({"patient", "add", "--name", "CompressedSamples Ct", "--birth-date", "1970-05-05"}));
    other_case_ = Line(Run({"case", "open", "--patient", other_, "--goal", "consultation"}));
  }
  static std::string Line(const RunResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
  }
  // Ingests `paths` into `case_id`; returns the ids of what was stored, in order.
  std::vector<std::string> Ingest(const std::string& case_id, const std::vector<fs::path>& paths) {
    std::vector<std::string> args = {"--json", "ingest", "--case", case_id};
    for (const auto& p : paths) args.push_back(p.string());
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::vector<std::string> ids;
    for (const auto& i : nlohmann::json::parse(r.out)) {
      if (i["status"] == "stored") ids.push_back(i["id"]);
    }
    return ids;
  }
  nlohmann::json Docs(const std::string& case_id, bool all = false) {
    std::vector<std::string> args = {"docs", "--case", case_id};
    if (all) args.push_back("--all");
    return Json(args);
  }
  // The audit events of `action`, oldest first.
  // The events of `action` with `outcome` (refusals are on record too, as `refused`).
  std::vector<nlohmann::json> Events(const std::string& action, const std::string& outcome = "ok") {
    std::vector<nlohmann::json> out;
    for (const auto& e : Json({"audit", "log"})) {
      if (e["action"] == action && e["outcome"] == outcome) out.push_back(e);
    }
    return out;
  }
  size_t ObjectFiles() {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(vault_ / "objects")) {
      n += e.is_regular_file() ? 1 : 0;
    }
    return n;
  }
  // A synthetic CT disc's images (patient Ivanov^Ivan^Petrovich, 1980-02-01), one series.
  std::vector<fs::path> CtImages(int n) {
    const fs::path folder = dir_ / "disc";
    EXPECT_EQ(std::system((std::string(DOSSIER_MAKE_CT_DISC) + " --folder " + folder.string() +
                           " --instances " + std::to_string(n) + " --size 16 > /dev/null")
                              .c_str()),
              0);
    std::vector<fs::path> out;
    for (int i = 1; i <= n; ++i) {
      const fs::path one = dir_ / ("im" + std::to_string(i)) / fmt("IM%04d", i);
      fs::create_directories(one.parent_path());
      fs::copy_file(folder / "DICOM" / "S001" / fmt("IM%04d", i), one);
      out.push_back(one);
    }
    return out;
  }
  static std::string fmt(const char* pattern, int i) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), pattern, i);
    return buf;
  }
  // `from` as an instance of a new series of the same study (a new series and SOP instance UID).
  static fs::path AnotherSeries(const fs::path& from, const fs::path& to) {
    DcmFileFormat ff;
    EXPECT_TRUE(ff.loadFile(from.c_str()).good());
    char uid[100];
    ff.getDataset()->putAndInsertString(DCM_SeriesInstanceUID,
                                        dcmGenerateUniqueIdentifier(uid, SITE_SERIES_UID_ROOT));
    ff.getDataset()->putAndInsertString(DCM_SOPInstanceUID,
                                        dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
    ff.getDataset()->putAndInsertString(DCM_SeriesDescription, "Coronal");
    fs::create_directories(to.parent_path());
    EXPECT_TRUE(ff.saveFile(to.c_str()).good());
    return to;
  }
  // The first column of the first row of `sql` on the catalog, as text ("" for none).
  std::string Query(const std::string& sql) {
    return testing::QueryText(vault_ / "catalog.db", sql);
  }
  static std::vector<std::string> Objects(const std::string& id, const std::string& from,
                                          const std::string& to) {
    return {id, from, to};
  }

  std::string ivanov_, ivanov_case_, ivanov_other_, other_, other_case_;
};

TEST_F(DocsMoveTest, ADocumentMovesToAnotherCaseOfThePatientAndReadsThere) {
  const std::string doc = Ingest(ivanov_case_, {kUpload / "epicrisis.pdf"}).at(0);
  RunResult mv = Run({"docs", "move", doc, "--to-case", ivanov_other_});
  EXPECT_EQ(mv.exit_code, 0) << mv.err;
  EXPECT_EQ(mv.out, "moved " + doc + " from " + ivanov_case_ + " to " + ivanov_other_ + "\n");
  EXPECT_EQ(mv.err, "");

  EXPECT_EQ(Docs(ivanov_case_), nlohmann::json::array());
  const auto there = Docs(ivanov_other_);
  ASSERT_EQ(there.size(), 1u);
  EXPECT_EQ(there[0]["id"], doc);
  EXPECT_EQ(there[0]["case"], ivanov_other_);
  EXPECT_EQ(there[0]["name"], "epicrisis.pdf");
  EXPECT_EQ(there[0]["verdict"], "printed");
  // Its data key was rewrapped for the new case: it decrypts, its text is found there only.
  const fs::path out = dir_ / "out.pdf";
  ASSERT_EQ(Run({"get", doc, "-o", out.string()}).exit_code, 0);
  EXPECT_EQ(testing::ReadFile(out), testing::ReadFile(kUpload / "epicrisis.pdf"));
  EXPECT_EQ(Json({"search", "--case", ivanov_other_, "herniation"}).size(), 1u);
  EXPECT_EQ(Json({"search", "--case", ivanov_case_, "herniation"}).size(), 0u);

  const auto events = Events("document.move");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["objects"], nlohmann::json(Objects(doc, ivanov_case_, ivanov_other_)));
  EXPECT_EQ(events[0]["patient"], ivanov_);
  EXPECT_EQ(events[0]["outcome"], "ok");
  EXPECT_EQ(Run({"vault", "verify"}).exit_code, 0);
}

TEST_F(DocsMoveTest, ADocumentMovesToAnotherPatientWhoseKeyAloneOpensItThen) {
  const std::string doc = Ingest(ivanov_case_, {kUpload / "epicrisis.pdf"}).at(0);
  const nlohmann::json moved = Json({"docs", "move", doc, "--to-case", other_case_});
  EXPECT_EQ(moved, (nlohmann::json{{"id", doc},
                                   {"kind", "document"},
                                   {"from_case", ivanov_case_},
                                   {"to_case", other_case_},
                                   {"from_patient", ivanov_},
                                   {"to_patient", other_},
                                   {"documents", {doc}}}));
  // Both patients' logs show it.
  const auto events = Events("document.move");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["objects"], nlohmann::json(Objects(doc, ivanov_case_, other_case_)));
  EXPECT_EQ(events[0]["patient"], ivanov_);
  EXPECT_EQ(events[1]["objects"], events[0]["objects"]);
  EXPECT_EQ(events[1]["patient"], other_);

  // Erasing the first patient destroys their key: the document no longer depends on it.
  ASSERT_EQ(Run({"patient", "erase", ivanov_, "--confirm"}).exit_code, 0);
  const auto there = Docs(other_case_);
  ASSERT_EQ(there.size(), 1u);
  EXPECT_EQ(there[0]["name"], "epicrisis.pdf");  // resealed under the new patient's key
  const fs::path out = dir_ / "out.pdf";
  RunResult get = Run({"get", doc, "-o", out.string()});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(testing::ReadFile(out), testing::ReadFile(kUpload / "epicrisis.pdf"));
  RunResult text = Run({"text", doc, "--page", "1"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("DISCHARGE SUMMARY"), std::string::npos) << text.out;
  EXPECT_EQ(Json({"search", "--case", other_case_, "herniation"}).size(), 1u);
  RunResult verify = Run({"vault", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST_F(DocsMoveTest, ASeriesMovesToAnotherPatientAndIsCheckedAndFiledUnderTheirKey) {
  const auto images = CtImages(4);
  const auto stored = Ingest(ivanov_case_, {images[0], images[1]});
  ASSERT_EQ(stored.size(), 2u);
  const auto before = Docs(ivanov_case_);
  ASSERT_EQ(before.size(), 1u);
  const std::string series = before[0]["id"], study = before[0]["study_id"];
  EXPECT_EQ(before[0]["mismatch"], "");  // the disc names Ivanov

  RunResult mv = Run({"docs", "move", series, "--to-case", other_case_});
  EXPECT_EQ(mv.exit_code, 0) << mv.err;
  const std::string why =
      "the patient's name on the disc is not the case's patient's and the birth date on the disc "
      "is not the patient's";
  EXPECT_EQ(mv.out, "moved " + series + " (2 instances) from " + ivanov_case_ + " to " +
                        other_case_ + " (patient " + other_ + ")\n          ! ANOTHER PATIENT? " +
                        why + " — check that this disc is theirs\n");
  EXPECT_EQ(mv.err, "dossier: WARNING: " + series + " may belong to another patient than case " +
                        other_case_ + "'s: check the disc before sending it to a clinic\n");

  EXPECT_EQ(Docs(ivanov_case_), nlohmann::json::array());
  auto there = Docs(other_case_);
  ASSERT_EQ(there.size(), 1u);
  EXPECT_EQ(there[0]["id"], series);
  EXPECT_EQ(there[0]["study_id"], study);  // its only series: the study went along
  EXPECT_EQ(there[0]["mismatch"], why);
  EXPECT_EQ(there[0]["dicom_patient"], "Ivanov^Ivan^Petrovich");
  EXPECT_EQ(there[0]["documents"], nlohmann::json(stored));
  const fs::path out = dir_ / "im.dcm";
  ASSERT_EQ(Run({"get", stored[0], "-o", out.string()}).exit_code, 0);
  EXPECT_EQ(testing::ReadFile(out), testing::ReadFile(images[0]));
  // The refusal to export another patient's disc now holds in the new case.
  EXPECT_EQ(Run({"dicom", "export", "--case", other_case_, "-o", (dir_ / "x").string()}).exit_code,
            2);

  // Its UIDs are filed under the new patient's key: the rest of the disc joins the series.
  const auto rest = Ingest(other_case_, {images[2], images[3]});
  there = Docs(other_case_);
  ASSERT_EQ(there.size(), 1u);
  EXPECT_EQ(there[0]["id"], series);
  EXPECT_EQ(there[0]["instances"], 4);

  const auto events = Events("dicom.series_move");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["objects"], nlohmann::json(Objects(series, ivanov_case_, other_case_)));
  EXPECT_EQ(events[0]["patient"], ivanov_);
  EXPECT_EQ(events[1]["patient"], other_);
  EXPECT_EQ(Run({"vault", "verify"}).exit_code, 0);
}

TEST_F(DocsMoveTest, ADiscMovedToItsPatientLosesItsWarningAndKeepsItsPreview) {
  Ingest(ivanov_case_, {kCtSmall});
  const auto before = Docs(ivanov_case_);
  ASSERT_EQ(before.size(), 1u);
  const std::string series = before[0]["id"];
  EXPECT_EQ(before[0]["mismatch"], "the patient's name on the disc is not the case's patient's");
  ASSERT_EQ(before[0]["preview"], true);

  RunResult mv = Run({"docs", "move", series, "--to-case", other_case_});
  EXPECT_EQ(mv.exit_code, 0) << mv.err;
  EXPECT_EQ(mv.out, "moved " + series + " (1 instance) from " + ivanov_case_ + " to " +
                        other_case_ + " (patient " + other_ +
                        ")\n          the disc's patient is this case's patient: no warning any "
                        "more\n");
  EXPECT_EQ(mv.err, "");
  const auto there = Docs(other_case_);
  ASSERT_EQ(there.size(), 1u);
  EXPECT_EQ(there[0]["mismatch"], "");
  EXPECT_EQ(there[0]["dicom_patient"], "CompressedSamples^CT1");
  EXPECT_EQ(there[0]["preview"], true);
  RunResult preview = Run({"dicom", "preview", series, "-o", (dir_ / "p.png").string()});
  EXPECT_EQ(preview.exit_code, 0) << preview.err;
  EXPECT_EQ(testing::ReadFile(dir_ / "p.png").substr(1, 3), "PNG");
  EXPECT_EQ(Run({"dicom", "export", "--case", other_case_, "-o", (dir_ / "x").string()}).exit_code,
            0);

  // Moved back by mistake: the check speaks up again.
  const nlohmann::json back = Json({"docs", "move", series, "--to-case", ivanov_other_});
  EXPECT_EQ(back["mismatch"], "the patient's name on the disc is not the case's patient's");
  EXPECT_EQ(Docs(ivanov_other_)[0]["mismatch"],
            "the patient's name on the disc is not the case's patient's");
}

TEST_F(DocsMoveTest, ASeriesLeavesItsStudyBehindForOthersAndJoinsTheStudyThere) {
  const auto images = CtImages(1);
  const fs::path coronal = AnotherSeries(images[0], dir_ / "coronal" / "IM0001");
  Ingest(ivanov_case_, {images[0], coronal});
  auto here = Docs(ivanov_case_);
  ASSERT_EQ(here.size(), 2u);
  if (here[0]["description"] == "Coronal") std::swap(here[0], here[1]);
  const std::string axial = here[0]["id"], second = here[1]["id"], study = here[0]["study_id"];
  ASSERT_EQ(here[1]["study_id"], study);

  // The study has another series: the moved one gets a copy of it in the new case.
  ASSERT_EQ(Run({"docs", "move", axial, "--to-case", ivanov_other_}).exit_code, 0);
  here = Docs(ivanov_case_);
  ASSERT_EQ(here.size(), 1u);
  EXPECT_EQ(here[0]["study_id"], study);
  auto there = Docs(ivanov_other_);
  ASSERT_EQ(there.size(), 1u);
  const std::string copy = there[0]["study_id"];
  EXPECT_NE(copy, study);
  EXPECT_EQ(copy.rfind("stu_", 0), 0u);

  // The second series finds its study there.
  ASSERT_EQ(Run({"docs", "move", second, "--to-case", ivanov_other_}).exit_code, 0);
  there = Docs(ivanov_other_);
  ASSERT_EQ(there.size(), 2u);
  EXPECT_EQ(there[0]["study_id"], copy);
  EXPECT_EQ(there[1]["study_id"], copy);
  EXPECT_EQ(Docs(ivanov_case_), nlohmann::json::array());

  // Both to another patient: the study goes along, resealed, and the series join it there.
  ASSERT_EQ(Run({"docs", "move", axial, "--to-case", other_case_}).exit_code, 0);
  ASSERT_EQ(Run({"docs", "move", second, "--to-case", other_case_}).exit_code, 0);
  there = Docs(other_case_);
  ASSERT_EQ(there.size(), 2u);
  EXPECT_EQ(there[0]["study_id"], there[1]["study_id"]);
  EXPECT_EQ(Docs(ivanov_other_), nlohmann::json::array());
  EXPECT_EQ(Run({"vault", "verify"}).exit_code, 0);
}

TEST_F(DocsMoveTest, MovesThatCannotBeAreRefusedAndChangeNothing) {
  const std::string doc = Ingest(ivanov_case_, {kUpload / "epicrisis.pdf"}).at(0);
  const auto instances = Ingest(ivanov_case_, {kCtSmall});
  ASSERT_EQ(instances.size(), 1u);
  const auto listed = Docs(ivanov_case_);
  ASSERT_EQ(listed.size(), 2u);
  const std::string series = listed[1]["id"];
  auto refused = [&](const std::vector<std::string>& args, int code, const std::string& message) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_EQ(r.err, "dossier: " + message + "\n");
    EXPECT_EQ(r.out, "");
  };
  refused({"docs", "move", doc, "--to-case", ivanov_case_}, 2,
          doc + " is already in case " + ivanov_case_);
  refused({"docs", "move", doc, "--to-case", "case_nosuch0000"}, 2,
          "no case case_nosuch0000 (see `dossier case list`)");
  refused({"docs", "move", "doc_nosuch00000", "--to-case", ivanov_other_}, 2,
          "no document doc_nosuch00000 (see `dossier docs --case ID`)");
  refused({"docs", "move", "ser_nosuch0000", "--to-case", ivanov_other_}, 2,
          "no DICOM series ser_nosuch0000 (see `dossier docs --case ID`)");
  refused({"docs", "move", ivanov_case_, "--to-case", ivanov_other_}, 1,
          ivanov_case_ +
              " is not a document or DICOM series id: give doc_… or ser_… (see `dossier docs "
              "--case ID`)");
  refused({"docs", "move", instances[0], "--to-case", ivanov_other_}, 2,
          instances[0] + " is one instance of DICOM series " + series +
              ": move the whole series (`dossier docs move " + series + " --to-case CASE`)");
  // The same content already in the case it would go to.
  const std::string copy = Ingest(ivanov_other_, {kUpload / "epicrisis.pdf"}).at(0);
  refused({"docs", "move", doc, "--to-case", ivanov_other_}, 2,
          doc + " has the same content as " + copy + ", already in case " + ivanov_other_ +
              ": remove one of the two instead (`dossier docs remove ID --reason TEXT`)");
  // The same series (its UIDs) already there.
  const std::string again = Ingest(ivanov_other_, {kCtSmall}).at(0);
  refused({"docs", "move", series, "--to-case", ivanov_other_}, 2,
          "instance " + instances[0] + " of " + series + " has the same content as " + again +
              ", already in case " + ivanov_other_ +
              ": remove one of the two instead (`dossier docs remove ID --reason TEXT`)");
  // A case of an erased patient.
  const std::string gone =
      Line(Run({"patient", "add", "--name", "Gone", "--birth-date", "1950-01-01"}));
  const std::string gone_case = Line(Run({"case", "open", "--patient", gone, "--goal", "x"}));
  ASSERT_EQ(Run({"patient", "erase", gone, "--confirm"}).exit_code, 0);
  refused({"docs", "move", doc, "--to-case", gone_case}, 2,
          "case " + gone_case + " belongs to an erased patient");
  // A removed document.
  ASSERT_EQ(Run({"docs", "remove", doc, "--reason", "duplicate scan"}).exit_code, 0);
  const std::string date = std::string(Docs(ivanov_case_, true)[1]["removed"]).substr(0, 10);
  refused({"docs", "move", doc, "--to-case", other_case_}, 2,
          doc + " was removed on " + date + ": nothing of it is left to move");

  EXPECT_EQ(Events("document.move").size(), 0u);
  EXPECT_EQ(Events("dicom.series_move").size(), 0u);
  EXPECT_EQ(Events("document.move", "refused").size(), 10u);  // each refusal, on record
  EXPECT_EQ(Docs(ivanov_case_).size(), 1u);  // the series; the document was removed
  EXPECT_EQ(Docs(other_case_).size(), 0u);
}

TEST_F(DocsMoveTest, ASeriesWhoseUidsTheCaseAlreadyHoldsIsRefused) {
  const auto images = CtImages(2);
  Ingest(ivanov_case_, {images[0]});
  Ingest(ivanov_other_, {images[1]});  // the same series, another image of it
  const std::string series = Docs(ivanov_case_)[0]["id"], there = Docs(ivanov_other_)[0]["id"];
  ASSERT_NE(series, there);
  RunResult r = Run({"docs", "move", series, "--to-case", ivanov_other_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "dossier: case " + ivanov_other_ + " already holds this series as " + there +
                       ": remove one of the two first (`dossier docs remove ID --reason TEXT`)\n");
  EXPECT_EQ(Docs(ivanov_case_)[0]["id"], series);
}

TEST_F(DocsMoveTest, AClosedCaseTakesNothing) {
  const std::string doc = Ingest(ivanov_case_, {kUpload / "epicrisis.pdf"}).at(0);
  if (Run({"case", "close", ivanov_other_}).exit_code != 0) {
    GTEST_SKIP() << "needs `dossier case close` (issue 14, patient and case edits)";
  }
  RunResult r = Run({"docs", "move", doc, "--to-case", ivanov_other_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "dossier: case " + ivanov_other_ +
                       " is closed: reopen it first (`dossier case "
                       "reopen " +
                       ivanov_other_ + "`)\n");
  EXPECT_EQ(Docs(ivanov_case_).size(), 1u);
}

TEST_F(DocsMoveTest, ARemovedDocumentIsGoneButItsRecordAndReasonStay) {
  const std::string doc = Ingest(ivanov_case_, {kUpload / "epicrisis.pdf"}).at(0);
  const std::string note = Ingest(ivanov_case_, {kUpload / "patient-note.txt"}).at(0);
  const size_t files = ObjectFiles();
  const std::string reason = "Petrova's epicrisis, filed here by mistake";

  RunResult rm = Run({"docs", "remove", doc, "--reason", reason});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(rm.out, "removed " + doc +
                        ": its data is deleted for good; its record stays with the reason "
                        "(`dossier docs --case " +
                        ivanov_case_ + " --all`)\n");
  EXPECT_EQ(ObjectFiles(), files - 1);
  // Its data key, file name, content MAC and page texts are gone; the reason is sealed.
  EXPECT_EQ(Query("SELECT quote(wrapped_key) || quote(name_enc) || quote(content_mac) || status "
                  "FROM documents WHERE id = '" +
                  doc + "'"),
            "NULLNULLNULLremoved");
  EXPECT_EQ(Query("SELECT COUNT(*) FROM pages WHERE doc_id = '" + doc + "'"), "0");
  EXPECT_EQ(
      Query("SELECT length(reason_enc) > 40 FROM document_removals WHERE doc_id = '" + doc + "'"),
      "1");

  // Not listed by default; listed with --all, marked removed, with the reason.
  const auto listed = Docs(ivanov_case_);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], note);
  EXPECT_NE(Run({"docs", "--case", ivanov_case_})
                .out.find("1 document, 0 DICOM instances; 1 removed (shown by --all)\n"),
            std::string::npos);
  const auto all = Docs(ivanov_case_, true);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1]["id"], doc);
  EXPECT_EQ(all[1]["status"], "removed");
  EXPECT_EQ(all[1]["removal_reason"], reason);
  EXPECT_EQ(all[1]["kind"], "pdf");
  const std::string date = std::string(all[1]["removed"]).substr(0, 10);
  RunResult table = Run({"docs", "--case", ivanov_case_, "--all"});
  EXPECT_NE(
      table.out.find(doc + " pdf           972 B  epicrisis  removed -           " +
                     std::string(all[1]["added"]) + " (removed " + date + ": " + reason + ")\n"),
      std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("1 document, 0 DICOM instances; 1 removed\n"), std::string::npos)
      << table.out;
  // `case list` counts what `docs` counts: the removed document is not among them.
  for (const auto& c : Json({"case", "list"})) {
    if (c["id"] == ivanov_case_) {
      EXPECT_EQ(c["documents"], 1);
      EXPECT_EQ(c["dicom_instances"], 0);
    }
  }

  // get and text refuse, without the reason; search finds nothing.
  const std::string refusal =
      "dossier: " + doc + " was removed on " + date + " (reason shown by `docs --all`)\n";
  RunResult get = Run({"get", doc, "-o", (dir_ / "x.pdf").string()});
  EXPECT_EQ(get.exit_code, 2);
  EXPECT_EQ(get.err, refusal);
  EXPECT_FALSE(fs::exists(dir_ / "x.pdf"));
  RunResult text = Run({"text", doc});
  EXPECT_EQ(text.exit_code, 2);
  EXPECT_EQ(text.err, refusal);
  EXPECT_EQ(Json({"search", "--case", ivanov_case_, "herniation"}).size(), 0u);
  RunResult cat = Run({"docs", "set-category", doc, "lab"});
  EXPECT_EQ(cat.exit_code, 2);
  EXPECT_EQ(cat.err,
            "dossier: " + doc + " was removed on " + date + " (reason shown by `docs --all`)\n");

  // Removing it again says when it was.
  RunResult again = Run({"docs", "remove", doc, "--reason", "again"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_EQ(again.err, "dossier: " + doc + " was already removed on " + date +
                           " (see `dossier docs --case " + ivanov_case_ + " --all`)\n");

  const auto events = Events("document.remove");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(Events("document.remove", "refused").size(), 1u);  // the second removal
  EXPECT_EQ(events[0]["objects"], nlohmann::json({doc, ivanov_case_}));
  EXPECT_EQ(events[0]["patient"], ivanov_);
  // The refused `get` (a decryption to a file) is on record as refused.
  EXPECT_EQ(Events("document.export_file", "refused").size(), 1u);
  // The reason is nowhere in the vault in the clear, nor in the log.
  EXPECT_EQ(testing::FilesContaining(vault_, "by mistake"), std::vector<std::string>{});
  EXPECT_EQ(Run({"audit", "log"}).out.find("by mistake"), std::string::npos);
  RunResult verify = Run({"vault", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_NE(verify.out.find("decrypted and authenticated 1 document(s) (1 removed, skipped): all "
                            "intact\n"),
            std::string::npos)
      << verify.out;

  // The patient can still be erased.
  RunResult erase = Run({"patient", "erase", ivanov_, "--confirm"});
  EXPECT_EQ(erase.exit_code, 0) << erase.err;
  EXPECT_EQ(ObjectFiles(), files - 2);
}

TEST_F(DocsMoveTest, RemovalNeedsAReason) {
  const std::string doc = Ingest(ivanov_case_, {kUpload / "epicrisis.pdf"}).at(0);
  const std::string message = "dossier: give --reason TEXT: why " + doc +
                              " is removed (kept sealed with its record and shown by `dossier "
                              "docs --case ID --all`)\n";
  for (const auto& args : {std::vector<std::string>{"docs", "remove", doc},
                           std::vector<std::string>{"docs", "remove", doc, "--reason", "  "}}) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, message);
  }
  RunResult bad = Run({"docs", "remove", ivanov_, "--reason", "x"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, "dossier: " + ivanov_ +
                         " is not a document or DICOM series id: give doc_… or ser_… (see "
                         "`dossier docs --case ID`)\n");
  EXPECT_EQ(Docs(ivanov_case_).size(), 1u);
  EXPECT_EQ(Events("document.remove").size(), 0u);
}

TEST_F(DocsMoveTest, ARemovedSeriesIsOneRecordAndTheSameDiscCanComeAgain) {
  const auto images = CtImages(3);
  const auto stored = Ingest(ivanov_case_, images);
  const std::string series = Docs(ivanov_case_)[0]["id"];
  const size_t files = ObjectFiles();

  // One instance first: the series stays, without it and without its preview.
  RunResult one = Run({"docs", "remove", stored[1], "--reason", "blurred"});
  EXPECT_EQ(one.exit_code, 0) << one.err;
  auto listed = Docs(ivanov_case_);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["instances"], 2);
  EXPECT_EQ(listed[0]["preview"], false);
  EXPECT_EQ(listed[0]["documents"], nlohmann::json({stored[0], stored[2]}));

  RunResult rm = Run({"docs", "remove", series, "--reason", "another patient's disc"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(rm.out, "removed " + series +
                        " (2 instances): its data is deleted for good; its record stays with the "
                        "reason (`dossier docs --case " +
                        ivanov_case_ + " --all`)\n");
  EXPECT_EQ(ObjectFiles(), files - 3);
  EXPECT_EQ(Docs(ivanov_case_), nlohmann::json::array());
  const auto all = Docs(ivanov_case_, true);
  ASSERT_EQ(all.size(), 2u);  // one entry per series and reason
  EXPECT_EQ(all[0]["id"], series);
  EXPECT_EQ(all[0]["kind"], "dicom-series");
  EXPECT_EQ(all[0]["status"], "removed");
  EXPECT_EQ(all[0]["documents"], nlohmann::json({stored[0], stored[2]}));
  EXPECT_EQ(all[0]["removal_reason"], "another patient's disc");
  EXPECT_EQ(all[1]["id"], series);
  EXPECT_EQ(all[1]["documents"], nlohmann::json({stored[1]}));
  EXPECT_EQ(all[1]["removal_reason"], "blurred");
  RunResult table = Run({"docs", "--case", ivanov_case_, "--all"});
  EXPECT_NE(table.out.find("2 instances (removed "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("0 documents, 0 DICOM instances; 2 removed\n"), std::string::npos)
      << table.out;

  const auto events = Events("dicom.series_remove");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["objects"], nlohmann::json({series, ivanov_case_}));
  RunResult again = Run({"docs", "remove", series, "--reason", "x"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find(series + " was already removed on "), std::string::npos) << again.err;

  // Nothing of it is recognised any more: the same disc is stored anew, as a new series.
  const auto anew = Ingest(ivanov_case_, images);
  EXPECT_EQ(anew.size(), 3u);
  listed = Docs(ivanov_case_);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_NE(listed[0]["id"], series);
  EXPECT_EQ(listed[0]["instances"], 3);
  EXPECT_EQ(Run({"vault", "verify"}).exit_code, 0);
}

TEST_F(DocsMoveTest, ASeriesTakesItsRemovedInstancesAndTheirReasonsAlong) {
  const auto images = CtImages(2);
  const auto stored = Ingest(ivanov_case_, images);
  const std::string series = Docs(ivanov_case_)[0]["id"];
  ASSERT_EQ(Run({"docs", "remove", stored[1], "--reason", "blurred"}).exit_code, 0);
  const nlohmann::json moved = Json({"docs", "move", series, "--to-case", other_case_});
  EXPECT_EQ(moved["documents"], nlohmann::json(stored));
  EXPECT_EQ(Docs(ivanov_case_, true), nlohmann::json::array());
  // The reason was resealed for the new patient: it still opens once the old one is erased.
  ASSERT_EQ(Run({"patient", "erase", ivanov_, "--confirm"}).exit_code, 0);
  const auto all = Docs(other_case_, true);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["documents"], nlohmann::json({stored[0]}));
  EXPECT_EQ(all[1]["status"], "removed");
  EXPECT_EQ(all[1]["documents"], nlohmann::json({stored[1]}));
  EXPECT_EQ(all[1]["removal_reason"], "blurred");
}

TEST_F(DocsMoveTest, ARemovedDocumentSetBackToStoredIsCaught) {
  const std::string doc = Ingest(ivanov_case_, {kUpload / "epicrisis.pdf"}).at(0);
  ASSERT_EQ(Run({"docs", "remove", doc, "--reason", "wrong patient"}).exit_code, 0);
  testing::RunSql(vault_ / "catalog.db",
                  "UPDATE documents SET status = 'stored' WHERE id = '" + doc + "'");
  const std::string message = "dossier: document " + doc +
                              " was changed outside Dossier: its catalog row no longer matches "
                              "its MAC; restore the vault from a backup\n";
  for (const auto& args : {std::vector<std::string>{"docs", "--case", ivanov_case_},
                           std::vector<std::string>{"get", doc, "-o", (dir_ / "x").string()}}) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 3) << args[0];
    EXPECT_EQ(r.err, message);
  }
}

TEST_F(DocsMoveTest, ARemovalRecordDeletedIsCaught) {
  const std::string doc = Ingest(ivanov_case_, {kUpload / "epicrisis.pdf"}).at(0);
  ASSERT_EQ(Run({"docs", "remove", doc, "--reason", "wrong patient"}).exit_code, 0);
  testing::RunSql(vault_ / "catalog.db",
                  "DELETE FROM document_removals WHERE doc_id = '" + doc + "'");
  RunResult r = Run({"docs", "--case", ivanov_case_, "--all"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err, "dossier: document " + doc +
                       " is marked removed but its removal record is missing from the catalog; "
                       "restore the vault from a backup\n");
}

}  // namespace
}  // namespace dossier
