// The clinic's reply (Clinic requests 3/3) through the real binary: `ingest --reply-to` files
// the answer as `clinic-reply` documents linked to their request and marks it answered, in
// the ledger (`export list`, `export show`), in the audit log and under the row MACs; a
// request the ledger does not hold, or of another case, is refused before anything is stored.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "common/clock.h"
#include "tests/test_util.h"

namespace dossier {
namespace {

namespace fs = std::filesystem;
using testing::RunResult;

const fs::path kUpload = fs::path(DOSSIER_SAMPLES_DIR) / "upload";

// A case with one note, exported once to a clinic; a second, empty case of the same patient.
// Made once and copied into each test's own folder.
struct Template {
  fs::path dir;
  std::string patient, case_id, other_case, clinic, consent, note, note_category;
  nlohmann::json request;  // `dossier --json export`'s report
};
Template* g_template = nullptr;

class ExportReplyTest : public testing::CliTestBase {
 protected:
  static void SetUpTestSuite() {
    g_template = new Template;
    Template& t = *g_template;
    t.dir = fs::temp_directory_path() / ("dossier-reply-template-" + std::to_string(::getpid()));
    fs::remove_all(t.dir);
    fs::create_directories(t.dir);
    const fs::path vault = t.dir / "vault", pass = t.dir / "pass";
    testing::WriteFile(pass, std::string(testing::kPassphrase) + "\n");
    auto run = [&](const std::vector<std::string>& args) {
      RunResult r = testing::RunDossier(vault, pass, args);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
    };
    run({"init"});
    run({"vault", "settings", "--operator", "MedTravel LLC", "--country", "RU", "--time-zone",
         "Europe/Moscow"});
    t.patient =
        run({"patient", "add", "--name", "Иванов Иван Петрович", "--birth-date", "1980-02-01"});
    t.case_id = run({"case", "open", "--patient", t.patient, "--goal", "second opinion"});
    t.other_case = run({"case", "open", "--patient", t.patient, "--goal", "rehabilitation"});
    t.clinic = run({"clinic", "add", "Charité Berlin", "--country", "DE"});
    t.consent =
        run({"consent", "add", "--patient", t.patient, "--recipient", t.clinic, "--purpose",
             "second-opinion", "--categories", "conclusion,other", "--until", "2099-12-31"});
    run({"ingest", "--case", t.case_id, (kUpload / "patient-note.txt").string()});
    const auto docs = nlohmann::json::parse(run({"--json", "docs", "--case", t.case_id}));
    t.note = docs[0]["id"];
    t.note_category = docs[0]["category"];
    t.request =
        nlohmann::json::parse(run({"--json", "export", "--case", t.case_id, "--recipient", t.clinic,
                                   "--out", (t.dir / "sent").string(), "--no-encryption"}));
  }
  static void TearDownTestSuite() {
    fs::remove_all(g_template->dir);
    delete g_template;
    g_template = nullptr;
  }
  void SetUp() override {
    CliTestBase::SetUp();
    // A failure while the template was made would otherwise show as skipped tests.
    ASSERT_FALSE(
        ::testing::UnitTest::GetInstance()->current_test_suite()->ad_hoc_test_result().Failed())
        << "the suite's shared setup failed: see the messages above";
    const Template& t = *g_template;
    fs::copy(t.dir / "vault", vault_, fs::copy_options::recursive);
    case_ = t.case_id;
    other_case_ = t.other_case;
    clinic_ = t.clinic;
    request_ = t.request["request_id"];
    export_ = t.request["export_id"];
    due_ = t.request["due"];
  }

