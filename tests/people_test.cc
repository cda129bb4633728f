// Corrections to patients and cases through the real `dossier` binary (issue 14): patient and
// case edits, closing and reopening cases, the rules patient fields follow, the same-patient
// check, `{"id": …}` for what is created, and counts that agree between commands.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "tests/test_util.h"

namespace dossier {
namespace {

namespace fs = std::filesystem;
using testing::RunResult;

const fs::path kUpload = fs::path(DOSSIER_SAMPLES_DIR) / "upload";

class PeopleTest : public testing::CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    ASSERT_EQ(Run({"init"}).exit_code, 0);
    patient_ = Add(R"({"name": "Иванов Иван", "birth_date": "1980-02-01",
                      "phone": "+7 900 123-45-67", "email": "ivanov@example.ru"})");
    case_ = Line(Run({"case", "open", "--patient", patient_, "--goal", "consultation"}));
  }
  static std::string Line(const RunResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
  }
  RunResult WithInput(const std::vector<std::string>& args, const std::string& input) {
    return testing::RunDossierWithInput(vault_, pass_, args, input);
  }
  std::string Add(const std::string& json) {
    return Line(WithInput({"patient", "add", "--from", "-"}, json));
  }
  nlohmann::json Events() { return Json({"audit", "log"}); }
  // The last event of `action`, or null.
  nlohmann::json Last(const std::string& action) {
    nlohmann::json found;
    for (const auto& e : Events()) {
      if (e["action"] == action) found = e;
    }
    return found;
  }
  static std::string Today() {
    return FormatLocalDate(std::chrono::system_clock::now(), SystemTimeZone());
  }

  std::string patient_, case_;
};

TEST_F(PeopleTest, PatientEditChangesTheGivenFieldsAndAuditsTheirNamesOnly) {
  RunResult phone = Run({"patient", "edit", patient_, "--phone", "+7 (901) 765-43-21"});
  ASSERT_EQ(phone.exit_code, 0) << phone.err;
  EXPECT_EQ(phone.out, "patient " + patient_ + ": changed phone\n");

  RunResult from = WithInput({"patient", "edit", patient_, "--from", "-"},
                             R"({"name": "Иванов Иван Петрович", "email": ""})");
  ASSERT_EQ(from.exit_code, 0) << from.err;
  EXPECT_EQ(from.out, "patient " + patient_ + ": changed name, email\n");

  const nlohmann::json p = Json({"patient", "show", patient_});
  EXPECT_EQ(p["name"], "Иванов Иван Петрович");
  EXPECT_EQ(p["birth_date"], "1980-02-01");  // absent from the JSON: kept
  EXPECT_EQ(p["phone"], "+7 (901) 765-43-21");
  EXPECT_EQ(p["email"], "");

  const nlohmann::json e = Last("patient.edit");
  EXPECT_EQ(e["objects"], nlohmann::json::array({patient_}));
  EXPECT_EQ(e["patient"], patient_);
  EXPECT_EQ(e["purpose"], "changed=name,email");
  EXPECT_EQ(e["outcome"], "ok");
  const RunResult log = Run({"audit", "log", "--json"});
  EXPECT_EQ(log.out.find("Петрович"), std::string::npos);
  EXPECT_EQ(log.out.find("765-43-21"), std::string::npos);
  // Sealed, not stored in the clear anywhere in the vault.
  EXPECT_TRUE(testing::FilesContaining(vault_, "Петрович").empty());
  EXPECT_TRUE(testing::FilesContaining(vault_, "765-43-21").empty());
  EXPECT_EQ(Run({"vault", "verify"}).exit_code, 0);  // the row MAC still matches

  // --json says what changed.
  const nlohmann::json j = Json({"patient", "edit", patient_, "--birth-date", "1980-02-02"});
  EXPECT_EQ(j,
            nlohmann::json({{"id", patient_}, {"changed", nlohmann::json::array({"birth_date"})}}));
}

