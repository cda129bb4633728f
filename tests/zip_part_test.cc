// The ZIP parts an export writes, checked with the tool a clinic opens them with (7-Zip) and
// with Python's zipfile, and attacked on disk to see the read-back catch it.
#include "exporter/zip_part.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "exporter/age.h"
#include "exporter/part_file.h"
#include "tests/test_util.h"

namespace dossier::exporter {
namespace {

using testing::FileSha256;
using testing::FlipByte;
using testing::PseudoRandom;
using testing::ReadFile;
using testing::Shell;

constexpr char kPassword[] = "correct horse battery staple";

struct Entry {
  std::string name;
  std::string bytes;
};

// Sizes around the keystream's 64 KiB batches and the writer's 1 MiB buffer, an empty entry,
// and a Cyrillic name.
std::vector<Entry> SampleEntries() {
  return {{"README.TXT", "part 1 of 1\r\n"},
          {"DOCS/EMPTY.TXT", ""},
          {"DOCS/A.PDF", PseudoRandom(65536, 1)},
          {"DOCS/B.PDF", PseudoRandom(65537, 2)},
          {"DICOM/S0001/I0000001", PseudoRandom((1 << 20) + 4099, 3)},
          {"Выписка из истории болезни.txt", "Эпикриз\n"}};
}

class ZipPartTest : public testing::TempDirTest {
 protected:
  // Writes `entries` into `name`; the digests EndEntry returned, in order.
  std::vector<ContentDigest> Write(const std::string& name, const std::vector<Entry>& entries,
                                   const std::string& password, uint64_t* size = nullptr,
                                   std::shared_ptr<const WrittenPart>* keys = nullptr) {
    auto w = ZipPartWriter::Create(dir_ / name, password, 1764400000);
    EXPECT_TRUE(w.ok()) << w.status().message();
    std::vector<ContentDigest> digests;
    for (const auto& e : entries) {
      auto d = (*w)->AddEntry(e.name, AsBytes(e.bytes));
      EXPECT_TRUE(d.ok()) << d.status().message();
      digests.push_back(*d);
    }
    auto closed = (*w)->Close();
    EXPECT_TRUE(closed.ok()) << closed.status().message();
    if (size != nullptr) *size = *closed;
    if (keys != nullptr) *keys = (*w)->Written();
    return digests;
  }
};

TEST_F(ZipPartTest, AnEncryptedPartOpensIn7ZipAsAes256AndExtractsTheSameBytes) {
  const auto entries = SampleEntries();
  Write("p.zip", entries, kPassword);
  auto [t_code, t_out] =
      Shell("7zz t -p'" + std::string(kPassword) + "' " + (dir_ / "p.zip").string());
  ASSERT_EQ(t_code, 0) << t_out;
  EXPECT_NE(t_out.find("Everything is Ok"), std::string::npos) << t_out;
  auto [l_code, l_out] =
      Shell("7zz l -slt -p'" + std::string(kPassword) + "' " + (dir_ / "p.zip").string());
  ASSERT_EQ(l_code, 0) << l_out;
  size_t methods = 0;
  for (size_t at = 0; (at = l_out.find("Method = AES-256 Store", at)) != std::string::npos; ++at)
    ++methods;
  EXPECT_EQ(methods, entries.size()) << l_out;
  auto [x_code, x_out] =
      Shell("cd " + dir_.string() + " && 7zz x -oout -p'" + kPassword + "' p.zip");
  ASSERT_EQ(x_code, 0) << x_out;
  for (const auto& e : entries) {
    EXPECT_TRUE(ReadFile(dir_ / "out" / e.name) == e.bytes) << e.name << " differs";
  }
  // Without the password nothing comes out.
  auto [n_code, n_out] = Shell("cd " + dir_.string() + " && 7zz x -onone -p'wrong' p.zip");
  EXPECT_NE(n_code, 0) << n_out;
  EXPECT_NE(n_out.find("Wrong password"), std::string::npos) << n_out;
}

TEST_F(ZipPartTest, TheReadBackReturnsWhatWasWrittenAndThePartsOwnHash) {
  const auto entries = SampleEntries();
  std::shared_ptr<const WrittenPart> keys;
  const auto digests = Write("p.zip", entries, kPassword, nullptr, &keys);
  auto back = ReadBackPart(dir_ / "p.zip", kPassword, {"README.TXT"}, keys.get());
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->entries.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(back->entries[i].name, entries[i].name);
    EXPECT_EQ(back->entries[i].size, entries[i].bytes.size());
    EXPECT_EQ(back->entries[i].sha256, digests[i]) << entries[i].name;
  }
  EXPECT_EQ(ToHex(back->file_sha256), FileSha256(dir_ / "p.zip"));
  ASSERT_EQ(back->kept.size(), 1u);
  EXPECT_EQ(back->kept[0].first, "README.TXT");
  EXPECT_EQ(std::string(back->kept[0].second.begin(), back->kept[0].second.end()),
            "part 1 of 1\r\n");
}

TEST_F(ZipPartTest, SizesAreExactSoThePlanCanKeepEveryPartUnderItsLimit) {
  const auto entries = SampleEntries();
  uint64_t size = 0;
  Write("p.zip", entries, kPassword, &size);
  uint64_t expected = 22, bound = kArchiveOverhead;
  for (const auto& e : entries) {
    // Local header and central record with the name and the AES field each, salt, check, code.
    expected += e.bytes.size() + 30 + 46 + 2 * e.name.size() + 2 * 11 + 28;
    bound += e.bytes.size() + EntryOverhead(e.name);
  }
  EXPECT_EQ(size, expected);
  EXPECT_EQ(fs::file_size(dir_ / "p.zip"), expected);
  EXPECT_LE(size, bound);
  // Unencrypted: a data descriptor instead of the AES framing.
  Write("plain.zip", entries, "", &size);
  expected = 22;
  for (const auto& e : entries) expected += e.bytes.size() + 30 + 46 + 2 * e.name.size() + 16;
  EXPECT_EQ(size, expected);
}

TEST_F(ZipPartTest, AnUnencryptedPartOpensIn7ZipAndPythonWithCrcsChecked) {
  const auto entries = SampleEntries();
  Write("plain.zip", entries, "");
  auto [t_code, t_out] = Shell("7zz t " + (dir_ / "plain.zip").string());
  ASSERT_EQ(t_code, 0) << t_out;
  testing::WriteFile(dir_ / "b.pdf", entries[3].bytes);
  auto [p_code, p_out] = Shell(
      "python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); "
      "print(z.testzip(), len(z.namelist()), z.read(\"DOCS/B.PDF\") == open(sys.argv[2], "
      "\"rb\").read())' " +
      (dir_ / "plain.zip").string() + " " + (dir_ / "b.pdf").string());
  ASSERT_EQ(p_code, 0) << p_out;
  EXPECT_EQ(p_out, "None 6 True\n");  // no bad CRC, six entries, the same bytes
  auto back = ReadBackPart(dir_ / "plain.zip", "", {});
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->entries.size(), entries.size());
}

