// The audit log says what happened, and the command line says plainly what went wrong
// (issue 14), through the real `dossier` binary: distinct actions, real outcomes with their
// reasons, the operating-system user beside the claimed actor, the log's filters, mistyped
// commands, ids of the wrong kind, and one table of exit codes.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "tests/test_util.h"

namespace dossier {
namespace {

namespace fs = std::filesystem;
using testing::RunDossier;
using testing::RunResult;

const fs::path kUpload = fs::path(DOSSIER_SAMPLES_DIR) / "upload";
const fs::path kDoc = fs::path(DOSSIER_SAMPLES_DIR) / ".." / "doc";

std::string OsUser() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw != nullptr ? pw->pw_name : "uid-" + std::to_string(::geteuid());
}

class AuditCliTest : public testing::CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    ASSERT_EQ(Run({"init"}).exit_code, 0);
    patient_ = Line(Run({"patient", "add", "--name", "Иванов Иван", "--birth-date", "1980-02-01"}));
    case_ = Line(Run({"case", "open", "--patient", patient_, "--goal", "consultation"}));
  }
  static std::string Line(const RunResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
  }
  // Ingests the sample epicrisis; returns its document id.
  std::string IngestEpicrisis() {
    RunResult r = Run({"ingest", "--case", case_, (kUpload / "epicrisis.pdf").string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json docs = Json({"docs", "--case", case_});
    return docs.empty() ? "" : docs[0]["id"].get<std::string>();
  }
  // Ingests a DICOM file whose patient is not this case's: a series flagged as another's.
  std::string IngestForeignSeries() {
    const fs::path up = dir_ / "up";
    fs::create_directories(up);
    fs::copy_file(testing::kPydicomFiles / "CT_small.dcm", up / "CT_small.dcm");
    RunResult r = Run({"ingest", "--case", case_, up.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const auto& d : Json({"docs", "--case", case_})) {
      if (d["kind"] == "dicom-series") return d["id"];
    }
    ADD_FAILURE() << "no series";
    return "";
  }
  // `args` must be refused as a usage error (exit 1) with exactly `message`.
  void ExpectUsage(const std::vector<std::string>& args, const std::string& message) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_EQ(r.err, "dossier: " + message + "\n");
  }
  nlohmann::json Log(const std::vector<std::string>& filters = {}) {
    std::vector<std::string> a = {"audit", "log"};
    a.insert(a.end(), filters.begin(), filters.end());
    return Json(a);
  }
  nlohmann::json Last(const std::string& action) {
    const nlohmann::json events = Log({"--action", action});
    EXPECT_FALSE(events.empty()) << action;
    return events.empty() ? nlohmann::json::object() : events.back();
  }

  std::string patient_, case_;
};

TEST_F(AuditCliTest, ShowingTextAndSearchHitsIsADocumentRead) {
  const std::string doc = IngestEpicrisis();
  ASSERT_EQ(Run({"text", doc}).exit_code, 0);
  nlohmann::json read = Last("document.read");
  EXPECT_EQ(read["objects"], nlohmann::json::array({doc}));
  EXPECT_EQ(read["details"], nlohmann::json({{"via", "text"}}));
  EXPECT_EQ(read["patient"], patient_);
  EXPECT_EQ(read["outcome"], "ok");

  ASSERT_EQ(Run({"search", "--case", case_, "herniation"}).exit_code, 0);
  const nlohmann::json reads = Log({"--action", "document.read"});
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[1]["objects"], nlohmann::json::array({doc}));
  EXPECT_EQ(reads[1]["details"], nlohmann::json({{"via", "search"}}));
  // The search itself is on record too, with the case and never the query.
  const nlohmann::json search = Last("document.search");
  EXPECT_EQ(search["objects"], nlohmann::json::array({case_}));
  EXPECT_EQ(Run({"audit", "log"}).out.find("herniation"), std::string::npos);
  // A search that shows nothing reads nothing.
  ASSERT_EQ(Run({"search", "--case", case_, "nothing like this"}).exit_code, 0);
  EXPECT_EQ(Log({"--action", "document.read"}).size(), 2u);
}