  // The documents of a case, by id.
  std::map<std::string, nlohmann::json> Docs(const std::string& case_id) {
    std::map<std::string, nlohmann::json> out;
    for (const auto& d : Json({"docs", "--case", case_id})) out[d["id"]] = d;
    return out;
  }
  // `ingest --reply-to` of the sample epicrisis (a printed letter whose heading alone would
  // make it an `epicrisis`) and the photographed MRI conclusion.
  RunResult Reply(const std::string& id, const std::string& case_id) {
    return Run({"ingest", "--case", case_id, "--reply-to", id, (kUpload / "epicrisis.pdf").string(),
                (kUpload / "mri-conclusion.jpg").string()});
  }
  std::vector<nlohmann::json> Events(const std::string& action) {
    std::vector<nlohmann::json> out;
    for (const auto& e : Json({"audit", "log"})) {
      if (e["action"] == action) out.push_back(e);
    }
    return out;
  }
  // One row of `export list` as it prints it.
  static std::string Row(const nlohmann::json& r, const std::string& state,
                         const std::string& answered) {
    char line[512];
    std::snprintf(line, sizeof line, "%-14s  %-14s  %-14s  %-20s  %-20s  %-8s  %-20s  %zu\n",
                  r["request_id"].get<std::string>().c_str(),
                  r["case_id"].get<std::string>().c_str(),
                  r["clinic_id"].get<std::string>().c_str(),
                  r["sent_at"].get<std::string>().c_str(), r["due"].get<std::string>().c_str(),
                  state.c_str(), answered.c_str(), r["parts"].get<size_t>());
    return line;
  }
  static std::string Header() {
    char line[256];
    std::snprintf(line, sizeof line, "%-14s  %-14s  %-14s  %-20s  %-20s  %-8s  %-20s  %s\n",
                  "REQUEST", "CASE", "CLINIC", "SENT", "DUE", "STATE", "ANSWERED", "PARTS");
    return line;
  }

