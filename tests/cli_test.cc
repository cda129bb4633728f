// The `dossier` command as users and scripts see it: exit codes of DESIGN.md §4, messages,
// JSON shapes. Runs the real binary with no terminal.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "dicom/dicom.h"
#include "tests/test_util.h"

namespace dossier {
namespace {

namespace fs = std::filesystem;
using testing::RunDossier;
using testing::RunResult;

const fs::path kUpload = fs::path(DOSSIER_SAMPLES_DIR) / "upload";

class CliTest : public testing::CliTestBase {
 protected:
  // init + patient + case; returns the case id.
  std::string InitPatientCase() {
    EXPECT_EQ(Run({"init"}).exit_code, 0);
    RunResult p = Run({"patient", "add", "--name", "Иванов Иван", "--birth-date", "1980-02-01"});
    EXPECT_EQ(p.exit_code, 0) << p.err;
    patient_ = p.out.substr(0, p.out.size() - 1);
    RunResult c = Run({"case", "open", "--patient", patient_, "--goal", "consultation"});
    EXPECT_EQ(c.exit_code, 0) << c.err;
    return c.out.substr(0, c.out.size() - 1);
  }

  std::string patient_;
};

TEST_F(CliTest, VerdictsSearchAndTextOfTheOcrCheck) {
  const std::string case_id = InitPatientCase();
  RunResult ing = Run({"ingest", "--case", case_id, (kUpload / "epicrisis.pdf").string()});
  ASSERT_EQ(ing.exit_code, 0) << ing.err;
  EXPECT_NE(ing.out.find(" epicrisis.pdf  doc_"), std::string::npos) << ing.out;
  EXPECT_NE(ing.out.find("  printed\n"), std::string::npos) << ing.out;
  const nlohmann::json docs = Json({"docs", "--case", case_id});
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0]["verdict"], "printed");
  EXPECT_EQ(docs[0]["pages"], 1);
  ASSERT_EQ(docs[0]["pages_detail"].size(), 1u);
  EXPECT_EQ(docs[0]["pages_detail"][0]["source"], "text layer");
  EXPECT_EQ(docs[0]["pages_detail"][0]["rotation"], 0);
  EXPECT_FALSE(docs[0]["pages_detail"][0].contains("text"));  // text only on request
  const std::string doc = docs[0]["id"];

  RunResult found = Run({"search", "--case", case_id, "DISC", "herniation"});
  EXPECT_EQ(found.exit_code, 0) << found.err;
  EXPECT_EQ(found.out, doc + " p.1   epicrisis.pdf\n" + std::string(21, ' ') +
                           "…Admitted 02.11.2026, discharged 14.11.2026 Diagnosis: L4-L5 disc "
                           "herniation with radiculopathy. Treatment: NSAIDs, physiotherapy. "
                           "Condition on…\n1 page(s) found\n");
  const nlohmann::json hits = Json({"search", "--case", case_id, "smirnova"});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0]["page"], 1);
  EXPECT_EQ(Run({"search", "--case", case_id, "nothing like this"}).out, "0 page(s) found\n");

  RunResult text = Run({"text", doc, "--page", "1"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out.rfind("CITY CLINICAL HOSPITAL No. 1 - DISCHARGE SUMMARY (EPICRISIS)\n", 0), 0u)
      << text.out;
  EXPECT_EQ(Run({"text", doc, "--page", "2"}).err,
            "dossier: document " + doc + " has 1 checked page(s)\n");
  // Reading and searching text are in the audit log; the query is not.
  RunResult log = Run({"audit", "log"});
  EXPECT_NE(log.out.find("document.search"), std::string::npos);
  EXPECT_NE(log.out.find("via=text"), std::string::npos);    // document.read of `text`
  EXPECT_NE(log.out.find("via=search"), std::string::npos);  // and of the hits shown
  EXPECT_NE(log.out.find("document.analyse"), std::string::npos);
  EXPECT_EQ(log.out.find("herniation"), std::string::npos);
}

TEST_F(CliTest, HelpTeachesAndBadUsageExits1) {
  RunResult h = Run({"--help"});
  EXPECT_EQ(h.exit_code, 0);
  for (const char* word : {"init", "vault", "patient", "case", "ingest", "docs", "get", "audit",
                           "--passphrase-file", "Exit codes"}) {
    EXPECT_NE(h.out.find(word), std::string::npos) << word;
  }
  EXPECT_EQ(Run({}).exit_code, 1);
  EXPECT_EQ(Run({"frobnicate"}).exit_code, 1);
  EXPECT_EQ(Run({"patient", "add", "--name", "X"}).exit_code, 1);
}