TEST_F(AuditCliTest, GetIsAnExportToAFileWhoseNameIsSealed) {
  const std::string doc = IngestEpicrisis();
  const fs::path out = dir_ / "Иванов-выписка.pdf";
  RunResult get = Run({"get", doc, "-o", out.string()});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  const nlohmann::json e = Last("document.export_file");
  EXPECT_EQ(e["objects"], nlohmann::json::array({doc}));
  EXPECT_EQ(e["outcome"], "ok");
  const std::string note = e["details"]["name_note"];
  ASSERT_EQ(note.rfind("note_", 0), 0u) << e.dump();
  EXPECT_EQ(e["details"].size(), 1u);
  EXPECT_EQ(Log({"--action", "document.read"}).size(), 0u);  // not a read shown: an export
  // The name is nowhere in the vault in the clear, nor in the log; the passphrase shows it.
  EXPECT_TRUE(testing::FilesContaining(vault_, "выписка").empty());
  EXPECT_EQ(Run({"audit", "log"}).out.find("выписка"), std::string::npos);
  RunResult shown = Run({"audit", "note", note});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.out, fs::absolute(out).string() + "\n");
  EXPECT_EQ(Last("audit.note.read")["objects"], nlohmann::json::array({note}));
  EXPECT_EQ(RunDossier(vault_, "", {"audit", "note", note}).exit_code, 1);  // no passphrase
}

// A command that opened the vault and was then refused, or failed, says so on the record.
TEST_F(AuditCliTest, RefusedAndFailedCommandsRecordTheirRealOutcome) {
  const std::string doc = IngestEpicrisis();
  RunResult missing = Run({"get", "doc_nosuch0000", "-o", (dir_ / "x.pdf").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err, "dossier: no document doc_nosuch0000 (see `dossier docs --case ID`)\n");
  nlohmann::json e = Last("document.export_file");
  EXPECT_EQ(e["outcome"], "refused");
  EXPECT_EQ(e["reason"], "kNotFound");
  EXPECT_EQ(e["objects"], nlohmann::json::array({"doc_nosuch0000"}));

  RunResult text = Run({"text", "doc_nosuch0000"});
  EXPECT_EQ(text.exit_code, 2);
  e = Last("document.read");
  EXPECT_EQ(e["outcome"], "refused");
  EXPECT_EQ(e["reason"], "kNotFound");

  RunResult edit = Run({"docs", "set-category", doc, "x-rays"});
  EXPECT_EQ(edit.exit_code, 1);
  e = Last("document.categorize");
  EXPECT_EQ(e["outcome"], "refused");
  EXPECT_EQ(e["reason"], "kInvalidArgument");
  EXPECT_EQ(e["patient"], patient_);

  // Damage every object of the vault: the export is on record as granted, then as failed.
  for (const auto& entry : fs::recursive_directory_iterator(vault_ / "objects")) {
    if (entry.is_regular_file()) testing::FlipByte(entry.path(), 100);
  }
  RunResult damaged = Run({"get", doc, "-o", (dir_ / "damaged.pdf").string()});
  EXPECT_EQ(damaged.exit_code, 3) << damaged.err;
  EXPECT_FALSE(fs::exists(dir_ / "damaged.pdf"));
  const nlohmann::json exports = Log({"--action", "document.export_file"});
  ASSERT_EQ(exports.size(), 3u);
  EXPECT_EQ(exports[1]["outcome"], "ok");  // granted: on record before the first byte
  EXPECT_EQ(exports[2]["outcome"], "failed");
  EXPECT_EQ(exports[2]["reason"], "kCorrupt");
  EXPECT_EQ(exports[2]["objects"], nlohmann::json::array({doc}));
  EXPECT_EQ(exports[2]["patient"], patient_);
  EXPECT_EQ(Run({"audit", "verify"}).exit_code, 0);
}

TEST_F(AuditCliTest, ADicomExportRecordsItsSeriesPseudonymAndOverride) {
  const std::string series = IngestForeignSeries();
  RunResult refused = Run({"dicom", "export", "--case", case_, "-o", (dir_ / "x").string(),
                           "--pseudonym", "PATIENT^7K2Q"});
  EXPECT_EQ(refused.exit_code, 2);
  nlohmann::json e = Last("dicom.export");
  EXPECT_EQ(e["outcome"], "refused");
  EXPECT_EQ(e["reason"], "kRejected");
  EXPECT_EQ(e["objects"], nlohmann::json::array({case_}));
  EXPECT_EQ(e["patient"], patient_);

  RunResult allowed = Run({"dicom", "export", "--case", case_, "-o", (dir_ / "x").string(),
                           "--pseudonym", "PATIENT^7K2Q", "--allow-mismatch"});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  e = Last("dicom.export");
  EXPECT_EQ(e["outcome"], "ok");
  EXPECT_EQ(e["objects"], nlohmann::json::array({series, case_}));
  EXPECT_EQ(e["details"], nlohmann::json({{"pseudonym", "PATIENT^7K2Q"},
                                          {"allow_mismatch", "yes"},
                                          {"jpeg_ls", "no"},
                                          {"mismatch_override", series}}));
  // One event for the export, not one read per instance.
  EXPECT_EQ(Log({"--action", "document.read"}).size(), 1u);  // the preview made at ingest

  ASSERT_EQ(Run({"dicom", "export", "--case", case_, "--series", series, "--allow-mismatch", "-o",
                 (dir_ / "y").string()})
                .exit_code,
            0);
  e = Last("dicom.export");
  EXPECT_EQ(e["details"]["pseudonym"], "CASE^" + case_);
}

TEST_F(AuditCliTest, TheOperatingSystemUserIsRecordedBesideTheClaimedActor) {
  ASSERT_EQ(Run({"--actor", "Анна Петрова", "patient", "list"}).exit_code, 0);
  const nlohmann::json e = Last("patient.list");
  EXPECT_EQ(e["actor"], "Анна Петрова");
  EXPECT_EQ(e["os_user"], OsUser());
  EXPECT_EQ(e["encoding"], 2);

  const size_t before = Log().size();
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "the actor name is empty"},
      {std::string(65, 'a'), "the actor name is longer than 64 bytes"},
      {"al\tice", "the actor name holds a control character"},
  };
  for (const auto& [actor, why] : bad) {
    RunResult r = Run({"--actor", actor, "patient", "list"});
    EXPECT_EQ(r.exit_code, 1) << why;
    EXPECT_EQ(r.err, "dossier: --actor: " + why +
                         ": give who is acting, 1 to 64 bytes without control characters "
                         "(default $USER)\n");
  }
  EXPECT_EQ(Log().size(), before);  // refused before the vault was opened
}

