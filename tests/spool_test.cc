// The upload spool (server/internal/spool.h): round trips of every awkward length in odd
// pieces, no plaintext on disk at any moment, tampered, swapped, transplanted, replayed and
// cut chunks, run folders of live and dead processes, and a write that fails midway.
#include "server/internal/spool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "tests/test_util.h"

namespace dossier {
namespace server::internal {
// The cipher's name in the test's name, not its bytes.
void PrintTo(Spool::Cipher c, std::ostream* os) {
  *os << (c == Spool::Cipher::kFastest ? "fastest" : "xchacha20");
}
}  // namespace server::internal
namespace {

using server::internal::Spool;
using server::internal::SpoolFile;

constexpr size_t K = Spool::kChunkBytes;
constexpr uint64_t kSlot = K + 24 + 16;  // nonce, chunk, tag

// Every test runs with both ciphers: AES-256-GCM (this machine has AES-NI: checked below)
// and XChaCha20-Poly1305, the fallback elsewhere.
class SpoolTest : public testing::TempDirTest, public ::testing::WithParamInterface<Spool::Cipher> {
 protected:
  fs::path SpoolDir() const { return dir_ / "spool"; }

  std::unique_ptr<Spool> OpenSpool() {
    auto spool = Spool::Open(SpoolDir(), GetParam());
    EXPECT_TRUE(spool.ok()) << spool.status().ToString();
    if (spool.ok()) {
      EXPECT_EQ((*spool)->aes(),
                GetParam() == Spool::Cipher::kFastest && crypto_aead_aes256gcm_is_available() == 1);
    }
    return spool.ok() ? std::move(spool).value() : nullptr;
  }