TEST_F(PeopleTest, AnEditThatChangesNothingSaysSoAndRecordsNothing) {
  const size_t before = Events().size();
  RunResult same =
      Run({"patient", "edit", patient_, "--name", "Иванов Иван", "--email", "ivanov@example.ru"});
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_EQ(same.out,
            "patient " + patient_ + ": nothing changed (the values given are the ones stored)\n");
  RunResult kase = Run({"case", "edit", case_, "--goal", "consultation"});
  EXPECT_EQ(kase.exit_code, 0) << kase.err;
  EXPECT_EQ(kase.out,
            "case " + case_ + ": nothing changed (the values given are the ones stored)\n");
  EXPECT_EQ(Events().size(), before);
  EXPECT_TRUE(Last("patient.edit").is_null());
  EXPECT_TRUE(Last("case.edit").is_null());
}

TEST_F(PeopleTest, EditingAnErasedUnknownOrUnnamedPatientIsRefused) {
  RunResult nothing = Run({"patient", "edit", patient_});
  EXPECT_EQ(nothing.exit_code, 1);
  EXPECT_EQ(nothing.err,
            "dossier: nothing to change: give --name, --birth-date, --phone or --email, or the "
            "fields as JSON with --from FILE|-\n");
  RunResult mixed = WithInput({"patient", "edit", patient_, "--from", "-", "--name", "X"}, "{}");
  EXPECT_EQ(mixed.exit_code, 1);
  EXPECT_EQ(mixed.err,
            "dossier: --from cannot be combined with --name, --birth-date, --phone or --email: "
            "put every field in the JSON\n");
  RunResult unknown = Run({"patient", "edit", "pat_nosuch0000", "--phone", "+79001234567"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err, "dossier: no patient pat_nosuch0000 (see `dossier patient list`)\n");

  ASSERT_EQ(Run({"patient", "erase", patient_, "--confirm"}).exit_code, 0);
  RunResult erased = Run({"patient", "edit", patient_, "--phone", "+79001234567"});
  EXPECT_EQ(erased.exit_code, 2);
  EXPECT_EQ(erased.err.rfind("dossier: patient " + patient_ + " was erased on ", 0), 0u)
      << erased.err;
  EXPECT_NE(erased.err.find(": there is nothing to edit\n"), std::string::npos) << erased.err;
  RunResult kase = Run({"case", "edit", case_, "--goal", "other"});
  EXPECT_EQ(kase.exit_code, 2);
  EXPECT_EQ(kase.err, "dossier: case " + case_ + " belongs to an erased patient\n");
  // The refusal is on record as refused, with its reason's code; nothing was changed.
  EXPECT_EQ(Last("patient.edit")["outcome"], "refused");
  EXPECT_EQ(Last("patient.edit")["reason"], "kRejected");
}

// Each field's rule, for add and edit, by flag and by JSON: exit 1 naming the field and the
// rule, never the value, and nothing stored.
TEST_F(PeopleTest, BadFieldsAreRefusedNamingTheFieldAndTheRule) {
  const std::string today = Today();
  const std::string phone_rule =
      "must be a phone number: an optional leading +, then 7 to 15 digits, which spaces, "
      "hyphens and parentheses may group (+7 900 123-45-67)";
  struct Case {
    std::string flag, field, value, rule;
  };
  const std::vector<Case> bad = {
      {"--birth-date", "birth_date", "2999-01-01",
       "must not be in the future (today is " + today + ")"},
      {"--birth-date", "birth_date", "1899-12-31", "must not be before 1900-01-01"},
      {"--birth-date", "birth_date", "1980-02-30", "must be a real date written YYYY-MM-DD"},
      {"--birth-date", "birth_date", "01.02.1980", "must be a real date written YYYY-MM-DD"},
      {"--phone", "phone", "12-34-56", phone_rule},              // 6 digits
      {"--phone", "phone", "+1234567890123456", phone_rule},     // 16 digits
      {"--phone", "phone", "+7 900 123-45-67 ext", phone_rule},  // letters
      {"--phone", "phone", "7+9001234567", phone_rule},          // + not first
      {"--email", "email", "ivanov.example.ru",
       "must be an e-mail address written name@domain.tld"},
      {"--email", "email", "ivanov@example", "must be an e-mail address written name@domain.tld"},
      {"--name", "name", "Иванов\nИван", "must be one line of 1 to 200 characters"},
      {"--name", "name", std::string(201, 'a'), "must be one line of 1 to 200 characters"},
  };
  const auto before = testing::Snapshot(vault_);
  for (const auto& c : bad) {
    std::vector<std::string> add = {
        "patient",      "add",
        "--name",       c.flag == "--name" ? c.value : "Петрова Анна",
        "--birth-date", c.flag == "--birth-date" ? c.value : "1990-03-04"};
    if (c.flag == "--phone" || c.flag == "--email") {
      add.push_back(c.flag);
      add.push_back(c.value);
    }
    RunResult r = Run(add);
    EXPECT_EQ(r.exit_code, 1) << c.value;
    EXPECT_EQ(r.err, "dossier: " + c.flag + " " + c.rule + "\n") << c.value;

    nlohmann::json fields = {{"name", "Петрова Анна"}, {"birth_date", "1990-03-04"}};
    fields[c.field] = c.value;
    RunResult j = WithInput({"patient", "add", "--from", "-"}, fields.dump());
    EXPECT_EQ(j.exit_code, 1) << c.value;
    EXPECT_EQ(j.err, "dossier: --from -: field `" + c.field + "` " + c.rule + "\n") << c.value;

    RunResult e = Run({"patient", "edit", patient_, c.flag, c.value});
    EXPECT_EQ(e.exit_code, 1) << c.value;
    EXPECT_EQ(e.err, "dossier: " + c.flag + " " + c.rule + "\n") << c.value;
    for (const auto* out : {&r.err, &j.err, &e.err}) {
      if (c.value.size() > 3) {
        EXPECT_EQ(out->find(c.value), std::string::npos) << *out;
      }
    }
  }
  EXPECT_EQ(testing::Snapshot(vault_), before);  // nothing stored, not even an audit event

  // The edges that pass.
  for (const std::string& date : {std::string("1900-01-01"), today}) {
    EXPECT_EQ(Run({"patient", "edit", patient_, "--birth-date", date}).exit_code, 0) << date;
  }
  for (const char* phone : {"+7 (900) 123-45-67", "1234567", "+123456789012345", ""}) {
    EXPECT_EQ(Run({"patient", "edit", patient_, "--phone", phone}).exit_code, 0) << phone;
  }
}

TEST_F(PeopleTest, TheSamePatientTwiceNeedsDuplicateOk) {
  const std::string same = R"({"name": "  иванов   ИВАН ", "birth_date": "1980-02-01"})";
  const auto before = testing::Snapshot(vault_);
  RunResult again = WithInput({"patient", "add", "--from", "-"}, same);
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_EQ(again.err, "dossier: patient " + patient_ +
                           " has the same name and birth date (see `dossier patient show " +
                           patient_ +
                           "`); if this is another person, add them with --duplicate-ok\n");
  EXPECT_EQ(again.out, "");
  EXPECT_EQ(Json({"patient", "list"}).size(), 1u);
  RunResult flags = Run({"patient", "add", "--name", "Иванов Иван", "--birth-date", "1980-02-01"});
  EXPECT_EQ(flags.exit_code, 2);

  // Another birth date, or another name, is another patient.
  EXPECT_NE(Add(R"({"name": "Иванов Иван", "birth_date": "1980-02-02"})"), "");
  EXPECT_NE(Add(R"({"name": "Иванов Иван Петрович", "birth_date": "1980-02-01"})"), "");

  RunResult ok = WithInput({"patient", "add", "--duplicate-ok", "--from", "-"}, same);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const std::string twin = ok.out.substr(0, ok.out.size() - 1);
  EXPECT_EQ(ok.err, "dossier: warning: patient " + patient_ +
                        " has the same name and birth date; " + twin +
                        " was added as another person (--duplicate-ok)\n");
  const nlohmann::json e = Last("patient.add");
  EXPECT_EQ(e["objects"], nlohmann::json::array({twin, patient_}));
  EXPECT_EQ(e["purpose"], "same name and birth date allowed");

  // An erased patient is nobody's twin.
  ASSERT_EQ(Run({"patient", "erase", patient_, "--confirm"}).exit_code, 0);
  RunResult named = WithInput({"patient", "add", "--from", "-"}, same);
  EXPECT_EQ(named.exit_code, 2);
  EXPECT_NE(named.err.find("dossier: patient " + twin + " has the same name"), std::string::npos)
      << named.err;
  ASSERT_EQ(Run({"patient", "erase", twin, "--confirm"}).exit_code, 0);
  EXPECT_NE(Add(same), "");
}

TEST_F(PeopleTest, ClosedCasesTakeNothingUntilReopened) {
  RunResult close = Run({"case", "close", case_});
  ASSERT_EQ(close.exit_code, 0) << close.err;
  EXPECT_EQ(close.out, "closed case " + case_ +
                           ": nothing can be added to it until `dossier case "
                           "reopen " +
                           case_ + "`; its documents can still be read and exported\n");
  RunResult twice = Run({"case", "close", case_});
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_EQ(twice.err, "dossier: case " + case_ + " is already closed (`dossier case reopen " +
                           case_ + "` opens it again)\n");
  EXPECT_EQ(Json({"case", "list"})[0]["status"], "closed");

  RunResult ingest = Run({"ingest", "--case", case_, (kUpload / "epicrisis.pdf").string()});
  EXPECT_EQ(ingest.exit_code, 2);
  EXPECT_EQ(ingest.err, "dossier: case " + case_ +
                            " is closed: nothing can be added to it "
                            "(`dossier case reopen " +
                            case_ + "` opens it again)\n");
  EXPECT_EQ(Json({"docs", "--case", case_}).size(), 0u);

  // A closed case can still be corrected.
  RunResult edit = Run({"case", "edit", case_, "--goal", "neurosurgery", "--question", "operate?"});
  ASSERT_EQ(edit.exit_code, 0) << edit.err;
  EXPECT_EQ(edit.out, "case " + case_ + ": changed goal, question\n");

  RunResult reopen = Run({"case", "reopen", case_});
  ASSERT_EQ(reopen.exit_code, 0) << reopen.err;
  EXPECT_EQ(reopen.out, "reopened case " + case_ + ": documents can be added again\n");
  RunResult open = Run({"case", "reopen", case_});
  EXPECT_EQ(open.exit_code, 2);
  EXPECT_EQ(open.err, "dossier: case " + case_ + " is already open\n");
  EXPECT_EQ(Run({"ingest", "--case", case_, (kUpload / "epicrisis.pdf").string()}).exit_code, 0);

  // Every act is on record with its real outcome: the second close and reopen were refused.
  std::vector<std::string> actions;
  for (const auto& e : Events()) {
    const std::string action = e["action"];
    if (action.rfind("case.", 0) == 0 && e["objects"] == nlohmann::json::array({case_})) {
      actions.push_back(action + " " + e["outcome"].get<std::string>());
    }
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"case.open ok", "case.close ok",
                                               "case.close refused", "case.edit ok",
                                               "case.reopen ok", "case.reopen refused"}));
  EXPECT_EQ(Last("case.edit")["purpose"], "changed=goal,question");
  EXPECT_EQ(Last("case.close")["patient"], patient_);

  RunResult unknown = Run({"case", "close", "case_nosuch0000"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err, "dossier: no case case_nosuch0000 (see `dossier case list`)\n");
}

