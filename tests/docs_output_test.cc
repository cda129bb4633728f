// Getting documents out and what an upload says, through the real `dossier` binary (issue 14):
// `get -o` into folders under the document's own name, made safe; every bad path of an ingest
// refused before anything is stored; plain-text documents searchable and shown by `text`; the
// wrong-patient warnings with the facts to resolve them, on the terminal and in `docs` only;
// a refused DICOM export naming every blocked series. Exact outputs and exit codes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>

#include "tests/test_util.h"

namespace dossier {
namespace {

namespace fs = std::filesystem;
using testing::RunResult;

const fs::path kUpload = fs::path(DOSSIER_SAMPLES_DIR) / "upload";
const fs::path kCtSmall = testing::kPydicomFiles / "CT_small.dcm";  // CompressedSamples^CT1
const fs::path kMrSmall = testing::kPydicomFiles / "MR_small.dcm";  // CompressedSamples^MR1

class DocsOutputTest : public testing::CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    ASSERT_EQ(Run({"init"}).exit_code, 0);
    patient_ = Line(Run({"patient", "add", "--name", "Иванов Иван", "--birth-date", "1980-02-01"}));
    case_ = Line(Run({"case", "open", "--patient", patient_, "--goal", "second opinion"}));
  }
  static std::string Line(const RunResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
  }
  RunResult Ingest(const std::vector<std::string>& paths) {
    std::vector<std::string> a = {"ingest", "--case", case_};
    a.insert(a.end(), paths.begin(), paths.end());
    return Run(a);
  }
  // The id of the case's document named `name` (`docs --json`).
  std::string DocNamed(const std::string& name) {
    for (const auto& d : Json({"docs", "--case", case_})) {
      if (d["name"] == name) return d["id"];
    }
    ADD_FAILURE() << "no document " << name;
    return "";
  }
  // A copy of a pydicom file with DICOM elements changed by DCMTK's dcmodify
  // (e.g. {"-i", "(0010,0030)=19700505", "-gin"}).
  fs::path ModifiedDicom(const fs::path& from, const std::string& name,
                         const std::vector<std::string>& changes) {
    const fs::path to = dir_ / "dicom" / name;
    fs::create_directories(to.parent_path());
    fs::copy_file(from, to);
    std::string cmd = "dcmodify -nb";
    for (const auto& c : changes) cmd += " '" + c + "'";
    EXPECT_EQ(std::system((cmd + " " + to.string() + " > /dev/null 2>&1").c_str()), 0) << cmd;
    return to;
  }
  std::string AuditLog() {
    RunResult log = Run({"--json", "audit", "log"});
    EXPECT_EQ(log.exit_code, 0) << log.err;
    return Run({"audit", "log"}).out + log.out;
  }
  std::string patient_, case_;
};

// --- get -o -----------------------------------------------------------------------------