  // What under the spool is named `prefix`…, sorted: run folders (run-) or uploads (up-).
  std::vector<fs::path> Named(std::string_view prefix) const {
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(SpoolDir())) {
      if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<fs::path> RunFolders() const { return Named("run-"); }
  std::vector<fs::path> UploadFiles() const { return Named("up-"); }

  static std::shared_ptr<SpoolFile> Filled(Spool& spool, const std::string& data) {
    auto file = spool.Create(data.size());
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    EXPECT_TRUE((*file)->Append(AsBytes(data)).ok());
    return *file;
  }

  static std::shared_ptr<ingest::UploadSource> ReaderOf(SpoolFile& file) {
    auto reader = file.Reader();
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    return reader.ok() ? *reader : nullptr;
  }

  static Result<std::string> Read(ingest::UploadSource& source, uint64_t offset, size_t size) {
    std::string out(size, '\0');
    auto n = source.ReadAt(offset, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
    if (!n.ok()) return n.status();
    out.resize(*n);
    return out;
  }

  // For the tamper tests: an upload of 3.5 chunks in spool_, complete, its file at path_.
  void SpoolTampered() {
    spool_ = OpenSpool();
    ASSERT_NE(spool_, nullptr);
    file_ = Filled(*spool_, data_);
    path_ = UploadFiles().at(0);
    ASSERT_EQ(fs::file_size(path_), 3 * kSlot + 24 + K / 2 + 16);
  }
  void ExpectDamaged(uint64_t chunk) {
    auto reader = ReaderOf(*file_);
    auto got = Read(*reader, chunk * K + 10, 20);
    EXPECT_EQ(got.status().code(), StatusCode::kCorrupt);
    EXPECT_EQ(got.status().message(), Damaged(chunk));
  }
  void ExpectReads(uint64_t chunk) {
    auto got = Read(*ReaderOf(*file_), chunk * K + 10, 20);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(*got == data_.substr(chunk * K + 10, 20));
  }
  static std::string Damaged(uint64_t chunk) {
    return "the upload's spooled copy is damaged (chunk " + std::to_string(chunk) +
           "): upload it again";
  }

  const std::string data_ = testing::PseudoRandom(3 * K + K / 2, 7);
  std::unique_ptr<Spool> spool_;
  std::shared_ptr<SpoolFile> file_;
  fs::path path_;
};

std::string Bytes(const fs::path& path, uint64_t offset, size_t size) {
  std::ifstream f(path, std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  std::string out(size, '\0');
  f.read(out.data(), static_cast<std::streamsize>(size));
  out.resize(static_cast<size_t>(f.gcount()));
  return out;
}

void Overwrite(const fs::path& path, uint64_t offset, const std::string& bytes) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST_P(SpoolTest, RoundTripsEveryLengthAppendedInOddPieces) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  const std::vector<size_t> lengths = {0, 1, K - 1, K, K + 1, 3 * K + K / 2};
  const std::vector<size_t> pieces = {1, 7, K + 3, 4093, 2 * K + 5, 65536};
  std::mt19937_64 rng(20);
  for (size_t length : lengths) {
    SCOPED_TRACE("length " + std::to_string(length));
    const std::string data = testing::PseudoRandom(length, length + 1);
    auto file = spool->Create(length);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    EXPECT_EQ((*file)->length(), length);
    size_t sent = 0;
    for (size_t i = 0; sent < length; ++i) {
      const size_t take = std::min(pieces[i % pieces.size()], length - sent);
      ASSERT_TRUE((*file)->Append(AsBytes(std::string_view(data).substr(sent, take))).ok());
      sent += take;
      EXPECT_EQ((*file)->offset(), sent);
    }
    EXPECT_TRUE((*file)->complete());
    auto reader = ReaderOf(**file);
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(reader->size(), length);
    EXPECT_EQ(Read(*reader, 0, length + 10).value(), data);
    for (int i = 0; i < 100; ++i) {
      const uint64_t offset = rng() % (length + 20);
      const size_t size = rng() % (3 * K);
      const std::string want =
          offset >= length ? "" : data.substr(offset, std::min<uint64_t>(size, length - offset));
      auto got = Read(*reader, offset, size);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ASSERT_EQ(got->size(), want.size()) << "offset " << offset << " size " << size;
      ASSERT_TRUE(*got == want) << "offset " << offset << " size " << size;
    }
    if (length > K) {  // a read across the first boundary, and one from the end backwards
      EXPECT_TRUE(Read(*reader, K - 5, 10).value() == data.substr(K - 5, 10));
      EXPECT_TRUE(Read(*reader, length - 3, 10).value() == data.substr(length - 3));
    }
  }
}

TEST_P(SpoolTest, NoFileEverHoldsThePlaintext) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  const std::string canary = "CANARY-upload-plaintext-7f3a";  // 28 bytes: straddles boundaries
  std::string data;
  while (data.size() < 2 * K + K / 2) data += canary;
  auto file = spool->Create(data.size());
  ASSERT_TRUE(file.ok());
  // Pieces that end inside a canary and inside a chunk, so partial chunks are on disk too.
  const std::vector<size_t> pieces = {5, 1000, K - 3, 17, K + 100, 333};
  size_t sent = 0;
  for (size_t i = 0; sent < data.size(); ++i) {
    const size_t take = std::min(pieces[i % pieces.size()], data.size() - sent);
    ASSERT_TRUE((*file)->Append(AsBytes(std::string_view(data).substr(sent, take))).ok());
    sent += take;
    EXPECT_EQ(testing::FilesContaining(dir_, canary), std::vector<std::string>{})
        << "after " << sent << " bytes";
    EXPECT_EQ(testing::FilesContaining(dir_, canary.substr(0, 12)), std::vector<std::string>{});
  }
  auto reader = ReaderOf(**file);
  EXPECT_TRUE(Read(*reader, 0, data.size()).value() == data);
  EXPECT_EQ(testing::FilesContaining(dir_, canary), std::vector<std::string>{});
}

TEST_P(SpoolTest, FilesAndFoldersAreOnlyTheServers) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  auto file = Filled(*spool, "abc");
  struct stat st {};
  ASSERT_EQ(::stat(SpoolDir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(RunFolders().at(0).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(UploadFiles().at(0).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_P(SpoolTest, AppendPastTheLengthIsRefusedAndChangesNothing) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  auto file = spool->Create(10);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append(AsBytes("0123")).ok());

  Status past = (*file)->Append(AsBytes("4567890"));
  EXPECT_EQ(past.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(past.message(), "7 bytes at offset 4 go past the upload's length of 10 bytes");
  EXPECT_EQ((*file)->offset(), 4u);

  auto early = (*file)->Reader();
  EXPECT_EQ(early.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(early.status().message(), "the upload is not complete: 4 of 10 bytes received");

  ASSERT_TRUE((*file)->Append(AsBytes("456789")).ok());
  EXPECT_TRUE((*file)->Append({}).ok());  // nothing more, at the end: allowed
  EXPECT_EQ(Read(*ReaderOf(**file), 0, 20).value(), "0123456789");
  EXPECT_EQ((*file)->Append(AsBytes("x")).code(), StatusCode::kInvalidArgument);
}

// No two chunks sealed under the spool's key share a nonce, whichever file they are in — with
// AES-GCM a repeated nonce would give the key away.
TEST_P(SpoolTest, NoTwoSealsShareANonce) {
  auto spool = OpenSpool();
  const std::string data = testing::PseudoRandom(3 * K, 7);
  auto one = Filled(*spool, data);
  auto two = Filled(*spool, data);  // the same bytes again, in another file
  std::set<std::string> nonces;
  for (const auto& path : UploadFiles()) {
    const std::string raw = testing::ReadFile(path);
    ASSERT_EQ(raw.size(), 3 * kSlot);
    for (uint64_t i = 0; i < 3; ++i) nonces.insert(raw.substr(i * kSlot, 12));
  }
  EXPECT_EQ(nonces.size(), 6u);
}

TEST_P(SpoolTest, AFlippedByteDamagesItsChunkOnly) {
  ASSERT_NO_FATAL_FAILURE(SpoolTampered());
  testing::FlipByte(path_, 2 * kSlot + 1000);
  ExpectDamaged(2);
  ExpectReads(1);
  ExpectReads(3);
  auto reader = ReaderOf(*file_);  // a read that reaches the damaged chunk fails as a whole
  EXPECT_EQ(Read(*reader, 2 * K - 5, 10).status().message(), Damaged(2));
}

TEST_P(SpoolTest, AFlippedNonceByteDamagesItsChunk) {
  ASSERT_NO_FATAL_FAILURE(SpoolTampered());
  testing::FlipByte(path_, 1 * kSlot + 3);
  ExpectDamaged(1);
  ExpectReads(0);
}

TEST_P(SpoolTest, SwappedChunksAreDamaged) {
  ASSERT_NO_FATAL_FAILURE(SpoolTampered());
  const std::string zero = Bytes(path_, 0, kSlot);
  const std::string one = Bytes(path_, kSlot, kSlot);
  Overwrite(path_, 0, one);
  Overwrite(path_, kSlot, zero);
  ExpectDamaged(0);
  ExpectDamaged(1);
  ExpectReads(2);
}

TEST_P(SpoolTest, AChunkFromAnotherUploadAtTheSameIndexIsDamaged) {
  ASSERT_NO_FATAL_FAILURE(SpoolTampered());
  auto other = Filled(*spool_, data_);  // the same bytes, the same key, another file id
  const auto files = UploadFiles();
  const fs::path other_path = files[0] == path_ ? files[1] : files[0];
  Overwrite(path_, kSlot, Bytes(other_path, kSlot, kSlot));
  ExpectDamaged(1);
  ExpectReads(0);
  EXPECT_TRUE(Read(*ReaderOf(*other), 0, data_.size()).value() == data_);
}

TEST_P(SpoolTest, ACutFileIsDamaged) {
  ASSERT_NO_FATAL_FAILURE(SpoolTampered());
  fs::resize_file(path_, 3 * kSlot + 10);
  ExpectDamaged(3);
  ExpectReads(2);
  fs::resize_file(path_, 0);
  ExpectDamaged(0);
}

TEST_P(SpoolTest, AnEarlierWriteOfAGrowingChunkCannotBeReplayed) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  const std::string data = testing::PseudoRandom(K + 500, 3);
  auto file = spool->Create(data.size());
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append(AsBytes(std::string_view(data).substr(0, K + 100))).ok());
  const fs::path path = UploadFiles().at(0);
  const std::string early = Bytes(path, kSlot, 24 + 100 + 16);  // chunk 1 holding 100 bytes
  ASSERT_TRUE((*file)->Append(AsBytes(std::string_view(data).substr(K + 100))).ok());
  Overwrite(path, kSlot, early);
  auto got = Read(*ReaderOf(**file), K, 10);
  EXPECT_EQ(got.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(got.status().message(), Damaged(1));
}

TEST_P(SpoolTest, ADamagedPartialChunkStopsTheNextAppend) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  auto file = spool->Create(K + 200);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append(AsBytes(testing::PseudoRandom(K + 100, 4))).ok());
  testing::FlipByte(UploadFiles().at(0), kSlot + 50);
  Status st = (*file)->Append(AsBytes(std::string(100, 'x')));
  EXPECT_EQ(st.code(), StatusCode::kCorrupt);
  EXPECT_EQ(st.message(), Damaged(1));
  EXPECT_EQ((*file)->offset(), K + 100);
}

// A write refused midway (here by RLIMIT_FSIZE: EFBIG, as ENOSPC would) leaves offset() where
// it was and the bytes before it readable: the client resumes from there.
TEST_P(SpoolTest, AWriteThatFailsMidwayLeavesTheOffsetAndTheBytesBeforeIt) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  const std::string data = testing::PseudoRandom(3 * K, 5);
  auto file = spool->Create(data.size());
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append(AsBytes(std::string_view(data).substr(0, 100))).ok());

  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = kSlot + 1000;  // chunk 0 fits whole, chunk 1 does not
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  Status st = (*file)->Append(AsBytes(std::string_view(data).substr(100, 2 * K)));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  ::signal(SIGXFSZ, old_handler);

  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_EQ(st.message(), "cannot write the upload spool: File too large");
  EXPECT_EQ((*file)->offset(), 100u);
  ASSERT_TRUE((*file)->Append(AsBytes(std::string_view(data).substr(100))).ok());
  EXPECT_TRUE(Read(*ReaderOf(**file), 0, data.size()).value() == data);
}

TEST_P(SpoolTest, RemoveDeletesTheFileAndItsBytes) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->bytes_on_disk(), 0u);
  auto big = Filled(*spool, testing::PseudoRandom(3 * K + 5, 1));
  auto small = spool->Create(100);
  ASSERT_TRUE(small.ok());
  // st_size: 3 whole slots and a last one of 24 + 5 + 16; an empty upload takes nothing.
  EXPECT_EQ(spool->bytes_on_disk(), 3 * kSlot + 45);
  ASSERT_TRUE((*small)->Append(AsBytes("0123456789")).ok());
  EXPECT_EQ(spool->bytes_on_disk(), 3 * kSlot + 45 + 50);
  EXPECT_EQ(UploadFiles().size(), 2u);