// Names typed as arguments are visible to every local user in /proc/*/cmdline: `--from`
// reads the fields as JSON from a file or standard input instead.
TEST_F(CliTest, PatientAddFromJsonKeepsTheNameOffTheCommandLine) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  RunResult help = Run({"patient", "add", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("/proc/*/cmdline"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--from"), std::string::npos) << help.out;

  const fs::path file = dir_ / "patient.json";
  testing::WriteFile(file, R"({"name": "Иванов Иван", "birth_date": "1980-02-01",
                               "phone": "+79001234567", "email": "ivanov@example.ru"})");
  RunResult a = Run({"patient", "add", "--from", file.string()});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const std::string first = a.out.substr(0, a.out.size() - 1);
  RunResult b =
      testing::RunDossierWithInput(vault_, pass_, {"patient", "add", "--from", "-"},
                                   R"({"name": "Петрова Анна", "birth_date": "1990-03-04"})");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const std::string second = b.out.substr(0, b.out.size() - 1);
  const nlohmann::json one = Json({"patient", "show", first});
  EXPECT_EQ(one["name"], "Иванов Иван");
  EXPECT_EQ(one["birth_date"], "1980-02-01");
  EXPECT_EQ(one["phone"], "+79001234567");
  EXPECT_EQ(one["email"], "ivanov@example.ru");
  const nlohmann::json two = Json({"patient", "show", second});
  EXPECT_EQ(two["name"], "Петрова Анна");
  EXPECT_EQ(two["phone"], "");

  // Every mistake is exit 1 naming the field, never showing what was in it.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"name": "Петрова Анна", "birth_date": "1990-03-04")",
       "dossier: --from -: not valid JSON (at byte 63)\n"},
      {R"(["Петрова Анна", "1990-03-04"])",
       "dossier: --from -: expected a JSON object with the fields name, birth_date, phone and "
       "email\n"},
      {R"({"name": "Петрова Анна", "birth_date": "1990-03-04", "nickname": "Аня"})",
       "dossier: --from -: `nickname` is not a field of a patient (use name, birth_date, phone "
       "and email)\n"},
      {R"({"name": "Петрова Анна", "birth_date": "1990-03-04", "Петрова": "x"})",
       "dossier: --from -: a key is not a field of a patient (use name, birth_date, phone and "
       "email)\n"},
      {R"({"name": "Петрова Анна", "birth_date": 19900304})",
       "dossier: --from -: field `birth_date` must be a string\n"},
      {R"({"name": ["Петрова", "Анна"], "birth_date": "1990-03-04"})",
       "dossier: --from -: field `name` must be a string\n"},
      {R"({"birth_date": "1990-03-04", "phone": "+79990000000"})",
       "dossier: --from -: field `name` is missing\n"},
      {R"({"name": "Петрова Анна"})", "dossier: --from -: field `birth_date` is missing\n"},
      {R"({"name": "", "birth_date": "1990-03-04"})", "dossier: --from -: field `name` is empty\n"},
      {R"({"name": "Петрова Анна", "birth_date": "1990-02-30"})",
       "dossier: --from -: field `birth_date` must be a real date written YYYY-MM-DD\n"},
  };
  for (const auto& [input, message] : bad) {
    RunResult r =
        testing::RunDossierWithInput(vault_, pass_, {"patient", "add", "--from", "-"}, input);
    EXPECT_EQ(r.exit_code, 1) << input;
    EXPECT_EQ(r.err, message) << input;
    EXPECT_EQ(r.err.find("Петрова"), std::string::npos);
    EXPECT_EQ(r.err.find("Аня"), std::string::npos);
  }
  RunResult mixed = Run({"patient", "add", "--from", file.string(), "--phone", "+7"});
  EXPECT_EQ(mixed.exit_code, 1);
  EXPECT_EQ(mixed.err,
            "dossier: --from cannot be combined with --name, --birth-date, --phone or --email: "
            "put every field in the JSON\n");
  RunResult neither = Run({"patient", "add"});
  EXPECT_EQ(neither.exit_code, 1);
  EXPECT_EQ(neither.err,
            "dossier: --name is required, or the fields as JSON with --from FILE|- (see --help)\n");
  RunResult missing = Run({"patient", "add", "--from", (dir_ / "none.json").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err, "dossier: no such file: " + (dir_ / "none.json").string() + "\n");
  EXPECT_EQ(Json({"patient", "list"}).size(), 2u);  // nothing else was added
}