TEST_F(ZipPartTest, SixtyFiveThousandEntriesGetZip64RecordsThatToolsRead) {
  auto w = ZipPartWriter::Create(dir_ / "many.zip", "", 1764400000);
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 70000; ++i) {
    ASSERT_TRUE((*w)->AddEntry(fmt::format("D/{:05}", i), AsBytes(std::to_string(i))).ok());
  }
  ASSERT_TRUE((*w)->Close().ok());
  auto [t_code, t_out] = Shell("7zz t " + (dir_ / "many.zip").string() + " | grep -E '^Files|Ok'");
  ASSERT_EQ(t_code, 0) << t_out;
  EXPECT_NE(t_out.find("Files: 70000"), std::string::npos) << t_out;
  auto back = ReadBackPart(dir_ / "many.zip", "", {});
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->entries.size(), 70000u);
  EXPECT_EQ(back->entries[69999].name, "D/69999");
}

// The byte offset of `what` in the file (the first one).
uint64_t OffsetOf(const fs::path& path, const std::string& what) {
  const std::string bytes = ReadFile(path);
  const size_t at = bytes.find(what);
  EXPECT_NE(at, std::string::npos) << what;
  return at;
}

TEST_F(ZipPartTest, ADamagedPartFailsItsReadBackNamingThePartAndTheEntry) {
  const auto entries = SampleEntries();
  std::shared_ptr<const WrittenPart> keys;
  Write("p.zip", entries, kPassword, nullptr, &keys);
  ASSERT_EQ(keys->keys.size(), entries.size());
  const fs::path part = dir_ / "p.zip";
  const std::string original = ReadFile(part);
  // DOCS/B.PDF's data starts after its local header: 30 + name + 11 (AES field); then the
  // 16-byte salt, the 2-byte password check, the ciphertext.
  const uint64_t header = OffsetOf(part, "DOCS/B.PDF") - 30;
  struct Case {
    uint64_t offset;
    std::string message;
  };
  const std::vector<Case> cases = {
      {header + 30 + 10 + 11 + 18 + 1000,
       "part p.zip failed its read-back at DOCS/B.PDF: its authentication code does not match"},
      {header + 30 + 10 + 11 + 16,
       "part p.zip failed its read-back at DOCS/B.PDF: the password does not open it"},
      {header + 30 + 10 + 11 + 18 + 65537 + 3,
       "part p.zip failed its read-back at DOCS/B.PDF: its authentication code does not match"},
      {header + 8,
       "part p.zip failed its read-back at DOCS/B.PDF: its local header "
       "disagrees with the central directory"},
      {original.size() - 22,
       "part p.zip failed its read-back: its end-of-archive record is missing"},
  };
  for (const auto& c : cases) {
    testing::WriteFile(part, original);
    FlipByte(part, c.offset);
    // With the keys the writer used, and with only the password (PBKDF2 again).
    for (const WrittenPart* written : {keys.get(), static_cast<const WrittenPart*>(nullptr)}) {
      auto back = ReadBackPart(part, kPassword, {}, written);
      ASSERT_FALSE(back.ok()) << c.message;
      EXPECT_EQ(back.status().code(), StatusCode::kCorrupt);
      EXPECT_EQ(back.status().message(), c.message);
    }
  }
  // A changed salt is not looked up among the writer's keys: derived again, it fails the check
  // (or, once in 65,536 salts, the authentication code).
  testing::WriteFile(part, original);
  FlipByte(part, header + 30 + 10 + 11 + 5);
  auto salted = ReadBackPart(part, kPassword, {}, keys.get());
  ASSERT_FALSE(salted.ok());
  EXPECT_EQ(salted.status().message().rfind("part p.zip failed its read-back at DOCS/B.PDF: ", 0),
            0u)
      << salted.status().message();
  // Cut short.
  testing::WriteFile(part, original.substr(0, original.size() / 2));
  auto cut = ReadBackPart(part, kPassword, {});
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), StatusCode::kCorrupt);
  // Another password: the check value, or failing that the code, refuses it.
  testing::WriteFile(part, original);
  auto other = ReadBackPart(part, "another password", {});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(other.status().message().rfind("part p.zip failed its read-back at README.TXT: ", 0),
            0u)
      << other.status().message();
}