  big->Remove();
  EXPECT_EQ(spool->bytes_on_disk(), 50u);
  EXPECT_EQ(UploadFiles().size(), 1u);
  Status after = big->Append(AsBytes("x"));
  EXPECT_EQ(after.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(after.message(), "the upload's spooled copy was removed");
  EXPECT_EQ(big->Reader().status().message(), "the upload's spooled copy was removed");

  small->reset();  // destroying a file removes it too
  EXPECT_EQ(spool->bytes_on_disk(), 0u);
  EXPECT_EQ(UploadFiles().size(), 0u);
}

TEST_P(SpoolTest, AReaderKeepsTheBytesReadableAfterTheFileGoes) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  const std::string data = testing::PseudoRandom(2 * K + 9, 2);
  auto file = Filled(*spool, data);
  auto reader = ReaderOf(*file);
  file.reset();
  EXPECT_EQ(UploadFiles().size(), 0u);
  EXPECT_TRUE(Read(*reader, 0, data.size()).value() == data);
  spool.reset();  // even the spool and its folder may go first
  EXPECT_TRUE(Read(*reader, K + 1, 100).value() == data.substr(K + 1, 100));
}

TEST_P(SpoolTest, ThreadsAppendAndReadAtOnce) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  const std::string shared_data = testing::PseudoRandom(2 * K + 77, 9);
  auto shared_file = Filled(*spool, shared_data);
  auto shared_reader = ReaderOf(*shared_file);
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string data = testing::PseudoRandom(K + 1000 * t + 1, 100 + t);
      auto file = spool->Create(data.size());
      if (!file.ok()) return;
      for (size_t sent = 0; sent < data.size();) {
        const size_t take = std::min<size_t>(4096 * (t + 1) + 1, data.size() - sent);
        if (!(*file)->Append(AsBytes(std::string_view(data).substr(sent, take))).ok()) return;
        sent += take;
        auto got = Read(*shared_reader, (sent * 31) % shared_data.size(), 5000);  // a 2nd reader
        if (!got.ok()) return;
      }
      auto mine = Read(*ReaderOf(**file), 0, data.size());
      auto shared = Read(*shared_reader, 0, shared_data.size());
      if (mine.ok() && *mine == data && shared.ok() && *shared == shared_data) ++good;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 4);
}