TEST_F(AuditCliTest, TheLogHasAHeaderAndFilters) {
  ASSERT_EQ(Run({"--actor", "bob", "case", "list", "--patient", patient_}).exit_code, 0);
  RunResult table = Run({"audit", "log", "--actor", "bob"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  std::istringstream lines(table.out);
  std::string header, row, extra;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_FALSE(std::getline(lines, extra));
  EXPECT_EQ(header,
            "   SEQ  AT                    ACTOR        OS-USER      ROLE      ACTION          "
            "      OUTCOME  REASON            PATIENT          OBJECTS / DETAILS");
  EXPECT_TRUE(std::regex_match(
      row, std::regex("     4  \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  bob +" + OsUser() +
                      " +operator  case\\.list +ok +- +" + patient_ + " *")))
      << row;

  EXPECT_EQ(Log({"--action", "case."}).size(), 2u);  // case.open, case.list
  EXPECT_EQ(Log({"--action", "case.list"}).size(), 1u);
  EXPECT_EQ(Log({"--action", "case"}).size(), 0u);     // exact unless it ends in a dot
  EXPECT_EQ(Log({"--patient", patient_}).size(), 3u);  // patient.add, case.open, case.list
  EXPECT_EQ(Log({"--until", "2000-01-01"}).size(), 0u);
  EXPECT_EQ(Log({"--since", "2000-01-01", "--until", "2999-12-31"}).size(), Log().size());

  ExpectUsage({"audit", "log", "--patient", case_},
              "--patient: " + case_ +
                  " is a case, not a patient: `dossier case list` shows whose it is, `dossier "
                  "patient list` every patient");
  ExpectUsage({"audit", "log", "--patient", "Иванов"},
              "--patient: the value given is not a patient id (pat_…): `dossier patient list` "
              "shows patient ids");
  ExpectUsage({"audit", "log", "--until", "31.12.2026"},
              "--until must be a date written YYYY-MM-DD");
}

TEST_F(AuditCliTest, AMistypedCommandNamesTheWordAndTheNearestCommand) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"pateint", "list"}, "unknown command 'pateint'; did you mean 'patient'?"},
      {{"patient", "lst"}, "unknown command 'patient lst'; did you mean 'patient list'?"},
      {{"--json", "audti", "log"}, "unknown command 'audti'; did you mean 'audit'?"},
      {{"--vault", "v", "doc"}, "unknown command 'doc'; did you mean 'docs'?"},
      {{"frobnicate"}, "unknown command 'frobnicate'; see `dossier --help`"},
      {{"audit"},
       "give a command after `dossier audit`: log, note, verify, checkpoint, pubkey "
       "(see `dossier audit --help`)"},
      {{"get", "doc_0000000000", "-o", "x", "extra"},
       "unexpected argument 'extra' for `dossier get` (see `dossier get --help`)"},
  };
  for (const auto& [args, message] : cases) ExpectUsage(args, message);
}