TEST_F(ZipPartTest, AnUnencryptedEntryWithOneBitChangedFailsItsCrc) {
  Write("plain.zip", SampleEntries(), "");
  FlipByte(dir_ / "plain.zip", OffsetOf(dir_ / "plain.zip", "DOCS/A.PDF") + 10 + 500);
  auto back = ReadBackPart(dir_ / "plain.zip", "", {});
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().message(),
            "part plain.zip failed its read-back at DOCS/A.PDF: its CRC-32 does not match");
}

TEST_F(ZipPartTest, WritingMoreOrLessThanPlannedIsAnError) {
  auto w = ZipPartWriter::Create(dir_ / "p.zip", kPassword, 1764400000);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->BeginEntry("A", 3).ok());
  Status over = (*w)->Write(AsBytes(std::string("abcd")));
  EXPECT_EQ(over.code(), StatusCode::kInternal);
  EXPECT_EQ(over.message(), "A: more than the 3 bytes planned");
  ASSERT_TRUE((*w)->Write(AsBytes(std::string("ab"))).ok());
  auto short_end = (*w)->EndEntry();
  ASSERT_FALSE(short_end.ok());
  EXPECT_EQ(short_end.status().message(), "A: 2 bytes were written, 3 planned");
}

TEST_F(ZipPartTest, AnAgePartIsReadBackWithItsFileKeyAndDamageIsCaught) {
  auto [rc, key] = Shell("age-keygen -o " + (dir_ / "key").string() +
                         " 2>/dev/null && age-keygen -y " + (dir_ / "key").string());
  ASSERT_EQ(rc, 0) << key;
  auto recipient = ParseAgeRecipient(key.substr(0, key.find('\n')));
  ASSERT_TRUE(recipient.ok()) << recipient.status().message();
  PartSealing sealing;
  sealing.age_recipients = {*recipient};
  EXPECT_EQ(sealing.Extension(), ".zip.age");
  const fs::path path = dir_ / "p.zip.age";
  auto part = PartFile::Create(path, sealing, 1764400000);
  ASSERT_TRUE(part.ok()) << part.status().message();
  const auto entries = SampleEntries();
  std::vector<ContentDigest> digests;
  for (const auto& e : entries)
    digests.push_back(*(*part)->zip().AddEntry(e.name, AsBytes(e.bytes)));
  auto size = (*part)->Close();
  ASSERT_TRUE(size.ok()) << size.status().message();
  EXPECT_EQ(*size, fs::file_size(path));
  // The archive inside fits the limit the plan was given for the file.
  EXPECT_LE(*size, 2'000'000u);
  EXPECT_LE(sealing.ArchiveLimit(2'000'000), 2'000'000u - 22 - 98 - 48 - 16);
  EXPECT_LE(AgeEncryptedSize(sealing.ArchiveLimit(2'000'000), 1), 2'000'000u);
  EXPECT_GT(AgeEncryptedSize(sealing.ArchiveLimit(2'000'000) + 1, 1), 2'000'000u);
  auto verify = (*part)->Verifier({"README.TXT"});
  auto back = verify();
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->entries.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) EXPECT_EQ(back->entries[i].sha256, digests[i]);
  EXPECT_EQ(ToHex(back->file_sha256), FileSha256(path));
  // The clinic's age opens it into a ZIP that 7-Zip tests clean.
  auto [d_rc, d] =
      Shell("age -d -i " + (dir_ / "key").string() + " -o " + (dir_ / "p.zip").string() + " " +
            path.string() + " && 7zz t " + (dir_ / "p.zip").string());
  EXPECT_EQ(d_rc, 0) << d;
  // One bit changed anywhere in the file, or the file cut short: the read-back refuses it.
  const std::string original = ReadFile(path);
  for (uint64_t offset : {uint64_t{40}, uint64_t{300}, uint64_t{original.size() / 2},
                          uint64_t{original.size() - 5}}) {
    testing::WriteFile(path, original);
    FlipByte(path, offset);
    auto damaged = verify();
    ASSERT_FALSE(damaged.ok()) << offset;
    EXPECT_EQ(damaged.status().code(), StatusCode::kCorrupt) << offset;
    EXPECT_EQ(damaged.status().message().rfind("part p.zip.age failed its read-back", 0), 0u)
        << damaged.status().message();
  }
  testing::WriteFile(path, original.substr(0, original.size() - 100));
  auto cut = verify();
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), StatusCode::kCorrupt);
}

}  // namespace
}  // namespace dossier::exporter
