// Clinics, consents and the operator's settings through the real `dossier` binary (Clinic
// requests 1/3): exact outputs and exit codes, nothing stored on bad input, every consent
// event audited, the FHIR R4 Consent resource's required elements and invariant ppc-1.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace dossier {
namespace {

namespace fs = std::filesystem;
using testing::RunDossier;
using testing::RunResult;

const fs::path kUpload = fs::path(DOSSIER_SAMPLES_DIR) / "upload";

class ConsentTest : public testing::CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    ASSERT_EQ(Run({"init"}).exit_code, 0);
    patient_ =
        Line(Run({"patient", "add", "--name", "Петрова Мария", "--birth-date", "1969-04-12"}));
    ASSERT_EQ(Run({"vault", "settings", "--operator", "MedTravel LLC", "--country", "ru",
                   "--time-zone", "Europe/Moscow"})
                  .exit_code,
              0);
    clinic_ = Line(
        Run({"clinic", "add", "Charité Berlin", "--country", "de", "--email", "intl@charite.de"}));
    ASSERT_EQ(clinic_.rfind("cli_", 0), 0u) << clinic_;
  }
  static std::string Line(const RunResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
  }
  // `consent add` with defaults; `extra` gives options (and values) that replace or add to them.
  std::vector<std::string> Add(const std::vector<std::string>& extra) {
    std::vector<std::pair<std::string, std::string>> options = {
        {"--patient", patient_},
        {"--recipient", "Charité Berlin"},
        {"--purpose", "second-opinion"},
        {"--categories", "epicrisis,imaging"},
        {"--until", "2099-12-31"}};
    for (size_t i = 0; i + 1 < extra.size(); i += 2) {
      auto it = std::find_if(options.begin(), options.end(),
                             [&](const auto& o) { return o.first == extra[i]; });
      if (it != options.end()) {
        it->second = extra[i + 1];
      } else {
        options.emplace_back(extra[i], extra[i + 1]);
      }
    }
    std::vector<std::string> a = {"consent", "add"};
    for (const auto& [k, v] : options) {
      a.push_back(k);
      a.push_back(v);
    }
    return a;
  }
  std::vector<std::string> Actions() {
    std::vector<std::string> out;
    for (const auto& e : Json({"audit", "log"})) out.push_back(e["action"]);
    return out;
  }

  std::string patient_, clinic_;
};

TEST_F(ConsentTest, ClinicsAreFoundByIdOrExactNameWithCloseMatchesOtherwise) {
  const auto list = Json({"clinic", "list"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "Charité Berlin");
  EXPECT_EQ(list[0]["country"], "DE");
  EXPECT_EQ(Json({"clinic", "show", clinic_})["email"], "intl@charite.de");

  RunResult twice = Run({"clinic", "add", "Charité Berlin", "--country", "DE"});
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_EQ(twice.err,
            "dossier: a clinic named «Charité Berlin» is already registered as " + clinic_ + "\n");
  RunResult country = Run({"clinic", "add", "Sheba", "--country", "Israel"});
  EXPECT_EQ(country.exit_code, 1);
  EXPECT_EQ(country.err,
            "dossier: --country ISRAEL: give the ISO 3166-1 two-letter code, e.g. "
            "DE, IL, TR, KR\n");
  RunResult near = Run({"clinic", "show", "Charite Berlin"});
  EXPECT_EQ(near.exit_code, 2);
  EXPECT_EQ(near.err,
            "dossier: no clinic is registered as «Charite Berlin»: did you mean «Charité "
            "Berlin» (" +
                clinic_ + "); give its id or exact name (see `dossier clinic list`)\n");

  ASSERT_EQ(Run({"clinic", "edit", clinic_, "--email", "second-opinion@charite.de"}).exit_code, 0);
  EXPECT_EQ(Json({"clinic", "show", "Charité Berlin"})["email"], "second-opinion@charite.de");
  const auto actions = Actions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "clinic.add"), 1);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "clinic.edit"), 1);
}