TEST_P(SpoolTest, AReaderKeepingUpWithAppendsReadsWhatHasArrivedWhole) {
  // Appends of odd sizes seal the last chunk again and again, while a reader reads the tail
  // over and over: whole chunks are sealed and read while appends go on, but the last chunk
  // is sealed again together with the offset's move, so that a reader never takes the new
  // chunk for the old length.
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  const std::string data = testing::PseudoRandom(3 * K + 5, 13);
  auto file = spool->Create(data.size());
  ASSERT_TRUE(file.ok());
  auto reader = (*file)->ArrivingReader([](uint64_t) { return false; });
  ASSERT_TRUE(reader.ok());
  std::thread appender([&] {
    for (size_t sent = 0; sent < data.size();) {
      const size_t take = std::min<size_t>(9001, data.size() - sent);
      ASSERT_TRUE((*file)->Append(AsBytes(std::string_view(data).substr(sent, take))).ok());
      sent += take;
    }
  });
  size_t reads = 0, wrong = 0;
  std::string failure;
  // Read what has come so far, over and over, as fast as it goes, while the appends go on.
  for (uint64_t end = 0; end < data.size();) {
    end = (*file)->offset();
    const uint64_t from = end > 70000 ? end - 70000 : 0;  // the tail, and the chunk before it
    auto got = Read(**reader, from, end - from);
    ++reads;
    if (!got.ok()) {
      failure = got.status().message();
      break;
    }
    if (*got != data.substr(from, end - from)) ++wrong;
  }
  appender.join();
  EXPECT_EQ(failure, "");
  EXPECT_EQ(wrong, 0u);
  EXPECT_GT(reads, 100u);
  auto all = Read(**reader, 0, data.size());
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(*all == data);
}