TEST_F(CliTest, FullFlowFromInitToGet) {
  const std::string case_id = InitPatientCase();
  EXPECT_TRUE(std::regex_match(patient_, std::regex("pat_[0-9a-z]{10}"))) << patient_;
  EXPECT_TRUE(std::regex_match(case_id, std::regex("case_[0-9a-z]{10}"))) << case_id;

  RunResult ing = Run({"ingest", "--case", case_id, kUpload.string()});
  EXPECT_EQ(ing.exit_code, 0) << ing.err;
  EXPECT_NE(ing.out.find("5 stored, 0 duplicate, 0 skipped, 0 rejected"), std::string::npos)
      << ing.out;

  const nlohmann::json docs = Json({"docs", "--case", case_id});
  ASSERT_EQ(docs.size(), 5u);
  std::map<std::string, std::string> kinds;
  for (const auto& d : docs) {
    for (const char* key : {"id", "name", "kind", "size", "status", "added"}) {
      EXPECT_TRUE(d.contains(key)) << key;
    }
    EXPECT_EQ(d["status"], "stored");
    kinds[d["name"]] = d["kind"];
  }
  // The DICOM file is shown as its series.
  EXPECT_EQ(kinds, (std::map<std::string, std::string>{{"OT, 1 instance, 2026-11-10, MRI "
                                                        "conclusion (demo)",
                                                        "dicom-series"},
                                                       {"upload/epicrisis.pdf", "pdf"},
                                                       {"upload/lab-results.png", "png"},
                                                       {"upload/mri-conclusion.jpg", "jpeg"},
                                                       {"upload/patient-note.txt", "text"}}));

  std::string doc;
  for (const auto& d : docs) {
    if (d["name"] == "upload/epicrisis.pdf") doc = d["id"];
  }
  const fs::path out = dir_ / "out.pdf";
  RunResult get = Run({"get", doc, "-o", out.string()});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(testing::ReadFile(out), testing::ReadFile(kUpload / "epicrisis.pdf"));
  RunResult again = Run({"get", doc, "-o", out.string()});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_EQ(again.err,
            "dossier: " + out.string() + " already exists: choose another name or add --force\n");
  RunResult missing = Run({"get", "doc_nosuch00000", "-o", (dir_ / "x").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err, "dossier: no document doc_nosuch00000 (see `dossier docs --case ID`)\n");
  EXPECT_FALSE(fs::exists(dir_ / "x"));

  RunResult cat = Run({"docs", "set-category", doc, "epicrisis"});
  EXPECT_EQ(cat.exit_code, 0) << cat.err;
  for (const auto& d : Json({"docs", "--case", case_id})) {
    if (d["id"] == doc) {
      EXPECT_EQ(d["category"], "epicrisis");
    }
  }
  EXPECT_EQ(Run({"docs", "set-category", doc, "poetry"}).exit_code, 1);

  const nlohmann::json patients = Json({"patient", "list"});
  ASSERT_EQ(patients.size(), 1u);
  EXPECT_EQ(patients[0]["name"], "Иванов Иван");
  EXPECT_EQ(patients[0]["birth_date"], "1980-02-01");
  EXPECT_EQ(Json({"case", "list"})[0]["documents"], 4);  // the DICOM instance counts apart
  EXPECT_EQ(Json({"case", "list"})[0]["dicom_instances"], 1);
}

TEST_F(CliTest, IngestWithRefusalsExits2AndStoresTheRest) {
  const std::string case_id = InitPatientCase();
  testing::WriteFile(dir_ / "up" / "scan.pdf", testing::MinimalPdf("printed conclusion"));
  fs::copy_file("/bin/true", dir_ / "up" / "setup.exe");
  RunResult r = Run({"--json", "ingest", "--case", case_id, (dir_ / "up").string()});
  EXPECT_EQ(r.exit_code, 2);
  const auto items = nlohmann::json::parse(r.out);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["path"], "up/scan.pdf");
  EXPECT_EQ(items[0]["status"], "stored");
  EXPECT_EQ(items[1]["path"], "up/setup.exe");
  EXPECT_EQ(items[1]["status"], "rejected");
  EXPECT_EQ(items[1]["reason"], "executable program: not a medical document, refused for safety");
  EXPECT_EQ(r.err,
            "dossier: 1 item(s) were rejected (see the reasons above); everything else "
            "was stored\n");
  EXPECT_EQ(Json({"docs", "--case", case_id}).size(), 1u);
}