TEST_F(DocsOutputTest, GetMakesMissingFoldersAndWritesIntoAFolderUnderTheDocumentsOwnName) {
  ASSERT_EQ(Ingest({(kUpload / "epicrisis.pdf").string()}).exit_code, 0);
  const std::string doc = DocNamed("epicrisis.pdf");
  const std::string original = testing::ReadFile(kUpload / "epicrisis.pdf");

  // Missing folders are made, as `dicom export` makes its own.
  const fs::path deep = dir_ / "a" / "b" / "c" / "copy.pdf";
  RunResult made = Run({"get", doc, "-o", deep.string()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(testing::ReadFile(deep), original);
  EXPECT_EQ(made.err, "decrypted " + doc + " to " + deep.string() +
                          " (this copy is not encrypted: delete it when done)\n");

  // An existing folder: the file goes in under the document's original name.
  const fs::path folder = dir_ / "for-clinic";
  fs::create_directories(folder);
  RunResult into = Run({"get", doc, "-o", folder.string()});
  ASSERT_EQ(into.exit_code, 0) << into.err;
  EXPECT_EQ(testing::ReadFile(folder / "epicrisis.pdf"), original);
  EXPECT_EQ(into.err, "decrypted " + doc + " to " + (folder / "epicrisis.pdf").string() +
                          " (this copy is not encrypted: delete it when done)\n");

  // A file of that name is not replaced without --force; the message names the option,
  // never the name (it is personal data).
  testing::WriteFile(folder / "epicrisis.pdf", "mine");
  RunResult kept = Run({"get", doc, "-o", folder.string()});
  EXPECT_EQ(kept.exit_code, 2);
  EXPECT_EQ(kept.err, "dossier: " + folder.string() + " already holds a file with document " + doc +
                          "'s name: add --force to replace it, or give another -o\n");
  EXPECT_EQ(testing::ReadFile(folder / "epicrisis.pdf"), "mine");
  RunResult forced = Run({"get", doc, "-o", folder.string(), "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(testing::ReadFile(folder / "epicrisis.pdf"), original);

  // A path ending in "/" is a folder, made when missing.
  const fs::path fresh = dir_ / "new" / "folder";
  RunResult slash = Run({"get", doc, "-o", fresh.string() + "/"});
  ASSERT_EQ(slash.exit_code, 0) << slash.err;
  EXPECT_EQ(testing::ReadFile(fresh / "epicrisis.pdf"), original);

  // A file where a folder should be: refused, naming the option.
  testing::WriteFile(dir_ / "plain", "x");
  RunResult blocked = Run({"get", doc, "-o", (dir_ / "plain" / "copy.pdf").string()});
  EXPECT_EQ(blocked.exit_code, 2);
  EXPECT_EQ(blocked.err, "dossier: cannot make the folder " + (dir_ / "plain").string() +
                             ": a file is in the way — give another -o\n");
}

TEST_F(DocsOutputTest, GetIntoAFolderUsesOnlyASafeLastComponentOfTheName) {
  // Names as uploads give them: a path inside a folder, terminal escapes, an invisible
  // right-to-left override, leading dots, nothing usable at all.
  const fs::path up = dir_ / "up";
  fs::create_directories(up / "sub");
  testing::WriteFile(up / "sub" / "deep.pdf", testing::MinimalPdf("deep"));
  const std::string tricky = "..\x1b[2J.\xE2\x80\xAEscan\x07.pdf";
  testing::WriteFile(dir_ / tricky, testing::MinimalPdf("tricky"));
  testing::WriteFile(dir_ / "...", "only dots\n");
  ASSERT_EQ(Ingest({up.string(), (dir_ / tricky).string(), (dir_ / "...").string()}).exit_code, 0);
  const fs::path out = dir_ / "out";
  fs::create_directories(out);
  for (const std::string& name : std::vector<std::string>{"up/sub/deep.pdf", tricky, "..."}) {
    RunResult r = Run({"get", DocNamed(name), "-o", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(out)) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"deep.pdf", "[2J.scan.pdf", DocNamed("...") + ".txt"}));
  EXPECT_EQ(testing::ReadFile(out / "[2J.scan.pdf"), testing::MinimalPdf("tricky"));
}

TEST_F(DocsOutputTest, AFailedGetLeavesNoFileInTheFolderItMade) {
  ASSERT_EQ(Ingest({(kUpload / "epicrisis.pdf").string()}).exit_code, 0);
  const std::string doc = DocNamed("epicrisis.pdf");
  for (const auto& e : fs::recursive_directory_iterator(vault_ / "objects")) {
    if (e.is_regular_file()) testing::FlipByte(e.path(), 200);
  }
  const fs::path folder = dir_ / "made" / "here";
  RunResult r = Run({"get", doc, "-o", folder.string() + "/"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  ASSERT_TRUE(fs::is_directory(folder));
  EXPECT_TRUE(fs::is_empty(folder));  // the plaintext went to an unnamed file, never linked
}

// --- ingest of several paths -------------------------------------------------------------

TEST_F(DocsOutputTest, EveryBadPathIsNamedBeforeAnythingIsStored) {
  const fs::path good = kUpload / "epicrisis.pdf";
  const fs::path nowhere = dir_ / "nowhere.pdf";
  const fs::path pipe = dir_ / "pipe";
  ASSERT_EQ(::mkfifo(pipe.c_str(), 0600), 0);
  const fs::path link = dir_ / "link.pdf";
  fs::create_symlink(good, link);
  RunResult r = Ingest({good.string(), nowhere.string(), pipe.string(), link.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "dossier: cannot ingest 3 of the 4 paths given — " + nowhere.string() +
                       ": no such file or folder; " + pipe.string() +
                       ": not a file or folder (a pipe, device or socket); " + link.string() +
                       ": a symbolic link, not followed (give the file it points to). Nothing was "
                       "stored: correct these paths or leave them out and ingest again\n");
  EXPECT_EQ(Json({"docs", "--case", case_}), nlohmann::json::array());
  EXPECT_EQ(AuditLog().find("document.store"), std::string::npos);

  RunResult one = Ingest({good.string(), nowhere.string()});
  EXPECT_EQ(one.exit_code, 2);
  EXPECT_EQ(one.err, "dossier: cannot ingest " + nowhere.string() +
                         ": no such file or folder. Nothing was stored: correct the path or leave "
                         "it out and ingest again\n");
  RunResult alone = Ingest({nowhere.string()});
  EXPECT_EQ(alone.exit_code, 2);
  EXPECT_EQ(alone.err, "dossier: cannot ingest " + nowhere.string() +
                           ": no such file or folder. Nothing was stored: correct the path and "
                           "ingest again\n");
  EXPECT_EQ(Json({"docs", "--case", case_}), nlohmann::json::array());
}

TEST_F(DocsOutputTest, AnUnreadablePathIsNamedBeforeAnythingIsStored) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file: run as another user";
  const fs::path locked = dir_ / "locked.pdf";
  testing::WriteFile(locked, testing::MinimalPdf("locked"));
  fs::permissions(locked, fs::perms::none);
  RunResult r = Ingest({(kUpload / "epicrisis.pdf").string(), locked.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "dossier: cannot ingest " + locked.string() +
                       ": cannot be read (Permission denied). Nothing was stored: correct the "
                       "path or leave it out and ingest again\n");
  EXPECT_EQ(Json({"docs", "--case", case_}), nlohmann::json::array());
}

// --- plain text --------------------------------------------------------------------------

TEST_F(DocsOutputTest, PlainTextIsSearchableInUtf8AndTheCyrillicCodePagesAndShownAsWritten) {
  const std::string note = "Жалобы: боли в пояснице с октября.\nПрошу посмотреть МРТ.\n";
  testing::WriteFile(dir_ / "note.txt", note);
  // "Поясница болит" in Windows-1251 and in KOI8-R.
  testing::WriteFile(dir_ / "cp1251.txt",
                     "\xCF\xEE\xFF\xF1\xED\xE8\xF6\xE0 \xE1\xEE\xEB\xE8\xF2\r\n");
  testing::WriteFile(dir_ / "koi8.txt", "\xF0\xCF\xD1\xD3\xCE\xC9\xC3\xC1 \xC2\xCF\xCC\xC9\xD4\n");
  RunResult ing = Ingest(
      {(dir_ / "note.txt").string(), (dir_ / "cp1251.txt").string(), (dir_ / "koi8.txt").string()});
  ASSERT_EQ(ing.exit_code, 0) << ing.err;
  const std::string note_id = DocNamed("note.txt");
  const std::string cp1251 = DocNamed("cp1251.txt");
  const std::string koi8 = DocNamed("koi8.txt");

  RunResult found = Run({"search", "--case", case_, "пояснице"});
  EXPECT_EQ(found.exit_code, 0) << found.err;
  EXPECT_EQ(found.out, note_id + " p.1   note.txt\n" + std::string(21, ' ') +
                           "Жалобы: боли в пояснице с октября. Прошу посмотреть МРТ.\n"
                           "1 page(s) found\n");
  const auto both = Json({"search", "--case", case_, "ПОЯСНИЦА болит"});
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0]["id"], cp1251);
  EXPECT_EQ(both[0]["snippet"], "Поясница болит");
  EXPECT_EQ(both[1]["id"], koi8);

  RunResult text = Run({"text", note_id});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out, note);                                 // as written: no page headers
  EXPECT_EQ(Run({"text", cp1251}).out, "Поясница болит\n");  // CR LF made LF, in UTF-8
  const auto pages = Json({"text", koi8});
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_EQ(pages[0]["text"], "Поясница болит\n");
  EXPECT_EQ(pages[0]["verdict"], "printed");
  // The text is sealed like OCR text: not in the catalog in the clear.
  EXPECT_EQ(testing::FilesContaining(vault_, "октября"), std::vector<std::string>{});
}

TEST_F(DocsOutputTest, ATextFileIsShownWithoutTheControlCharactersATerminalWouldObey) {
  // A few control characters in much text: still text by its bytes.
  const std::string filler(400, 'x');
  testing::WriteFile(dir_ / "escape.txt", "before \x1b]0;owned\x07\x1b[2Jafter\n" + filler + "\n");
  RunResult ing = Ingest({(dir_ / "escape.txt").string()});
  ASSERT_EQ(ing.exit_code, 0) << ing.out << ing.err;
  EXPECT_EQ(Run({"text", DocNamed("escape.txt")}).out, "before ]0;owned[2Jafter\n" + filler + "\n");
}

TEST_F(DocsOutputTest, ALongTextFileIsReadWholeInPagesCutAtLineEnds) {
  std::string big;
  for (int i = 0; big.size() < 300 * 1024; ++i) {
    big += "line " + std::to_string(i) + " of a long laboratory export\n";
  }
  big += "the last line names ferritin\n";
  testing::WriteFile(dir_ / "lab-export.csv", big);
  ASSERT_EQ(Ingest({(dir_ / "lab-export.csv").string()}).exit_code, 0);
  const std::string doc = DocNamed("lab-export.csv");
  const auto pages = Json({"text", doc});
  ASSERT_EQ(pages.size(), 3u);  // at most 128 KiB each
  std::string joined;
  for (const auto& p : pages) {
    const std::string t = p["text"];
    EXPECT_LE(t.size(), 128u * 1024);
    EXPECT_EQ(t.back(), '\n');
    joined += t;
  }
  EXPECT_EQ(joined, big);
  EXPECT_EQ(Run({"text", doc}).out, big);
  const auto hit = Json({"search", "--case", case_, "names ferritin"});
  ASSERT_EQ(hit.size(), 1u);
  EXPECT_EQ(hit[0]["page"], 3);
}

TEST_F(DocsOutputTest, TextNamedAsAPdfIsStoredAsTextWithANoteInTheReportAndInDocs) {
  const std::string body = "Анализ крови от 02.11.2026: гемоглобин 135 г/л.\n";
  testing::WriteFile(dir_ / "blood.PDF", body);
  RunResult ing = Ingest({(dir_ / "blood.PDF").string()});
  ASSERT_EQ(ing.exit_code, 0) << ing.err;
  const std::string doc = DocNamed("blood.PDF");
  const std::string size = std::to_string(body.size()) + " B";  // right-aligned in 10
  EXPECT_EQ(ing.out, "stored    text     " + std::string(10 - size.size(), ' ') + size +
                         "  blood.PDF  " + doc +
                         "  printed\n          ! named .pdf but holds plain text: stored as "
                         "text\n1 stored, 0 duplicate, 0 skipped, 0 rejected\n");
  const auto docs = Json({"docs", "--case", case_});
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0]["kind"], "text");
  EXPECT_EQ(docs[0]["warnings"],
            nlohmann::json::array({"named .pdf but holds plain text: stored as text"}));
  RunResult listing = Run({"docs", "--case", case_});
  EXPECT_NE(listing.out.find("\n               ! named .pdf but holds plain text: stored as "
                             "text\n"),
            std::string::npos)
      << listing.out;
  EXPECT_EQ(Json({"search", "--case", case_, "гемоглобин"}).size(), 1u);
  // A real PDF or a text file named as text gets no note.
  testing::WriteFile(dir_ / "real.txt", "Гемоглобин в норме.\n");
  RunResult plain = Ingest({(dir_ / "real.txt").string(), (kUpload / "epicrisis.pdf").string()});
  EXPECT_EQ(plain.out.find("named ."), std::string::npos) << plain.out;
}

// --- the wrong-patient warnings ----------------------------------------------------------

TEST_F(DocsOutputTest, ADiscOfAnotherPatientShowsWhoseItIsOnTheTerminalAndInDocsOnly) {
  // One series, two instances: the first names someone else, the second has the patient's
  // surname but another birth date. Every reason and both people are shown.
  const fs::path other =
      ModifiedDicom(kCtSmall, "ivanov.dcm",
                    {"-i", "(0010,0010)=Ivanov^Ivan", "-i", "(0010,0030)=19700505", "-gin"});
  RunResult first = Ingest({kCtSmall.string()});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string series = Json({"docs", "--case", case_})[0]["id"];
  EXPECT_EQ(first.out, "stored    dicom    CT, 1 instance, 2004-01-19, e+1  " + series +
                           "\n"
                           "          ! ANOTHER PATIENT? the patient's name on the disc is not the "
                           "case's patient's — check that this disc is theirs\n"
                           "            on the disc: CompressedSamples CT1, no birth date; the "
                           "case's patient: Иванов Иван, born 1980-02-01\n"
                           "1 stored, 0 duplicate, 0 skipped, 0 rejected\n");
  RunResult second = Ingest({other.string()});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("          ! ANOTHER PATIENT? the birth date on the disc is not the "
                            "patient's — check that this disc is theirs\n"
                            "            on the disc: Ivanov Ivan, born 1970-05-05; the case's "
                            "patient: Иванов Иван, born 1980-02-01\n"),
            std::string::npos)
      << second.out;

  // `docs` keeps both reasons and shows both people on the disc beside the patient.
  RunResult docs = Run({"docs", "--case", case_});
  EXPECT_NE(docs.out.find("               ! ANOTHER PATIENT? the patient's name on the disc is "
                          "not the case's patient's and the birth date on the disc is not the "
                          "patient's\n"
                          "                 on the disc: CompressedSamples CT1, no birth date | "
                          "Ivanov Ivan, born 1970-05-05; the case's patient: Иванов Иван, born "
                          "1980-02-01\n"),
            std::string::npos)
      << docs.out;
  const auto json = Json({"docs", "--case", case_});
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["instances"], 2);
  EXPECT_EQ(json[0]["mismatch"],
            "the patient's name on the disc is not the case's patient's and the birth date on "
            "the disc is not the patient's");
  EXPECT_EQ(json[0]["mismatch_facts"],
            "on the disc: CompressedSamples CT1, no birth date | Ivanov Ivan, born 1970-05-05; "
            "the case's patient: Иванов Иван, born 1980-02-01");

  // Never in the audit log, in errors or in the catalog in the clear.
  const std::string log = AuditLog();
  for (const char* secret : {"CompressedSamples", "1970-05-05", "19700505", "Иванов", "Ivanov"}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret;
    EXPECT_EQ(testing::FilesContaining(vault_, secret), std::vector<std::string>{}) << secret;
  }
  RunResult refused = Run({"dicom", "export", "--case", case_, "-o", (dir_ / "x").string()});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_EQ(refused.err.find("CompressedSamples"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.err.find("1970"), std::string::npos) << refused.err;
}