  std::string case_, other_case_, clinic_, request_, export_, due_;
};

TEST_F(ExportReplyTest, AReplyIsFiledAsClinicReplyAndMarksItsRequestAnswered) {
  const auto before = Docs(case_);
  RunResult r = Reply(request_, case_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("2 stored, 0 duplicate, 0 skipped, 0 rejected\n2 document(s) filed as the "
                       "clinic's reply to " +
                       request_ + ": `dossier export show " + request_ + "`\n"),
            std::string::npos)
      << r.out;
  // Two new documents, both clinic-reply: the letter's heading («выписной эпикриз») and the
  // photo's OCR do not override it.
  std::vector<std::string> replies;
  for (const auto& [id, d] : Docs(case_)) {
    if (before.count(id)) continue;
    replies.push_back(id);
    EXPECT_EQ(d["category"], "clinic-reply") << d;
    EXPECT_EQ(d["category_source"], "reply") << d;
  }
  ASSERT_EQ(replies.size(), 2u);

  // The ledger: answered, at the time of the reply's audit event, in the same transaction.
  const auto filed = Events("export.reply");
  ASSERT_EQ(filed.size(), 2u);
  EXPECT_EQ(filed[0]["objects"][0], request_);
  EXPECT_EQ(filed[0]["objects"][1], export_);
  EXPECT_EQ(filed[0]["objects"][3], case_);
  EXPECT_EQ(filed[0]["details"]["first_reply"], "yes");
  EXPECT_EQ(filed[1]["details"]["first_reply"], "no");
  const std::string answered_at = filed[0]["at"];
  auto list = Json({"export", "list"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["state"], "answered");
  EXPECT_EQ(list[0]["answered_at"], answered_at);
  EXPECT_EQ(list[0]["replies"], 2);
  RunResult text = Run({"export", "list"});
  EXPECT_EQ(text.out, Header() + Row(list[0], "answered", answered_at));

  // A second reply, by the export id: listed too; the request keeps its first answer time.
  RunResult again = Run(
      {"ingest", "--case", case_, "--reply-to", export_, (kUpload / "lab-results.png").string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  list = Json({"export", "list"});
  EXPECT_EQ(list[0]["answered_at"], answered_at);
  EXPECT_EQ(list[0]["replies"], 3);
  // The same letter again is a duplicate: stored once, not linked a second time.
  RunResult same = Run(
      {"ingest", "--case", case_, "--reply-to", request_, (kUpload / "epicrisis.pdf").string()});
  ASSERT_EQ(same.exit_code, 0) << same.err;
  EXPECT_NE(same.out.find("0 stored, 1 duplicate, 0 skipped, 0 rejected\nnothing was filed as the "
                          "clinic's reply to " +
                          request_ + "\n"),
            std::string::npos)
      << same.out;
  EXPECT_EQ(Json({"export", "list"})[0]["replies"], 3);
  const auto shown = Json({"export", "show", request_});
  std::set<std::string> listed;
  for (const auto& d : shown["replies"]) {
    listed.insert(d["id"]);
    EXPECT_EQ(d["category"], "clinic-reply");
  }
  EXPECT_EQ(listed.size(), 3u);
  for (const auto& id : replies) EXPECT_TRUE(listed.count(id)) << id;
  EXPECT_EQ(shown["replies"][0]["filed_at"], answered_at);

  // Everything on record and intact.
  EXPECT_EQ(Events("export.reply").size(), 3u);
  RunResult audit = Run({"audit", "verify"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  RunResult verify = Run({"vault", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST_F(ExportReplyTest, AnUnknownRequestIsRefusedBeforeAnythingIsStored) {
  const auto before = Docs(case_);
  const auto snapshot = testing::Snapshot(vault_ / "objects");
  for (const std::string id : {"req_nosuch0000", "exp_nosuch0000"}) {
    RunResult r = Reply(id, case_);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err, "dossier: no export request " + id +
                         " in the ledger: `dossier export list "
                         "--case " +
                         case_ + "` shows the case's requests\n");
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(Docs(case_), before);
  EXPECT_EQ(testing::Snapshot(vault_ / "objects"), snapshot);
  EXPECT_EQ(Json({"export", "list"})[0]["state"], "sent");
  // Each refusal is on record, naming the id.
  const auto refused = Events("export.reply");
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0]["outcome"], "refused");
  EXPECT_EQ(refused[0]["reason"], "kNotFound");
  EXPECT_EQ(refused[0]["objects"], nlohmann::json({"req_nosuch0000", case_}));

  // Not an id at all: a usage error, before the vault is opened; never repeated (a name?).
  RunResult typo = Reply("Charité letter", case_);
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_EQ(typo.err,
            "dossier: --reply-to: the value given is not a request id (req_…): `dossier export "
            "list` shows request ids (req_…)\n");
  RunResult wrong_kind = Reply(case_, case_);
  EXPECT_EQ(wrong_kind.exit_code, 1);
  EXPECT_EQ(wrong_kind.err, "dossier: --reply-to: " + case_ +
                                " is a case, not a request: `dossier export list` shows request "
                                "ids (req_…)\n");
  EXPECT_EQ(Docs(case_), before);
}

TEST_F(ExportReplyTest, ARequestOfAnotherCaseIsRefusedAndNothingIsStored) {
  const auto before = Docs(case_);
  RunResult r = Reply(request_, other_case_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "dossier: request " + request_ + " was sent from case " + case_ + ", not " +
                       other_case_ +
                       ": file the clinic's reply in its case (`dossier ingest "
                       "--case " +
                       case_ + " --reply-to " + request_ + " FILE…`)\n");
  RunResult by_export = Reply(export_, other_case_);
  EXPECT_EQ(by_export.exit_code, 2);
  EXPECT_EQ(by_export.err, "dossier: export " + export_ + " (request " + request_ +
                               ") was sent from case " + case_ + ", not " + other_case_ +
                               ": file the clinic's reply in its case (`dossier ingest --case " +
                               case_ + " --reply-to " + export_ + " FILE…`)\n");
  EXPECT_EQ(Json({"docs", "--case", other_case_}).size(), 0u);
  EXPECT_EQ(Docs(case_), before);
  const auto list = Json({"export", "list"});
  EXPECT_EQ(list[0]["state"], "sent");
  EXPECT_EQ(list[0]["replies"], 0);
  const auto refused = Events("export.reply");
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0]["reason"], "kRejected");
}

TEST_F(ExportReplyTest, OverdueMovesWithTheDueDateAndTheReply) {
  // An urgent request beside the template's: due 24 hours after it was sent.
  RunResult urgent_run = Run({"--json", "export", "--case", case_, "--recipient", clinic_, "--out",
                              (dir_ / "urgent").string(), "--no-encryption", "--urgent"});
  ASSERT_EQ(urgent_run.exit_code, 0) << urgent_run.err;
  const auto urgent = nlohmann::json::parse(urgent_run.out);
  const std::string urgent_due_day = urgent["due"].get<std::string>().substr(0, 10);
  auto ledger = Json({"export", "list"});
  ASSERT_EQ(ledger.size(), 2u);
  const nlohmann::json& normal_row = ledger[0];
  const nlohmann::json& urgent_row = ledger[1];
  auto overdue = [&](const std::string& date) {
    RunResult r = Run({"export", "list", "--overdue", "--as-of", date});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  // Not answered: overdue only after the due date (time).
  ASSERT_LT(urgent_due_day, due_);  // tomorrow, against 5 working days
  EXPECT_EQ(overdue(due_), Header() + Row(urgent_row, "overdue", "-"));
  const std::string after = AddDays(std::max(due_, urgent_due_day), 1);
  EXPECT_EQ(overdue(after),
            Header() + Row(normal_row, "overdue", "-") + Row(urgent_row, "overdue", "-"));

  // Answered (today, before either was due): never overdue again.
  ASSERT_EQ(Reply(request_, case_).exit_code, 0);
  ASSERT_EQ(Run({"ingest", "--case", case_, "--reply-to", urgent["request_id"],
                 (kUpload / "lab-results.png").string()})
                .exit_code,
            0);
  ledger = Json({"export", "list"});
  EXPECT_EQ(overdue(after), Header());
  EXPECT_EQ(overdue("2099-01-01"), Header());
  const std::string answered = ledger[0]["answered_at"];
  EXPECT_EQ(Run({"export", "list", "--as-of", after}).out,
            Header() + Row(ledger[0], "answered", answered) +
                Row(ledger[1], "answered", ledger[1]["answered_at"]));
  // As of a day before the answer, it was still waiting.
  const auto earlier = Json({"export", "list", "--as-of", "2000-01-01"});
  EXPECT_EQ(earlier[0]["state"], "sent");
  EXPECT_EQ(earlier[1]["state"], "sent");
}

TEST_F(ExportReplyTest, ShowPrintsTheRequestItsPartsDocumentsAndReplies) {
  const auto& sent = g_template->request;
  const std::string note = g_template->note;
  const auto list = Json({"export", "list"});
  const std::string sent_at = list[0]["sent_at"];
  const std::string actor = Json({"export", "show", request_})["sent_by"];
  auto expected = [&](const std::string& state, const std::string& replies) {
    std::string out = "request:   " + request_ + "\n" + "export:    " + export_ + "\n" +
                      "case:      " + case_ + "\n" + "clinic:    " + clinic_ +
                      " (Charité Berlin)\n" + "consent:   " + g_template->consent + "\n" +
                      "purpose:   second-opinion\n" + "urgent:    no\n" + "sent:      " + sent_at +
                      " by " + actor + "\n" + "due:       " + due_ + "\n" + "state:     " + state +
                      "\n" + "parts (1):\n";
    const auto& part = sent["parts"][0];
    char size[64];
    const uint64_t bytes = part["size"];
    std::snprintf(size, sizeof size, bytes < 1024 ? "%.0f B" : "%.1f KiB",
                  bytes < 1024 ? static_cast<double>(bytes) : bytes / 1024.0);
    out += "  " + part["name"].get<std::string>() + "  " + size + "  " +
           part["sha256"].get<std::string>() + "\n";
    out += "documents sent (1):\n  " + note + "  " + g_template->note_category + "\n";
    return out + replies;
  };
  RunResult before = Run({"export", "show", request_});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_EQ(before.out, expected("sent",
                                 "replies (0):\n  none yet: file the clinic's answer with "
                                 "`dossier ingest --case " +
                                     case_ + " --reply-to " + request_ + " FILE…`\n"));

  ASSERT_EQ(
      Run({"ingest", "--case", case_, "--reply-to", request_, (kUpload / "epicrisis.pdf").string()})
          .exit_code,
      0);
  const auto j = Json({"export", "show", export_});  // the export id shows the same request
  EXPECT_EQ(j["request_id"], request_);
  EXPECT_EQ(j["consent_id"], g_template->consent);
  EXPECT_EQ(j["documents"], nlohmann::json::array({{{"id", note},
                                                    {"kind", "text"},
                                                    {"category", g_template->note_category},
                                                    {"status", "stored"}}}));
  ASSERT_EQ(j["replies"].size(), 1u);
  const std::string reply = j["replies"][0]["id"];
  const std::string at = j["answered_at"];
  EXPECT_EQ(j["replies"][0], nlohmann::json({{"id", reply},
                                             {"kind", "pdf"},
                                             {"category", "clinic-reply"},
                                             {"status", "stored"},
                                             {"filed_at", at}}));
  RunResult after = Run({"export", "show", export_});
  EXPECT_EQ(after.out, expected("answered " + at,
                                "replies (1):\n  " + reply + "  clinic-reply  " + at + "\n"));
  // No file name or title appears: ids and categories only.
  EXPECT_EQ(after.out.find("epicrisis.pdf"), std::string::npos);
  EXPECT_EQ(after.out.find("patient-note"), std::string::npos);

  RunResult unknown = Run({"export", "show", "req_nosuch0000"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err,
            "dossier: no export request req_nosuch0000 in the ledger: `dossier "
            "export list` shows the requests\n");
}

TEST_F(ExportReplyTest, AnAnswerChangedOutsideDossierIsCaught) {
  ASSERT_EQ(Reply(request_, case_).exit_code, 0);
  const std::string message = "dossier: request " + request_ +
                              " was changed outside Dossier: its catalog row no longer matches "
                              "its MAC; restore the vault from a backup\n";
  // Unanswering it (to make it look overdue) …
  testing::RunSql(vault_ / "catalog.db",
                  "UPDATE requests SET answered_at = NULL WHERE id = '" + request_ + "'");
  for (const auto& args :
       {std::vector<std::string>{"vault", "verify"}, std::vector<std::string>{"export", "list"},
        std::vector<std::string>{"export", "show", request_}}) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 3) << args[0];
    EXPECT_EQ(r.err, message) << args[0];
  }
}

TEST_F(ExportReplyTest, AForgedAnswerOrReplyLinkIsCaught) {
  testing::RunSql(
      vault_ / "catalog.db",
      "UPDATE requests SET answered_at = '2026-01-05T10:00:00Z' WHERE id = '" + request_ + "'");
  RunResult forged = Run({"vault", "verify"});
  EXPECT_EQ(forged.exit_code, 3);
  EXPECT_EQ(forged.err, "dossier: request " + request_ +
                            " was changed outside Dossier: its catalog row no longer matches its "
                            "MAC; restore the vault from a backup\n");
  testing::RunSql(vault_ / "catalog.db",
                  "UPDATE requests SET answered_at = NULL WHERE id = '" + request_ + "'");
  ASSERT_EQ(Run({"vault", "verify"}).exit_code, 0);

  // A reply's link moved onto another document (the case's note, made to look like an answer).
  ASSERT_EQ(
      Run({"ingest", "--case", case_, "--reply-to", request_, (kUpload / "epicrisis.pdf").string()})
          .exit_code,
      0);
  const std::string note = g_template->note;
  testing::RunSql(vault_ / "catalog.db", "UPDATE request_replies SET doc_id = '" + note + "'");
  RunResult moved = Run({"export", "show", request_});
  EXPECT_EQ(moved.exit_code, 3);
  EXPECT_EQ(moved.err, "dossier: the reply link of document " + note +
                           " was changed outside Dossier: its catalog row no longer matches its "
                           "MAC; restore the vault from a backup\n");
}

}  // namespace
}  // namespace dossier