TEST_F(CliTest, FileNamesThatAreNotUtf8StillListAsJson) {
  const std::string case_id = InitPatientCase();
  testing::WriteFile(dir_ / "up" / "\xc2\xfb\xef\xe8\xf1\xea\xe0.txt", "CP1251 name\n");
  RunResult r = Run({"--json", "ingest", "--case", case_id, (dir_ / "up").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto items = nlohmann::json::parse(r.out);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["status"], "stored");
  EXPECT_EQ(items[0]["path"],
            "up/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd.txt");
  EXPECT_EQ(Json({"docs", "--case", case_id}).size(), 1u);
}

TEST_F(CliTest, ADiscImageIngestsWithViewerSoftwareSkippedAsOneLine) {
  const std::string case_id = InitPatientCase();
  const fs::path iso = dir_ / "disc.iso";
  ASSERT_EQ(std::system((std::string(DOSSIER_MAKE_CT_DISC) + " --out " + iso.string() +
                         " --instances 12 --size 64 > /dev/null")
                            .c_str()),
            0);
  RunResult r = Run({"ingest", "--case", case_id, iso.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("skipped   disc viewer software, 4 files\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("13 stored, 0 duplicate, 4 skipped, 0 rejected\n"), std::string::npos)
      << r.out;
  // The disc's 12 images are one series, shown as one line; the patient's name on the disc
  // (Ivanov^Ivan^Petrovich) is the case patient's in Latin letters, so no warning.
  EXPECT_NE(r.out.find("stored    dicom    CT, 12 instances, 2026-11-10, Axial 0.5 mm  ser_"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("ANOTHER PATIENT"), std::string::npos) << r.out;
  const auto docs = Json({"docs", "--case", case_id});
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0]["kind"], "dicomdir");
  EXPECT_EQ(docs[1]["kind"], "dicom-series");
  EXPECT_EQ(docs[1]["instances"], 12);
  EXPECT_EQ(docs[1]["modality"], "CT");
  EXPECT_EQ(docs[1]["dicom_patient"], "Ivanov^Ivan^Petrovich");
  EXPECT_EQ(docs[1]["documents"].size(), 12u);
  EXPECT_EQ(docs[1]["problems"], nlohmann::json::array());
}

TEST_F(CliTest, ADiscOfAnotherPatientIsFlaggedLoudly) {
  const std::string case_id = InitPatientCase();  // Иванов Иван
  const fs::path up = dir_ / "up";
  fs::create_directories(up);
  fs::copy_file(testing::kPydicomFiles / "CT_small.dcm", up / "CT_small.dcm");
  RunResult r = Run({"ingest", "--case", case_id, up.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;  // stored: only a person can tell whose disc it is
  EXPECT_NE(r.out.find("stored    dicom    CT, 1 instance, 2004-01-19, e+1  ser_"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("          ! ANOTHER PATIENT? the patient's name on the disc is not the "
                       "case's patient's — check that this disc is theirs\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.err,
            "dossier: WARNING: 1 series may belong to another patient (marked above): check the "
            "disc before sending it to a clinic\n");
  RunResult docs = Run({"docs", "--case", case_id});
  EXPECT_NE(docs.out.find("! ANOTHER PATIENT? the patient's name on the disc is not the case's "
                          "patient's\n"),
            std::string::npos)
      << docs.out;
  EXPECT_NE(docs.out.find("0 documents, 1 DICOM instance in 1 series\n"), std::string::npos)
      << docs.out;
  const auto json = Json({"docs", "--case", case_id});
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["kind"], "dicom-series");
  EXPECT_EQ(json[0]["dicom_patient"], "CompressedSamples^CT1");
  EXPECT_EQ(json[0]["mismatch"], "the patient's name on the disc is not the case's patient's");
  EXPECT_EQ(json[0]["study_uid"], "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322");
  EXPECT_EQ(json[0]["instances"], 1);
}

TEST_F(CliTest, DicomExportIsDeidentifiedOpensAndRefusesAnotherPatientsDisc) {
  const std::string case_id = InitPatientCase();  // Иванов Иван, 1980-02-01
  const fs::path iso = dir_ / "disc.iso";
  ASSERT_EQ(std::system((std::string(DOSSIER_MAKE_CT_DISC) + " --out " + iso.string() +
                         " --instances 12 --size 64 > /dev/null")
                            .c_str()),
            0);
  ASSERT_EQ(Run({"ingest", "--case", case_id, iso.string()}).exit_code, 0);
  const fs::path out = dir_ / "export";
  RunResult r = Run({"dicom", "export", "--case", case_id, "--jpeg-ls", "-o", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("exported 1 series, 12 instances to " + out.string()), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("JPEG-LS lossless: 12 of 12 instances re-compressed"), std::string::npos)
      << r.out;
  EXPECT_TRUE(fs::exists(out / "DICOMDIR"));
  EXPECT_TRUE(fs::exists(out / "DICOM/S001/IM0012"));
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
  // The disc's name, ID, birth date, hospital and operator are nowhere in the export.
  for (const char* secret : {"Ivanov", "DEMO-0001", "19800201", "City Hospital", "Petrova"}) {
    EXPECT_EQ(testing::FilesContaining(out, secret), std::vector<std::string>{}) << secret;
  }
  // A clinic's tools open it: the DICOMDIR is valid.
  FILE* p = ::popen(("dciodvfy " + (out / "DICOMDIR").string() + " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string check;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;) check.append(buf, n);
  EXPECT_LE(WEXITSTATUS(::pclose(p)), 1) << check;
  EXPECT_NE(check.find("BasicDirectory"), std::string::npos) << check;
  EXPECT_EQ(check.find("Error"), std::string::npos) << check;

  // The same study keeps its replacement UIDs from one export to the next.
  const fs::path again = dir_ / "again";
  ASSERT_EQ(Run({"dicom", "export", "--case", case_id, "-o", again.string()}).exit_code, 0);
  auto summary = [](const fs::path& f) {
    const std::string bytes = testing::ReadFile(f);
    return dicom::Summarize({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  };
  auto first = summary(out / "DICOM/S001/IM0001");
  auto second = summary(again / "DICOM/S001/IM0001");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->study_uid, second->study_uid);
  EXPECT_EQ(first->sop_instance_uid, second->sop_instance_uid);
  EXPECT_EQ(first->patient_id, case_id);
  EXPECT_EQ(second->transfer_syntax_uid, "1.2.840.10008.1.2.1");  // no --jpeg-ls: as stored

  // The series' preview, for the portal: a PNG of its middle slice.
  const auto docs = Json({"docs", "--case", case_id});
  ASSERT_EQ(docs[1]["kind"], "dicom-series");
  EXPECT_EQ(docs[1]["preview"], true);
  const fs::path png = dir_ / "preview.png";
  RunResult pv = Run({"dicom", "preview", docs[1]["id"], "-o", png.string()});
  EXPECT_EQ(pv.exit_code, 0) << pv.err;
  EXPECT_EQ(testing::ReadFile(png).substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(Run({"dicom", "preview", "ser_nosuch0000", "-o", (dir_ / "n.png").string()}).err,
            "dossier: no DICOM series ser_nosuch0000 (see `dossier docs --case ID`)\n");

  RunResult exists = Run({"dicom", "export", "--case", case_id, "-o", out.string()});
  EXPECT_EQ(exists.exit_code, 2);
  EXPECT_EQ(exists.err,
            "dossier: " + out.string() + " already exists and is not empty: choose a new folder\n");

  // Another patient's disc is not exported by mistake.
  const fs::path up = dir_ / "up";
  fs::create_directories(up);
  fs::copy_file(testing::kPydicomFiles / "CT_small.dcm", up / "CT_small.dcm");
  ASSERT_EQ(Run({"ingest", "--case", case_id, up.string()}).exit_code, 0);
  RunResult refused = Run({"dicom", "export", "--case", case_id, "-o", (dir_ / "x").string()});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("may belong to another patient (the patient's name on the disc is "
                             "not the case's patient's): check the disc (`dossier docs --case " +
                             case_id +
                             "` shows whose it is), then export it with --allow-mismatch or "
                             "leave it out with --series"),
            std::string::npos)
      << refused.err;
  EXPECT_FALSE(fs::exists(dir_ / "x"));
  EXPECT_FALSE(fs::exists(dir_ / "x.partial"));
  EXPECT_EQ(
      Run({"dicom", "export", "--case", case_id, "--allow-mismatch", "-o", (dir_ / "x").string()})
          .exit_code,
      0);
  EXPECT_TRUE(fs::exists(dir_ / "x/DICOM/S002/IM0001"));
}

TEST_F(CliTest, PassphraseRulesAndWrongPassphraseChangesNothing) {
  RunResult none = RunDossier(vault_, "", {"init"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err,
            "dossier: no passphrase: give --passphrase-file FILE or set "
            "DOSSIER_PASSPHRASE_FILE (there is no terminal to ask on)\n");
  EXPECT_FALSE(fs::exists(vault_));

  InitPatientCase();
  RunResult twice = Run({"init"});
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_EQ(twice.err, "dossier: a vault already exists at " + vault_.string() + "\n");

  const auto before = testing::Snapshot(vault_);
  const fs::path wrong = dir_ / "wrong";
  testing::WriteFile(wrong, "not the passphrase\n");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"patient", "list"},
           {"patient", "add", "--name", "X", "--birth-date", "1990-01-01"},
           {"vault", "verify"},
           {"case", "list"}}) {
    RunResult r = RunDossier(vault_, wrong, args);
    EXPECT_EQ(r.exit_code, 4) << args[0];
    EXPECT_EQ(r.err, "dossier: wrong passphrase for the vault at " + vault_.string() + "\n");
  }
  // The one thing a wrong passphrase writes: the time of each failure, for the next unlock.
  auto after = testing::Snapshot(vault_);
  ASSERT_EQ(after.count("unlock-failures"), 1u);
  EXPECT_EQ(std::count(after["unlock-failures"].begin(), after["unlock-failures"].end(), '\n'), 4);
  after.erase("unlock-failures");
  EXPECT_EQ(after, before);
  // Reading, verifying and checkpointing the audit log need no passphrase at all.
  EXPECT_EQ(RunDossier(vault_, "", {"audit", "verify"}).exit_code, 0);
  EXPECT_EQ(RunDossier(vault_, "", {"audit", "checkpoint"}).exit_code, 0);
  EXPECT_EQ(RunDossier(vault_, "", {"audit", "log"}).exit_code, 0);
  EXPECT_EQ(RunDossier(vault_, "", {"audit", "pubkey"}).out,
            testing::ReadFile(vault_ / "audit.pub"));
  EXPECT_EQ(RunDossier(dir_ / "nowhere", "", {"audit", "verify"}).exit_code, 2);

  // The next unlock puts the failures on the signed record, once, and removes the side record.
  EXPECT_EQ(Run({"patient", "list"}).exit_code, 0);
  EXPECT_FALSE(fs::exists(vault_ / "unlock-failures"));
  int failed = 0;
  for (const auto& e : Json({"audit", "log"})) {
    if (e["action"] != "vault.unlock_failed") continue;
    ++failed;
    EXPECT_EQ(e["outcome"], "refused");
    EXPECT_TRUE(std::regex_match(e["purpose"].get<std::string>(),
                                 std::regex("count=4 first=\\S+Z last=\\S+Z")))
        << e["purpose"];
  }
  EXPECT_EQ(failed, 1);

  const fs::path next = dir_ / "next";
  testing::WriteFile(next, "another long passphrase\n");
  const std::string old_key_file = testing::ReadFile(vault_ / "vault.key");
  RunResult passwd = Run({"vault", "passwd", "--new-passphrase-file", next.string()});
  EXPECT_EQ(passwd.exit_code, 0) << passwd.err;
  EXPECT_EQ(passwd.out,
            "passphrase changed and master key rotated; neither the old passphrase nor an old "
            "copy of vault.key opens " +
                vault_.string() + "\n");
  EXPECT_EQ(Run({"patient", "list"}).exit_code, 4);
  // The old key file put back with the old passphrase: refused, naming the key file.
  const std::string new_key_file = testing::ReadFile(vault_ / "vault.key");
  testing::WriteFile(vault_ / "vault.key", old_key_file);
  RunResult stale = Run({"patient", "list"});
  EXPECT_EQ(stale.exit_code, 4);
  EXPECT_EQ(stale.err, "dossier: " + (vault_ / "vault.key").string() +
                           " is older than the catalog: the master key it holds was rotated by "
                           "`dossier vault passwd`, so this key file and its passphrase no longer "
                           "open the vault\n");
  testing::WriteFile(vault_ / "vault.key", new_key_file);
  EXPECT_EQ(RunDossier(vault_, next, {"patient", "list"}).exit_code, 0);
}

TEST_F(CliTest, AFlippedByteMakesVerifyExit3NamingTheDocument) {
  const std::string case_id = InitPatientCase();
  ASSERT_EQ(Run({"ingest", "--case", case_id, (kUpload / "epicrisis.pdf").string()}).exit_code, 0);
  const std::string doc = Json({"docs", "--case", case_id})[0]["id"];
  fs::path object;
  for (const auto& e : fs::recursive_directory_iterator(vault_ / "objects")) {
    if (e.is_regular_file()) object = e.path();
  }
  EXPECT_EQ(Run({"vault", "verify"}).exit_code, 0);
  testing::FlipByte(object, 200);
  RunResult quick = Run({"vault", "verify", "--quick"});
  EXPECT_EQ(quick.exit_code, 0);  // presence and size are fine
  RunResult full = Run({"vault", "verify"});
  EXPECT_EQ(full.exit_code, 3);
  EXPECT_EQ(full.out.rfind("corrupt       " + doc + "  object ", 0), 0u) << full.out;
  EXPECT_EQ(full.err,
            "dossier: vault verification failed: 1 document(s) damaged or missing; "
            "restore them from a backup\n");
  RunResult get = Run({"get", doc, "-o", (dir_ / "out").string()});
  EXPECT_EQ(get.exit_code, 3);
  EXPECT_FALSE(fs::exists(dir_ / "out"));  // nothing half-written
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find("out."), std::string::npos) << e.path();
  }
}

TEST_F(CliTest, CategoriesAreInferredWhereTheEvidenceIsClearAndAManagerAlwaysWins) {
  const std::string case_id = InitPatientCase();
  ASSERT_EQ(Run({"ingest", "--case", case_id, kUpload.string()}).exit_code, 0);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& d : Json({"docs", "--case", case_id})) by_name[d["name"]] = d;
  const auto& epicrisis = by_name["upload/epicrisis.pdf"];
  EXPECT_EQ(epicrisis["category"], "epicrisis");
  EXPECT_EQ(epicrisis["category_source"], "inferred");
  EXPECT_EQ(epicrisis["category_reason"], "the first page's heading says «discharge summary»");
  EXPECT_EQ(by_name["upload/mri-conclusion.jpg"]["category"], "conclusion");
  // The lab sheet is a 50 DPI picture of print. It was called unreadable (and so its text was
  // no evidence) until the OCR check learnt that type sits on its baselines (issue 22): it is
  // printed now, its words read well enough ("Hemoglobin 142 g/L"), and they say lab.
  EXPECT_EQ(by_name["upload/lab-results.png"]["verdict"], "printed");
  EXPECT_EQ(by_name["upload/lab-results.png"]["category"], "lab");
  EXPECT_EQ(by_name["upload/lab-results.png"]["category_source"], "inferred");
  EXPECT_EQ(by_name["upload/lab-results.png"]["category_reason"],
            "the first page's heading says «laboratory report»");
  int series = 0;
  for (const auto& [name, d] : by_name) {
    if (d["kind"] != "dicom-series") continue;
    ++series;
    EXPECT_EQ(d["category"], "imaging");
    EXPECT_EQ(d["category_reason"], "DICOM images");
  }
  EXPECT_EQ(series, 1);

  const std::string lab = by_name["upload/lab-results.png"]["id"];
  RunResult set = Run({"docs", "set-category", lab, "lab"});
  EXPECT_EQ(set.exit_code, 0) << set.err;
  RunResult bad = Run({"docs", "set-category", lab, "xray"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err,
            "dossier: unknown category `xray`: use one of epicrisis, conclusion, lab, imaging, "
            "referral, clinic-reply, other\n");
  const std::string epicrisis_id = epicrisis["id"];
  ASSERT_EQ(Run({"docs", "set-category", epicrisis_id, "referral"}).exit_code, 0);
  for (const auto& d : Json({"docs", "--case", case_id})) {
    if (d["id"] == lab || d["id"] == epicrisis_id) {
      EXPECT_EQ(d["category_source"], "manager") << d["id"];
      EXPECT_EQ(d["category_reason"], "set by a manager");
    }
  }
  RunResult text = Run({"docs", "--case", case_id});
  EXPECT_NE(text.out.find("category conclusion: the first page's heading says «conclusion»"),
            std::string::npos)
      << text.out;
}

TEST_F(CliTest, AllowingUnconfinedWorkersIsSaidAndAudited) {
  InitPatientCase();
  RunResult r = Run({"--allow-unconfined-workers", "case", "list"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.rfind("dossier: WARNING: --allow-unconfined-workers: analysis workers that "
                        "cannot be confined will run all the same",
                        0),
            0u)
      << r.err;
  const auto log = Json({"audit", "log"});
  int allowed = 0;
  for (const auto& e : log) {
    if (e["action"] == "worker.unconfined-allowed") {
      ++allowed;
      EXPECT_EQ(e["actor"], "tester");
    }
  }
  EXPECT_EQ(allowed, 1);
}

TEST_F(CliTest, TamperedAuditLogExits3AndCheckpointsRoundTrip) {
  InitPatientCase();
  const fs::path cp = dir_ / "checkpoint.txt";
  // A compliance officer writes and checks checkpoints without the passphrase.
  RunResult write = RunDossier(vault_, "", {"audit", "checkpoint", "-o", cp.string()});
  ASSERT_EQ(write.exit_code, 0) << write.err;
  EXPECT_EQ(testing::ReadFile(cp).rfind("dossier-audit-checkpoint v2\nvault vlt_", 0), 0u);
  RunResult ok = RunDossier(vault_, "", {"audit", "verify", "--checkpoint", cp.string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("audit log intact: 3 events"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find(", extends the checkpoint of 3 events"), std::string::npos) << ok.out;
  EXPECT_EQ(ok.out.find("note:"), std::string::npos) << ok.out;
  const auto log = Json({"audit", "log"});
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1]["action"], "patient.add");
  EXPECT_EQ(log[1]["actor"], "tester");
  EXPECT_EQ(log[1]["patient"], patient_);

  RunResult bad =
      RunDossier(vault_, "", {"audit", "verify", "--checkpoint", (dir_ / "no").string()});
  EXPECT_EQ(bad.exit_code, 2);
  ASSERT_EQ(std::system(("sqlite3 " + (vault_ / "catalog.db").string() +
                         " \"DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events "
                         "WHERE seq = 2;\"")
                            .c_str()),
            0);
  RunResult v = RunDossier(vault_, "", {"audit", "verify"});
  EXPECT_EQ(v.exit_code, 3);
  EXPECT_EQ(v.out,
            "problem: the catalog's schema was changed outside Dossier: trigger "
            "`audit_events_no_delete` is missing; restore the vault from a backup\n"
            "problem: events 2..2 are missing: deleted from the log\n"
            "problem: the signed head covers 3 events but the log holds 2: events were added "
            "or removed outside Dossier\n");
  RunResult refused = RunDossier(vault_, "", {"audit", "checkpoint"});
  EXPECT_EQ(refused.exit_code, 3);
  EXPECT_EQ(refused.out, "");
  // Nothing that unlocks the vault runs on a changed schema.
  RunResult list = Run({"patient", "list"});
  EXPECT_EQ(list.exit_code, 3);
  EXPECT_EQ(list.out, "");
}

TEST_F(CliTest, AuditVerifyPinsTheKeyAndSaysWhenItIsNotAnchored) {
  InitPatientCase();
  RunResult pub = RunDossier(vault_, "", {"audit", "pubkey"});
  ASSERT_EQ(pub.exit_code, 0);
  ASSERT_EQ(pub.out.size(), 65u);
  const std::string key = pub.out.substr(0, 64);

  RunResult alone = RunDossier(vault_, "", {"audit", "verify"});
  EXPECT_EQ(alone.exit_code, 0);
  const std::string last = alone.out.substr(alone.out.rfind('\n', alone.out.size() - 2) + 1);
  EXPECT_EQ(last.rfind("note: this checked the log against itself only, which cannot reveal a "
                       "history rewritten and re-signed by someone who can write the vault "
                       "folder; pin the key",
                       0),
            0u)
      << alone.out;

  RunResult pinned = RunDossier(vault_, "", {"audit", "verify", "--pubkey", key});
  EXPECT_EQ(pinned.exit_code, 0) << pinned.out << pinned.err;
  EXPECT_NE(pinned.out.find("signed by audit key " + key + " (the key you pinned)\n"),
            std::string::npos);
  EXPECT_EQ(pinned.out.find("note:"), std::string::npos);
  testing::WriteFile(dir_ / "audit-key.txt", key + "\nnoted on 2026-11-29\n");
  EXPECT_EQ(
      RunDossier(vault_, "", {"audit", "verify", "--pubkey", (dir_ / "audit-key.txt").string()})
          .exit_code,
      0);

  const std::string other(64, 'b');
  RunResult wrong = RunDossier(vault_, "", {"audit", "verify", "--pubkey", other});
  EXPECT_EQ(wrong.exit_code, 3);
  EXPECT_EQ(wrong.out, "problem: the audit log is signed by key " + key.substr(0, 16) +
                           " but you pinned bbbbbbbbbbbbbbbb\n");

  RunResult junk = RunDossier(vault_, "", {"audit", "verify", "--pubkey", "12ab"});
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_EQ(junk.err,
            "dossier: --pubkey 12ab: give the 64 hex characters printed by `dossier audit "
            "pubkey`, or a file whose first line holds them\n");
}

TEST_F(CliTest, EraseNeedsConfirmationThenDocumentsAreGone) {
  const std::string case_id = InitPatientCase();
  ASSERT_EQ(Run({"ingest", "--case", case_id, (kUpload / "patient-note.txt").string()}).exit_code,
            0);
  const std::string doc = Json({"docs", "--case", case_id})[0]["id"];
  RunResult noconfirm = Run({"patient", "erase", patient_});
  EXPECT_EQ(noconfirm.exit_code, 1);
  RunResult erased = Run({"patient", "erase", patient_, "--confirm"});
  EXPECT_EQ(erased.exit_code, 0) << erased.err;
  EXPECT_EQ(erased.out, "erased patient " + patient_ +
                            ": their key, personal data and document files are deleted; backups "
                            "taken before now still hold them until rotated out\n");
  for (const auto& e : fs::recursive_directory_iterator(vault_ / "objects")) {
    EXPECT_FALSE(e.is_regular_file()) << e.path();  // their document's file is gone
  }
  RunResult get = Run({"get", doc, "-o", (dir_ / "note.txt").string()});
  EXPECT_EQ(get.exit_code, 2);
  EXPECT_EQ(get.err, "dossier: document " + doc + " was erased together with patient " + patient_ +
                         ": its data no longer exists and cannot be recovered\n");
  EXPECT_EQ(RunDossier(vault_, "", {"audit", "verify"}).exit_code, 0);
  EXPECT_EQ(Run({"vault", "verify"}).exit_code, 0);
  EXPECT_EQ(Json({"patient", "show", patient_})["erased"], true);
  EXPECT_EQ(Run({"patient", "erase", "pat_nosuch0000", "--confirm"}).exit_code, 2);
}

}  // namespace
}  // namespace dossier