TEST_F(DocsOutputTest, ARefusedDicomExportListsEveryBlockedSeriesAtOnce) {
  ASSERT_EQ(Ingest({kCtSmall.string(), kMrSmall.string()}).exit_code, 0);
  const auto docs = Json({"docs", "--case", case_});
  ASSERT_EQ(docs.size(), 2u);
  const std::string ct = docs[0]["id"], mr = docs[1]["id"];
  RunResult r = Run({"dicom", "export", "--case", case_, "-o", (dir_ / "x").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "dossier: 2 series may belong to another patient: " + ct +
                       " (the patient's name on the disc is not the case's patient's), " + mr +
                       " (the patient's name on the disc is not the case's patient's). Check the "
                       "discs (`dossier docs --case " +
                       case_ +
                       "` shows whose they are), then export them with --allow-mismatch or "
                       "leave them out with --series\n");
  EXPECT_FALSE(fs::exists(dir_ / "x"));
  RunResult one =
      Run({"dicom", "export", "--case", case_, "--series", mr, "-o", (dir_ / "x").string()});
  EXPECT_EQ(one.exit_code, 2);
  EXPECT_EQ(one.err, "dossier: series " + mr +
                         " may belong to another patient (the patient's name on the disc is not "
                         "the case's patient's): check the disc (`dossier docs --case " +
                         case_ +
                         "` shows whose it is), then export it with --allow-mismatch or leave "
                         "it out with --series\n");
}

TEST_F(DocsOutputTest, DocsKeepsEveryWarningOfTheUploadTheSurnameCheckToo) {
  // A letter about someone else, long enough to expect a name in it, named as a PDF.
  std::string letter =
      "Выписка. Пациент Петров Сергей Николаевич, 1975 г.р., находился на лечении "
      "в неврологическом отделении со 2 по 14 ноября 2026 года.\n";
  letter +=
      "Диагноз: грыжа межпозвонкового диска L4-L5 с радикулопатией. Проведено лечение: "
      "НПВС, физиотерапия, ЛФК. Рекомендовано: консультация нейрохирурга, МРТ через три "
      "месяца.\n";
  testing::WriteFile(dir_ / "letter.pdf", letter);
  RunResult ing = Ingest({(dir_ / "letter.pdf").string()});
  ASSERT_EQ(ing.exit_code, 0) << ing.err;
  const std::string warned =
      "named .pdf but holds plain text: stored as text; it does not mention the patient's "
      "surname in any spelling — check that this document is theirs (the case's patient: "
      "Иванов Иван, born 1980-02-01)";
  EXPECT_NE(ing.out.find("          ! " + warned + "\n"), std::string::npos) << ing.out;
  RunResult docs = Run({"docs", "--case", case_});
  EXPECT_NE(docs.out.find(std::string(15, ' ') + "! " + warned + "\n"), std::string::npos)
      << docs.out;
  const auto json = Json({"docs", "--case", case_});
  EXPECT_EQ(json[0]["warnings"],
            nlohmann::json::array(
                {"named .pdf but holds plain text: stored as text",
                 "it does not mention the patient's surname in any spelling — check that this "
                 "document is theirs (the case's patient: Иванов Иван, born 1980-02-01)"}));
  // Sealed: the patient's name is in no log and nowhere in the vault in the clear.
  const std::string log = AuditLog();
  EXPECT_NE(log.find("document.warn"), std::string::npos);
  EXPECT_EQ(log.find("Иванов"), std::string::npos);
  EXPECT_EQ(testing::FilesContaining(vault_, "Иванов"), std::vector<std::string>{});
}

}  // namespace
}  // namespace dossier
