// The private parts of the ingest pipeline (ingest/internal/), each on its own: the walk over
// the paths, the report lines and their one conversion to text, the unpack request's limits.
// The pipeline as a whole is tested through IngestPaths (ingest_test.cc and others).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/encoding.h"
#include "ingest/internal/item.h"
#include "ingest/internal/plain_text.h"
#include "ingest/internal/walk.h"
#include "ingest/internal/worker_protocol.h"
#include "tests/test_util.h"

namespace dossier::ingest::internal {
namespace {

namespace fs = std::filesystem;

class IngestPartsTest : public testing::TempDirTest {
 protected:
  void Write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
};

TEST_F(IngestPartsTest, TheWalkListsFilesInOrderAndRefusesWhatIsNotOne) {
  Write(dir_ / "up" / "b.txt", "bb");
  Write(dir_ / "up" / "a" / "c.txt", "ccc");
  fs::create_symlink(dir_ / "up" / "b.txt", dir_ / "up" / "link");
  Write(dir_ / "lone.txt", "x");
  std::vector<PlannedItem> plan;
  ASSERT_TRUE(PlanPaths({dir_ / "up", dir_ / "lone.txt"}, IngestOptions{}, plan).ok());
  ASSERT_EQ(plan.size(), 4u);
  EXPECT_EQ(plan[0].display, "up/a/c.txt");
  EXPECT_EQ(plan[0].size, 3u);
  EXPECT_TRUE(plan[0].in_folder);
  EXPECT_EQ(plan[1].display, "up/b.txt");
  EXPECT_EQ(plan[2].display, "up/link");
  EXPECT_EQ(plan[2].refuse, "symbolic link: not followed — upload the file it points to");
  EXPECT_EQ(plan[2].size, 0u);
  EXPECT_EQ(plan[3].display, "lone.txt");
  EXPECT_FALSE(plan[3].in_folder);
  EXPECT_EQ(plan[3].root, 1u);
  EXPECT_EQ(plan[0].root, 0u);
}

TEST_F(IngestPartsTest, TheWalkStopsAtTheFileLimitAndAtAPathThatIsNotThere) {
  for (int i = 0; i < 3; ++i) Write(dir_ / "up" / (std::to_string(i) + ".txt"), "x");
  IngestOptions options;
  options.max_files = 2;
  std::vector<PlannedItem> plan;
  const Status st = PlanPaths({dir_ / "up"}, options, plan);
  EXPECT_EQ(st.code(), StatusCode::kLimitExceeded);
  EXPECT_EQ(st.message(), "the upload holds more than 2 files: split it");
  plan.clear();
  const Status missing = PlanPaths({dir_ / "nothing"}, IngestOptions{}, plan);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "cannot ingest " + (dir_ / "nothing").string() +
                                   ": no such file or folder. Nothing was stored: correct the "
                                   "path and ingest again");
}

TEST_F(IngestPartsTest, PlainTextIsDecodedAndCutAtLineEndsOrCharacterBoundaries) {
  auto bytes = [](std::string_view s) { return AsBytes(s); };
  EXPECT_EQ(DecodePlainText(bytes("\xEF\xBB\xBF"
                                  "a\r\nb\rc\x1b[0m\x7f\xc2\x85"
                                  "d\te\f")),
            "a\nb\nc[0md\te\f");  // BOM, CR LF, lone CR, ESC, DEL, NEL (C1)
  EXPECT_EQ(DecodePlainText(bytes("\xF1\xEE\xED")), "сон");  // Windows-1251
  EXPECT_EQ(DecodePlainText(bytes("\xD3\xCF\xCE")), "сон");  // KOI8-R
  // A line longer than a page: cut between characters, never inside one.
  std::string line;
  while (line.size() < 50) line += "ж";
  const auto cut = TextPages(line, 7);
  std::string joined;
  for (const auto& p : cut) {
    EXPECT_LE(p.size(), 7u);
    EXPECT_TRUE(IsValidUtf8(p)) << p;
    joined += p;
  }
  EXPECT_EQ(joined, line);
  // A line end in the second half of a page ends it.
  EXPECT_EQ(TextPages("abc\ndefgh\nij", 8), (std::vector<std::string>{"abc\ndefg", "h\nij"}));
  EXPECT_EQ(TextPages("abcde\nfghij\n", 8), (std::vector<std::string>{"abcde\n", "fghij\n"}));
  EXPECT_EQ(TextPages(""), std::vector<std::string>{""});
}

TEST_F(IngestPartsTest, StatusesAndVerdictsBecomeTextInTheReportOnly) {
  ItemLog log;
  Item pdf = Line("a.pdf", "pdf", 10, ItemStatus::kStored, "");
  pdf.doc_id = "doc_1";
  pdf.verdict = ocr::Verdict::kHandwritten;
  pdf.pages = 2;
  log.Add(std::move(pdf), 0);
  log.Add(Line("b.pdf", "pdf", 10, ItemStatus::kDuplicate, "same content as doc_1"), 0);
  log.AddRefused(Line("c.exe", "", 5, ItemStatus::kSkipped, "disc viewer software"));
  log.AddRefused(Line("IM1", "dicom", 0, ItemStatus::kMissing, "listed"));
  log.AddRefused(Line("d", "", 0, ItemStatus::kRejected, "empty"));
  IngestReport report;
  log.WriteTo(report);
  EXPECT_EQ(log.size(), 0u);
  ASSERT_EQ(report.items.size(), 5u);
  EXPECT_EQ(report.items[0].status, "stored");
  EXPECT_EQ(report.items[0].verdict, "handwritten");
  EXPECT_EQ(report.items[0].pages, 2);
  EXPECT_EQ(report.items[1].status, "duplicate");
  EXPECT_EQ(report.items[1].verdict, "");
  EXPECT_EQ(report.items[2].status, "skipped");
  EXPECT_EQ(report.items[3].status, "missing");
  EXPECT_EQ(report.items[4].status, "rejected");
  EXPECT_EQ(report.Count("rejected"), 1u);
  EXPECT_FALSE(report.all_accepted());
}

TEST_F(IngestPartsTest, LinesOfABatchThatNeverCommittedAreUnclaimed) {
  ItemLog log;
  Item kept = Line("kept.pdf", "pdf", 1, ItemStatus::kStored, "");
  kept.doc_id = "doc_kept";
  log.Add(std::move(kept), 0);  // joined batch 0, which committed
  Item lost = Line("lost.pdf", "pdf", 1, ItemStatus::kStored, "");
  lost.doc_id = "doc_lost";
  log.Add(std::move(lost), 1);
  Item twin = Line("twin.pdf", "pdf", 1, ItemStatus::kDuplicate, "same content as doc_lost");
  twin.doc_id = "doc_lost";
  log.Add(std::move(twin), 1);
  log.Unclaim(/*committed=*/1, IoError("disk full"));
  EXPECT_EQ(log[0].status, ItemStatus::kStored);
  EXPECT_EQ(log[0].doc_id, "doc_kept");
  for (size_t i : {1u, 2u}) {
    EXPECT_EQ(log[i].status, ItemStatus::kRejected) << i;
    EXPECT_EQ(log[i].doc_id, "") << i;
    EXPECT_EQ(log[i].reason,
              "not stored: the vault could not make it durable (disk full) — ingest it again")
        << i;
  }
}

TEST_F(IngestPartsTest, UnpackLimitsSurviveTheRequestText) {
  UnpackLimits l;
  l.total_bytes = 123;
  l.entry_bytes = 45;
  l.entries = 6;
  l.ratio = 7;
  l.ratio_floor = 8;
  l.depth = 3;
  l.nested_archive_bytes = 9;
  l.pdf_check_bytes = 10;
  const std::string text = EncodeLimits(l);
  EXPECT_EQ(text, "total=123;entry=45;entries=6;ratio=7;floor=8;depth=3;nested=9;pdf=10");
  const UnpackLimits back = DecodeLimits(text);
  EXPECT_EQ(back.total_bytes, 123u);
  EXPECT_EQ(back.entry_bytes, 45u);
  EXPECT_EQ(back.entries, 6u);
  EXPECT_EQ(back.ratio, 7u);
  EXPECT_EQ(back.ratio_floor, 8u);
  EXPECT_EQ(back.depth, 3);
  EXPECT_EQ(back.nested_archive_bytes, 9u);
  EXPECT_EQ(back.pdf_check_bytes, 10u);
}

}  // namespace
}  // namespace dossier::ingest::internal