TEST_F(AuditCliTest, OutOfRangeNumbersSayTheRuleInWords) {
  for (const char* page : {"0", "-3"}) {
    ExpectUsage({"text", "doc_0000000000", "--page", page},
                "--page: pages start at 1 (see `dossier text --help`)");
  }
  ExpectUsage({"text", "doc_0000000000", "--page", "first"},
              "--page: give a whole number (pages start at 1) (see `dossier text --help`)");
  ExpectUsage({"text", "doc_0000000000", "--page", "99999999999999999999"},
              "--page: that number is too large (pages start at 1) (see `dossier text --help`)");
}

TEST_F(AuditCliTest, AnIdOfTheWrongKindSaysWhatItIsAndHowToGetTheRightOne) {
  const std::string series = IngestForeignSeries();
  const std::string doc = Json({"docs", "--case", case_})[0]["documents"][0];
  const size_t events = Log().size();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"get", series, "-o", "x"},
       series + " is a DICOM series, not a document: use `dossier dicom preview " + series +
           " -o FILE`, or `dossier --json docs --case CASE` for its instances"},
      {{"text", patient_},
       patient_ + " is a patient, not a document: their cases are `dossier case list --patient " +
           patient_ + "`"},
      {{"docs", "--case", patient_},
       "--case: " + patient_ +
           " is a patient, not a case: their cases are `dossier case list "
           "--patient " +
           patient_ + "`"},
      {{"ingest", "--case", doc, "x"},
       "--case: " + doc +
           " is a document, not a case: give the case it is in (`dossier case "
           "list`)"},
      {{"case", "list", "--patient", case_},
       "--patient: " + case_ +
           " is a case, not a patient: `dossier case list` shows whose it is, `dossier patient "
           "list` every patient"},
      {{"dicom", "preview", doc, "-o", "x.png"},
       doc + " is a document, not a DICOM series: `dossier get " + doc +
           " -o FILE` decrypts it; DICOM series (ser_…) are listed by `dossier docs --case CASE`"},
      {{"dicom", "export", "--case", case_, "--series", "stu_0000000000", "-o", "x"},
       "--series: stu_0000000000 is a DICOM study, not a DICOM series: its series (ser_…) are "
       "listed by `dossier docs --case CASE`"},
      {{"dicom", "export", "--case", series, "-o", "x"},
       "--case: " + series +
           " is a DICOM series, not a case: give the case it is in (`dossier "
           "case list`)"},
      {{"get", "Иванов", "-o", "x"},
       "the value given is not a document id (doc_…): `dossier docs --case CASE` shows document "
       "ids"},
  };
  for (const auto& [args, message] : cases) ExpectUsage(args, message);
  EXPECT_EQ(Log().size(), events);  // refused before the vault was opened
}