TEST_P(SpoolTest, AnArrivingReaderWaitsForItsBytesAndStopsWhenAskedOrRemoved) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  const std::string data = testing::PseudoRandom(3 * K + 5, 11);
  auto file = spool->Create(data.size());
  ASSERT_TRUE(file.ok());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> asked{0};
  auto reader = (*file)->ArrivingReader([&](uint64_t received) {
    asked = received;
    return stop.load();
  });
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*file)->Append(AsBytes(std::string_view(data).substr(0, K + 7))).ok());
  // Bytes that are in, even of a chunk still growing, are read at once.
  auto got = Read(**reader, K, 7);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data.substr(K, 7));
  // Bytes that are not wait for the append that brings them.
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_TRUE((*file)->Append(AsBytes(std::string_view(data).substr(K + 7))).ok());
  });
  got = Read(**reader, 2 * K, K + 5);
  writer.join();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data.substr(2 * K));
  // Waiting for bytes that never come ends when `stop` says so (asked with what came), or
  // when the file is removed.
  auto second = spool->Create(2 * K);
  ASSERT_TRUE(second.ok());
  auto waiting = (*second)->ArrivingReader([&](uint64_t received) {
    asked = received;
    return stop.load();
  });
  ASSERT_TRUE((*second)->Append(AsBytes(std::string_view(data).substr(0, 100))).ok());
  stop = true;
  got = Read(**waiting, 0, 200);
  EXPECT_EQ(got.status().code(), StatusCode::kRejected);
  EXPECT_EQ(got.status().message(), "the upload stopped before these bytes arrived");
  EXPECT_EQ(asked.load(), 100u);
  stop = false;
  std::thread remover([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    (*second)->Remove();
  });
  got = Read(**waiting, 0, 200);
  remover.join();
  EXPECT_EQ(got.status().code(), StatusCode::kRejected);
  EXPECT_EQ(got.status().message(), "the upload stopped before these bytes arrived");
}