TEST_F(ConsentTest, AConsentIsRecordedWithItsScanShownAndRevoked) {
  const std::string scan = (kUpload / "epicrisis.pdf").string();  // any real PDF stands in
  const std::string id = Line(Run(Add(
      {"--purpose", "second-opinion,treatment-planning", "--scan", scan, "--from", "2026-01-01"})));
  ASSERT_EQ(id.rfind("con_", 0), 0u) << id;
  auto c = Json({"consent", "show", id});
  EXPECT_EQ(c["patient"], patient_);
  EXPECT_EQ(c["recipient"], clinic_);
  EXPECT_EQ(c["recipient_country"], "DE");
  EXPECT_EQ(c["cross_border"], true);
  EXPECT_EQ(c["operator"], "MedTravel LLC");
  EXPECT_EQ(c["how_to_withdraw"],
            "a written statement to MedTravel LLC, at any time: recorded with `dossier consent "
            "revoke`, it stops further transfers at once");
  EXPECT_EQ(c["purposes"], (nlohmann::json{"second-opinion", "treatment-planning"}));
  EXPECT_EQ(c["categories"], (nlohmann::json{"epicrisis", "imaging"}));
  EXPECT_EQ(c["from"], "2026-01-01");
  EXPECT_EQ(c["until"], "2099-12-31");
  EXPECT_EQ(c["state"], "active");
  EXPECT_EQ(c["scan"]["kind"], "pdf");
  EXPECT_EQ(c["scan"]["size"], fs::file_size(scan));
  EXPECT_EQ(c["scan"]["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(c["recorded_by"], "tester");

  // The scan is an object of the vault's: verified like a document, never an orphan.
  RunResult verify = Run({"vault", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_EQ(verify.out, "decrypted and authenticated 1 document(s): all intact\n");

  RunResult listed = Run({"consent", "list", "--active"});
  EXPECT_NE(listed.out.find(id + "  " + patient_ + "  " + clinic_ +
                            "  2026-01-01  2099-12-31  "
                            "active"),
            std::string::npos)
      << listed.out;

  RunResult revoked =
      Run({"consent", "revoke", id, "--reason", "передумала", "--received", "2026-11-20"});
  EXPECT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_EQ(revoked.out, id + " revoked; new exports under it are refused; destruction due by "
                              "2026-12-20\n");
  c = Json({"consent", "show", id});
  EXPECT_EQ(c["state"], "revoked");
  EXPECT_EQ(c["revocation_reason"], "передумала");
  EXPECT_EQ(c["destruction_due"], "2026-12-20");
  EXPECT_EQ(Json({"consent", "list", "--active"}).size(), 0u);
  EXPECT_EQ(Json({"consent", "list", "--revoked"}).size(), 1u);
  RunResult again = Run({"consent", "revoke", id, "--reason", "again"});
  EXPECT_EQ(again.exit_code, 2);

  // Every consent event is in the log, with ids only.
  const auto actions = Actions();
  for (const char* a : {"consent.add", "consent.read", "consent.list", "consent.revoke"}) {
    EXPECT_NE(std::find(actions.begin(), actions.end(), a), actions.end()) << a;
  }
  // The reason and the representative are sealed: not in any file of the vault.
  for (const auto& f : fs::recursive_directory_iterator(vault_)) {
    if (!f.is_regular_file()) continue;
    EXPECT_EQ(testing::ReadFile(f.path()).find("передумала"), std::string::npos) << f.path();
  }
}

TEST_F(ConsentTest, BadInputNamesTheFieldAndStoresNothing) {
  struct Case {
    std::vector<std::string> extra;
    int code;
    std::string err;
  };
  const std::vector<Case> cases = {
      {{"--purpose", "holiday"},
       2,
       "--purpose holiday: unknown; give one or more of second-opinion, treatment-planning, "
       "telemedicine, treatment"},
      {{"--categories", "xray"},
       2,
       "--categories xray: unknown; give one or more of epicrisis, conclusion, lab, imaging, "
       "referral, clinic-reply, other"},
      {{"--until", "2020-01-01"}, 2, ""},  // message checked below (depends on today)
      {{"--from", "2099-06-01", "--until", "2099-01-01"},
       2,
       "--until 2099-01-01 is before --from 2099-06-01"},
      {{"--until", "31.12.2099"}, 1, "--until must be a date written YYYY-MM-DD"},
      {{"--recipient", "Nowhere Clinic"},
       2,
       "no clinic is registered as «Nowhere Clinic»; give its id or exact name (see `dossier "
       "clinic list`)"},
      {{"--representative", "Петров Пётр"},
       1,
       "--representative and --authority go together: a representative signs on the strength "
       "of a document (a power of attorney, a guardianship decision)"},
      {{"--scan", (kUpload / "patient-note.txt").string()},
       2,
       "--scan is not a PDF or an image (JPEG, PNG, TIFF, HEIC): scan or photograph the signed "
       "consent"},
  };
  for (const auto& c : cases) {
    RunResult r = Run(Add(c.extra));
    EXPECT_EQ(r.exit_code, c.code) << c.extra[0] << ": " << r.err;
    if (!c.err.empty()) {
      EXPECT_EQ(r.err, "dossier: " + c.err + "\n") << c.extra[0];
    }
    if (c.extra[1] == "2020-01-01") {
      EXPECT_EQ(r.err.rfind("dossier: --until 2020-01-01 is in the past (today is ", 0), 0u)
          << r.err;
    }
  }
  RunResult unknown_patient =
      Run({"consent", "add", "--patient", "pat_nosuch0000", "--recipient", clinic_, "--purpose",
           "treatment", "--categories", "lab", "--until", "2099-01-01"});
  EXPECT_EQ(unknown_patient.exit_code, 2);
  EXPECT_EQ(Json({"consent", "list"}).size(), 0u);  // nothing stored
  int objects = 0;
  for (const auto& f : fs::recursive_directory_iterator(vault_ / "objects")) {
    objects += f.is_regular_file();
  }
  EXPECT_EQ(objects, 0);
}

// The signed consent photographed with an iPhone: kept as it came, shown as a HEIC, and
// typed as one in the FHIR resource.
TEST_F(ConsentTest, ASignedConsentPhotographedInHeicIsTakenAsItsScan) {
  const fs::path photo = fs::path(DOSSIER_SAMPLES_DIR) / "phone" / "neurologist-photo.heic";
  const std::string id = Line(Run(Add({"--scan", photo.string()})));
  ASSERT_EQ(id.rfind("con_", 0), 0u) << id;
  const auto c = Json({"consent", "show", id});
  EXPECT_EQ(c["scan"]["kind"], "heic");
  EXPECT_EQ(c["scan"]["size"], fs::file_size(photo));
  EXPECT_EQ(c["scan"]["sha256"], testing::FileSha256(photo));
  const auto r = Json({"consent", "show", id, "--fhir"});
  EXPECT_EQ(r["sourceAttachment"]["contentType"], "image/heic");
  EXPECT_EQ(Run({"vault", "verify"}).exit_code, 0);
}

TEST_F(ConsentTest, FhirConsentHasTheRequiredElementsAndSatisfiesPpc1) {
  const std::string id =
      Line(Run(Add({"--representative", "Петров Пётр", "--authority", "доверенность 77 АБ 123",
                    "--scan", (kUpload / "epicrisis.pdf").string()})));
  const auto r = Json({"consent", "show", id, "--fhir"});
  EXPECT_EQ(r["resourceType"], "Consent");
  EXPECT_EQ(r["id"], id);
  EXPECT_EQ(r["status"], "active");            // 1..1, from the required value set
  ASSERT_EQ(r["scope"]["coding"].size(), 1u);  // 1..1
  EXPECT_EQ(r["scope"]["coding"][0]["code"], "patient-privacy");
  ASSERT_GE(r["category"].size(), 1u);  // 1..*
  EXPECT_EQ(r["category"][0]["coding"][0]["system"], "http://loinc.org");
  EXPECT_EQ(r["category"][0]["coding"][0]["code"], "59284-0");
  EXPECT_EQ(r["patient"]["reference"], "Patient/" + patient_);    // ppc-2: privacy needs a patient
  EXPECT_TRUE(r.contains("policyRule") || r.contains("policy"));  // ppc-1
  EXPECT_EQ(r["performer"][0]["display"], "Петров Пётр (доверенность 77 АБ 123)");
  EXPECT_EQ(r["organization"][0]["display"], "MedTravel LLC");
  EXPECT_EQ(r["sourceAttachment"]["contentType"], "application/pdf");
  EXPECT_FALSE(r["sourceAttachment"].contains("data"));  // the digest, never the content
  EXPECT_EQ(r["sourceAttachment"]["extension"][0]["valueString"].get<std::string>().size(), 64u);
  const auto& p = r["provision"];
  EXPECT_EQ(p["type"], "permit");
  EXPECT_EQ(p["period"]["end"], "2099-12-31");
  EXPECT_EQ(p["actor"][0]["role"]["coding"][0]["code"], "IRCP");
  EXPECT_EQ(p["actor"][0]["reference"]["identifier"]["value"], clinic_);
  EXPECT_EQ(p["purpose"][0]["code"], "second-opinion");
  EXPECT_EQ(p["class"].size(), 2u);
  EXPECT_EQ(p["class"][1]["code"], "imaging");

  ASSERT_EQ(Run({"consent", "revoke", id, "--reason", "withdrawn"}).exit_code, 0);
  EXPECT_EQ(Json({"consent", "show", id, "--fhir"})["status"], "inactive");
}

TEST_F(ConsentTest, ErasingThePatientDestroysTheScanAndSealedFields) {
  const std::string id =
      Line(Run(Add({"--representative", "Петров Пётр", "--authority", "доверенность", "--scan",
                    (kUpload / "epicrisis.pdf").string()})));
  ASSERT_EQ(Run({"patient", "erase", patient_, "--confirm"}).exit_code, 0);
  int objects = 0;
  for (const auto& f : fs::recursive_directory_iterator(vault_ / "objects")) {
    objects += f.is_regular_file();
  }
  EXPECT_EQ(objects, 0);
  const auto c = Json({"consent", "show", id});
  EXPECT_EQ(c["representative"], "");
  EXPECT_EQ(c["scan"]["sha256"], "");
  EXPECT_EQ(Run({"vault", "verify"}).exit_code, 0);
}

}  // namespace
}  // namespace dossier