// The same kind of error gets the same code in every command: whatever is missing — the
// passphrase file, a checkpoint, the folder an output goes into — is "not found", exit 2.
TEST_F(AuditCliTest, MissingFilesAndFoldersAreNotFoundEverywhere) {
  RunResult pass = RunDossier(vault_, dir_ / "no-such-pass", {"patient", "list"});
  EXPECT_EQ(pass.exit_code, 2);
  EXPECT_EQ(pass.err,
            "dossier: no such passphrase file: " + (dir_ / "no-such-pass").string() + "\n");

  RunResult checkpoint = Run({"audit", "verify", "--checkpoint", (dir_ / "no-such.cp").string()});
  EXPECT_EQ(checkpoint.exit_code, 2);
  EXPECT_EQ(checkpoint.err, "dossier: cannot read the checkpoint: no such file: " +
                                (dir_ / "no-such.cp").string() + "\n");

  const fs::path nowhere = dir_ / "no-such-folder";
  RunResult out = Run({"audit", "checkpoint", "-o", (nowhere / "cp").string()});
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_EQ(out.err, "dossier: no such folder: " + nowhere.string() +
                         " (create it first, or choose another)\n");
  const std::string series = IngestForeignSeries();
  RunResult png = Run({"dicom", "preview", series, "-o", (nowhere / "p.png").string()});
  EXPECT_EQ(png.exit_code, 2);
  EXPECT_EQ(png.err, "dossier: no such folder: " + nowhere.string() +
                         " (create it first, or choose another)\n");

  RunResult pubkey = Run({"audit", "verify", "--pubkey", (dir_ / "no-such.pub").string()});
  EXPECT_EQ(pubkey.exit_code, 2);
  RunResult from = Run({"patient", "add", "--from", (dir_ / "no-such.json").string()});
  EXPECT_EQ(from.exit_code, 2);
  RunResult next = Run({"vault", "passwd", "--new-passphrase-file", (dir_ / "nope").string()});
  EXPECT_EQ(next.exit_code, 2);
}

// One table of exit codes, in `--help` and in doc/CLI.md, which also lists every command.
TEST_F(AuditCliTest, HelpAndDocCliShowOneTableOfExitCodesAndEveryCommand) {
  const std::string help = Run({"--help"}).out;
  const std::string doc = testing::ReadFile(kDoc / "CLI.md");
  for (const char* line :
       {"  0  done",
        "  1  usage: unknown command or option, malformed value, an id of the wrong kind",
        "  2  not found or refused: no such file, folder, vault, patient, case or document;",
        "  3  integrity failure: damage or tampering found",
        "  4  authentication failed: wrong passphrase",
        "  5  I/O or internal error: the system refused a read or write; a bug"}) {
    EXPECT_NE(help.find(line), std::string::npos) << line;
  }
  for (const char* row : {"| 0 | done |", "| 3 | integrity failure: damage or tampering found |",
                          "| 4 | authentication failed: wrong passphrase |"}) {
    EXPECT_NE(doc.find(row), std::string::npos) << row;
  }
  // Every command and subcommand `--help` shows has its line in doc/CLI.md.
  const std::regex command_line("^  ([a-z][a-z-]*)  ");
  auto commands_of = [&](const std::string& text) {
    std::vector<std::string> out;
    bool in_subcommands = false;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line == "Subcommands:") in_subcommands = true;
      std::smatch m;
      if (in_subcommands && std::regex_search(line, m, command_line)) out.push_back(m[1]);
    }
    return out;
  };
  const auto top = commands_of(help);
  EXPECT_GE(top.size(), 12u);
  for (const auto& c : top) {
    const auto subs = commands_of(Run({c, "--help"}).out);
    if (subs.empty() || c == "docs") {
      EXPECT_NE(doc.find("| `dossier " + c + "` |"), std::string::npos) << c;
    }
    for (const auto& s : subs) {
      EXPECT_NE(doc.find("| `dossier " + c + " " + s + "` |"), std::string::npos) << c << " " << s;
    }
  }
}

}  // namespace
}  // namespace dossier