TEST_P(SpoolTest, RunFoldersOfLiveProcessesStayAndOfDeadOnesGo) {
  auto first = OpenSpool();
  ASSERT_NE(first, nullptr);
  auto kept = Filled(*first, "still uploading");
  const fs::path first_run = RunFolders().at(0);

  auto second = OpenSpool();  // another server on the same vault: the first is left alone
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(RunFolders().size(), 2u);
  EXPECT_TRUE(fs::exists(first_run));
  EXPECT_EQ(Read(*ReaderOf(*kept), 0, 100).value(), "still uploading");

  // A crashed process's folder, made by hand: a lock nobody holds, and an upload file.
  const fs::path dead = SpoolDir() / "run-0123456789abcdef";
  fs::create_directory(dead);
  testing::WriteFile(dead / "lock", "");
  testing::WriteFile(dead / "up-00", "sealed bytes of a lost key");
  // Another running process's, whose lock is held (here by this test).
  const fs::path held = SpoolDir() / "run-fedcba9876543210";
  fs::create_directory(held);
  testing::WriteFile(held / "lock", "");
  const int held_fd = ::open((held / "lock").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(held_fd, 0);
  ASSERT_EQ(::flock(held_fd, LOCK_EX | LOCK_NB), 0);

  first.reset();  // its folder goes with it
  EXPECT_FALSE(fs::exists(first_run));
  auto third = OpenSpool();
  ASSERT_NE(third, nullptr);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(held / "lock"));
  EXPECT_EQ(RunFolders().size(), 3u);  // second's, third's and the held one

  ::close(held_fd);
  second.reset();
  third.reset();
  auto fourth = OpenSpool();
  ASSERT_NE(fourth, nullptr);
  EXPECT_EQ(RunFolders().size(), 1u);
}

TEST_P(SpoolTest, OpenRefusesASymbolicLink) {
  fs::create_directory(dir_ / "elsewhere");
  fs::create_directory_symlink(dir_ / "elsewhere", SpoolDir());
  auto spool = Spool::Open(SpoolDir());
  ASSERT_FALSE(spool.ok());
  EXPECT_EQ(spool.status().code(), StatusCode::kIoError);
  EXPECT_EQ(spool.status().message(), "the upload spool folder " + SpoolDir().string() +
                                          " is a symbolic link: make it a real folder");
  EXPECT_TRUE(fs::is_empty(dir_ / "elsewhere"));
}

TEST_P(SpoolTest, OpenNamesAFolderItCannotMake) {
  auto spool = Spool::Open(dir_ / "missing" / "spool");
  ASSERT_FALSE(spool.ok());
  EXPECT_EQ(spool.status().code(), StatusCode::kIoError);
  EXPECT_EQ(spool.status().message(), "cannot make the upload spool folder " +
                                          (dir_ / "missing" / "spool").string() +
                                          ": No such file or directory");
}

INSTANTIATE_TEST_SUITE_P(Ciphers, SpoolTest,
                         ::testing::Values(Spool::Cipher::kFastest, Spool::Cipher::kXChaCha20),
                         [](const auto& info) {
                           return info.param == Spool::Cipher::kFastest ? "AesGcm" : "XChaCha20";
                         });

}  // namespace
}  // namespace dossier