TEST_F(PeopleTest, CaseEditChangesGoalAndQuestion) {
  RunResult q = Run({"case", "edit", case_, "--question", "which surgeon?"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(q.out, "case " + case_ + ": changed question\n");
  EXPECT_EQ(Json({"case", "list"})[0]["question"], "which surgeon?");
  EXPECT_EQ(Json({"case", "edit", case_, "--question", ""}),
            nlohmann::json({{"id", case_}, {"changed", nlohmann::json::array({"question"})}}));
  EXPECT_EQ(Json({"case", "list"})[0]["question"], "");
  EXPECT_EQ(Json({"case", "list"})[0]["goal"], "consultation");
  EXPECT_TRUE(testing::FilesContaining(vault_, "surgeon").empty());

  RunResult empty = Run({"case", "edit", case_, "--goal", ""});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_EQ(empty.err,
            "dossier: --goal is empty: a case needs one (to remove the question, give "
            "--question '')\n");
  RunResult none = Run({"case", "edit", case_});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err, "dossier: nothing to change: give --goal or --question\n");
}

// The status is covered by the row MAC: a closed case set back to open behind Dossier's back
// is reported, not obeyed.
TEST_F(PeopleTest, ACaseReopenedOutsideDossierIsCaught) {
  ASSERT_EQ(Run({"case", "close", case_}).exit_code, 0);
  testing::RunSql(vault_ / "catalog.db", "UPDATE cases SET status = 'open'");
  RunResult ingest = Run({"ingest", "--case", case_, (kUpload / "epicrisis.pdf").string()});
  EXPECT_EQ(ingest.exit_code, 3);
  EXPECT_NE(ingest.err.find("case " + case_ + " was changed outside Dossier"), std::string::npos)
      << ingest.err;
}

TEST_F(PeopleTest, CaseListOfAnUnknownPatientIsNotFound) {
  RunResult r = Run({"case", "list", "--patient", "pat_nosuch0000"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "dossier: no patient pat_nosuch0000 (see `dossier patient list`)\n");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Json({"case", "list", "--patient", patient_}).size(), 1u);
}

TEST_F(PeopleTest, HelpTeachesTheCorrections) {
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> pages = {
      {{"patient", "--help"}, {"edit"}},
      {{"patient", "add", "--help"}, {"--duplicate-ok", "7 to 15 digits", "1900-01-01"}},
      {{"patient", "edit", "--help"}, {"--from", "only the fields to change", "'' removes it"}},
      {{"case", "--help"}, {"edit", "close", "reopen"}},
      {{"case", "close", "--help"}, {"`ingest` refuses", "reopened"}},
      {{"case", "edit", "--help"}, {"--goal", "--question", "'' removes it"}},
      {{"case", "list", "--help"}, {"DOCUMENTS", "DICOM-INSTANCES"}},
  };
  for (const auto& [args, words] : pages) {
    const RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << args[1];
    for (const auto& w : words) EXPECT_NE(r.out.find(w), std::string::npos) << w << "\n" << r.out;
  }
}

TEST_F(PeopleTest, CreatingCommandsPrintAJsonObjectWithJson) {
  const nlohmann::json p =
      Json({"patient", "add", "--name", "Петрова Анна", "--birth-date", "1990-03-04"});
  ASSERT_TRUE(p.is_object()) << p;
  EXPECT_EQ(p.size(), 1u);
  const std::string id = p["id"];
  EXPECT_EQ(id.rfind("pat_", 0), 0u);
  const nlohmann::json c = Json({"case", "open", "--patient", id, "--goal", "second opinion"});
  ASSERT_TRUE(c.is_object()) << c;
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(std::string(c["id"]).rfind("case_", 0), 0u);
  EXPECT_EQ(Json({"case", "list", "--patient", id})[0]["id"], c["id"]);
}

// `case list`, `patient show` and `docs` count the same things, in the same words.
TEST_F(PeopleTest, CountsAgreeAndSayWhatTheyCount) {
  const fs::path up = dir_ / "up";
  fs::create_directories(up);
  fs::copy_file(kUpload / "epicrisis.pdf", up / "epicrisis.pdf");
  fs::copy_file(kUpload / "patient-note.txt", up / "patient-note.txt");
  fs::copy_file(testing::kPydicomFiles / "CT_small.dcm", up / "CT_small.dcm");
  RunResult ing = Run({"ingest", "--case", case_, up.string()});
  ASSERT_EQ(ing.exit_code, 0) << ing.err << ing.out;

  const nlohmann::json list = Json({"case", "list"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["documents"], 2);
  EXPECT_EQ(list[0]["dicom_instances"], 1);
  const RunResult text = Run({"case", "list"});
  EXPECT_EQ(text.out.substr(0, text.out.find('\n')),
            "ID                PATIENT          STATUS  DOCUMENTS DICOM-INSTANCES  CREATED        "
            "      GOAL");
  EXPECT_NE(text.out.find(" open            2               1  "), std::string::npos) << text.out;

  const nlohmann::json show = Json({"patient", "show", patient_});
  ASSERT_EQ(show["cases"].size(), 1u);
  EXPECT_EQ(show["cases"][0]["id"], case_);
  EXPECT_EQ(show["cases"][0]["documents"], 2);
  EXPECT_EQ(show["cases"][0]["dicom_instances"], 1);
  EXPECT_NE(Run({"patient", "show", patient_})
                .out.find("case:     " + case_ +
                          "  open  2 documents, 1 DICOM instance  "
                          "consultation\n"),
            std::string::npos);

  const RunResult docs = Run({"docs", "--case", case_});
  EXPECT_NE(docs.out.find("\n2 documents, 1 DICOM instance in 1 series\n"), std::string::npos)
      << docs.out;
}

}  // namespace
}  // namespace dossier
