// age v1 (exporter/age.h) against Debian's real `age` and `age-keygen`, in both directions:
// what we write, `age -d` opens; what `age -r` writes, we open. Plus the exact size the export
// planner relies on, the read-back with the writer's own key, tampering, and recipient parsing.
#include "exporter/age.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/file_io.h"
#include "exporter/age_crypto.h"
#include "tests/test_util.h"

namespace dossier::exporter {
namespace {

using testing::PseudoRandom;
using testing::ReadFile;
using testing::Shell;
using testing::StringSink;
using testing::WriteFile;

const std::vector<size_t> kSizes = {0, 1, 65535, 65536, 65537, 3 * 65536, 1000003};

struct Key {
  fs::path file;          // age-keygen's key file
  std::string recipient;  // age1…
  std::string identity;   // AGE-SECRET-KEY-1…
};

class AgeTest : public testing::TempDirTest {
 protected:
  Key NewKey(const std::string& name) {
    Key k;
    k.file = dir_ / (name + ".txt");
    auto [rc, out] = Shell("age-keygen -o " + k.file.string());
    EXPECT_EQ(rc, 0) << out;
    auto [rc2, pub] = Shell("age-keygen -y " + k.file.string());
    EXPECT_EQ(rc2, 0) << pub;
    k.recipient = pub.substr(0, pub.find('\n'));
    const std::string text = ReadFile(k.file);
    const size_t at = text.find("AGE-SECRET-KEY-1");
    k.identity = text.substr(at, text.find('\n', at) - at);
    return k;
  }

  static AgeRecipient Recipient(const Key& k) {
    auto r = ParseAgeRecipient(k.recipient);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : AgeRecipient{};
  }

  // Our writer over `plain`, fed in slices of an odd size, into `path`.
  std::optional<AgeFileKey> Encrypt(const std::string& plain, const std::vector<Key>& keys,
                                    const fs::path& path) {
    std::vector<AgeRecipient> recipients;
    for (const Key& k : keys) recipients.push_back(Recipient(k));
    StringSink sink;
    auto w = AgeWriter::Create(sink, recipients);
    EXPECT_TRUE(w.ok()) << w.status().message();
    if (!w.ok()) return std::nullopt;
    for (size_t pos = 0; pos < plain.size(); pos += 10007) {
      EXPECT_TRUE((*w)->Write(AsBytes(std::string_view(plain).substr(pos, 10007))).ok());
    }
    Status st = (*w)->Finish();
    EXPECT_TRUE(st.ok()) << st.message();
    WriteFile(path, sink.data);
    return (*w)->ReadBackKey();
  }

  // `age -d -i KEYFILE` over `path`: its exit code and output.
  std::pair<int, std::string> AgeDecrypt(const Key& k, const fs::path& path) {
    const fs::path out = dir_ / "age-out";
    fs::remove(out);
    auto [rc, msg] =
        Shell("age -d -i " + k.file.string() + " -o " + out.string() + " " + path.string());
    return {rc, rc == 0 ? ReadFile(out) : msg};
  }

  // `age -r RECIPIENT…` over `plain` into `path`.
  void AgeEncrypt(const std::string& plain, const std::vector<Key>& keys, const fs::path& path) {
    const fs::path in = dir_ / "age-in";
    WriteFile(in, plain);
    std::string cmd = "age";
    for (const Key& k : keys) cmd += " -r " + k.recipient;
    auto [rc, msg] = Shell(cmd + " -o " + path.string() + " " + in.string());
    ASSERT_EQ(rc, 0) << msg;
  }

  static Result<std::string> Decrypt(AgeReader reader, StringSink& sink, const fs::path& path) {
    auto f = File::OpenRead(path);
    if (!f.ok()) return f.status();
    DOSSIER_RETURN_IF_ERROR(reader.ReadAll(*f));
    return sink.data;
  }
  static Result<std::string> DecryptWithIdentity(const Key& k, const fs::path& path) {
    auto id = ParseAgeIdentity(k.identity);
    if (!id.ok()) return id.status();
    StringSink sink;
    return Decrypt(AgeReader::WithIdentity(sink, *id), sink, path);
  }
  // Each file, read by `read`, is kCorrupt with exactly its error; `age -d` refuses it too.
  struct BadFile {
    std::string name;
    std::string file;
    std::string error;
  };
  void ExpectEachCorrupt(const Key& k, const std::vector<BadFile>& cases,
                         const std::function<Result<std::string>(const fs::path&)>& read) {
    for (const BadFile& c : cases) {
      SCOPED_TRACE(c.name);
      WriteFile(dir_ / "bad.age", c.file);
      auto out = read(dir_ / "bad.age");
      ASSERT_FALSE(out.ok());
      EXPECT_EQ(out.status().code(), StatusCode::kCorrupt);
      EXPECT_EQ(out.status().message(), c.error);
      EXPECT_NE(AgeDecrypt(k, dir_ / "bad.age").first, 0);
    }
  }

  static Result<std::string> DecryptWithKey(const AgeFileKey& key, const fs::path& path) {
    StringSink sink;
    return Decrypt(AgeReader::WithFileKey(sink, key), sink, path);
  }
};

TEST_F(AgeTest, OurFilesOpenWithAgeAndHaveThePredictedSize) {
  const Key k = NewKey("key");
  for (size_t size : kSizes) {
    SCOPED_TRACE(size);
    const std::string plain = PseudoRandom(size, size + 1);
    const fs::path path = dir_ / "part.age";
    fs::remove(path);
    ASSERT_TRUE(Encrypt(plain, {k}, path));
    EXPECT_EQ(fs::file_size(path), AgeEncryptedSize(size, 1));
    auto [rc, out] = AgeDecrypt(k, path);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_TRUE(out == plain);
  }
}

TEST_F(AgeTest, EachOfTwoRecipientsOpensTheFile) {
  const Key a = NewKey("a"), b = NewKey("b"), stranger = NewKey("c");
  const std::string plain = PseudoRandom(200000, 7);
  const fs::path path = dir_ / "part.age";
  ASSERT_TRUE(Encrypt(plain, {a, b}, path));
  EXPECT_EQ(fs::file_size(path), AgeEncryptedSize(plain.size(), 2));
  for (const Key* k : {&a, &b}) {
    auto [rc, out] = AgeDecrypt(*k, path);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_TRUE(out == plain);
  }
  auto [rc, out] = AgeDecrypt(stranger, path);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("no identity matched any of the recipients"), std::string::npos) << out;
}

TEST_F(AgeTest, FilesAgeWritesOpenWithOurReader) {
  const Key k = NewKey("key");
  for (size_t size : kSizes) {
    SCOPED_TRACE(size);
    const std::string plain = PseudoRandom(size, size + 2);
    const fs::path path = dir_ / "by-age.age";
    fs::remove(path);
    AgeEncrypt(plain, {k}, path);
    auto out = DecryptWithIdentity(k, path);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_TRUE(*out == plain);
  }
  // The second of two recipients' stanzas.
  const Key other = NewKey("other");
  const std::string plain = PseudoRandom(70000, 3);
  AgeEncrypt(plain, {other, k}, dir_ / "two.age");
  auto out = DecryptWithIdentity(k, dir_ / "two.age");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_TRUE(*out == plain);
}

TEST_F(AgeTest, EncryptedSizeIsExactForOurFilesAndAges) {
  const Key a = NewKey("a"), b = NewKey("b"), c = NewKey("c");
  for (size_t size : {size_t{0}, size_t{5}, size_t{65536}, size_t{65537}, size_t{300000}}) {
    for (const std::vector<Key>& keys : {std::vector<Key>{a}, std::vector<Key>{a, b, c}}) {
      SCOPED_TRACE(::testing::Message() << size << " bytes, " << keys.size() << " recipients");
      const std::string plain = PseudoRandom(size, 11);
      fs::remove(dir_ / "ours.age");
      fs::remove(dir_ / "theirs.age");
      ASSERT_TRUE(Encrypt(plain, keys, dir_ / "ours.age"));
      AgeEncrypt(plain, keys, dir_ / "theirs.age");
      EXPECT_EQ(fs::file_size(dir_ / "ours.age"), AgeEncryptedSize(size, keys.size()));
      EXPECT_EQ(fs::file_size(dir_ / "theirs.age"), AgeEncryptedSize(size, keys.size()));
    }
  }
  // 22 + 98 + 48 header bytes, the nonce, one tag.
  EXPECT_EQ(AgeEncryptedSize(0, 1), 22u + 98 + 48 + 16 + 16);
  EXPECT_EQ(AgeEncryptedSize(65536, 1), 184u + 65536 + 16);
  EXPECT_EQ(AgeEncryptedSize(65537, 3), 22u + 3 * 98 + 48 + 16 + 65537 + 2 * 16);
}

TEST_F(AgeTest, TheWriterStreamsOneChunkAtATime) {
  const Key k = NewKey("key");
  const AgeRecipient r = Recipient(k);
  StringSink sink;
  auto w = AgeWriter::Create(sink, {&r, 1});
  ASSERT_TRUE(w.ok());
  const size_t header = AgeEncryptedSize(0, 1) - 16;  // header and nonce
  EXPECT_EQ(sink.data.size(), header);
  const std::string plain = PseudoRandom(2 * 65536, 5);
  ASSERT_TRUE((*w)->Write(AsBytes(std::string_view(plain).substr(0, 65536))).ok());
  EXPECT_EQ(sink.data.size(), header);  // a full chunk waits: it might be the last
  ASSERT_TRUE((*w)->Write(AsBytes(std::string_view(plain).substr(65536, 1))).ok());
  EXPECT_EQ(sink.data.size(), header + 65536 + 16);
  ASSERT_TRUE((*w)->Write(AsBytes(std::string_view(plain).substr(65537))).ok());
  EXPECT_EQ(sink.data.size(), header + 65536 + 16);
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_EQ(sink.data.size(), AgeEncryptedSize(plain.size(), 1));
  const Status again = (*w)->Write(AsBytes("x"));
  EXPECT_EQ(again.code(), StatusCode::kInternal);
  EXPECT_EQ(again.message(), "age: Write() after Finish()");
}

TEST_F(AgeTest, NoRecipientsIsInvalid) {
  StringSink sink;
  auto w = AgeWriter::Create(sink, {});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(w.status().message(), "age: at least one recipient is needed");
  EXPECT_TRUE(sink.data.empty());
}

TEST_F(AgeTest, ReadBackWithTheWritersKeyReturnsThePlaintext) {
  const Key k = NewKey("key");
  for (size_t size : kSizes) {
    SCOPED_TRACE(size);
    const std::string plain = PseudoRandom(size, size + 3);
    const fs::path path = dir_ / "part.age";
    fs::remove(path);
    auto key = Encrypt(plain, {k}, path);
    ASSERT_TRUE(key);
    auto out = DecryptWithKey(*key, path);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_TRUE(*out == plain);
  }
  // Fed one byte at a time, the reader gives the same.
  const std::string plain = PseudoRandom(140000, 9);
  auto key = Encrypt(plain, {k}, dir_ / "bytes.age");
  ASSERT_TRUE(key);
  const std::string file = ReadFile(dir_ / "bytes.age");
  StringSink sink;
  AgeReader reader = AgeReader::WithFileKey(sink, *key);
  for (char c : file) ASSERT_TRUE(reader.Write(AsBytes(std::string_view(&c, 1))).ok());
  ASSERT_TRUE(reader.Finish().ok());
  EXPECT_TRUE(sink.data == plain);
}

// Each damaged copy of a 2-chunk file read back with the writer's key: the exact error.
TEST_F(AgeTest, DamageIsCorruptNamingWhatFailed) {
  const Key k = NewKey("key");
  const std::string plain = PseudoRandom(65536 + 1000, 4);
  const fs::path good = dir_ / "good.age";
  auto key = Encrypt(plain, {k}, good);
  ASSERT_TRUE(key);
  const std::string bytes = ReadFile(good);
  const size_t header = AgeEncryptedSize(0, 1) - 32;  // up to the payload nonce
  const size_t chunk1 = header + 16 + 65536 + 16;
  ASSERT_EQ(bytes.size(), chunk1 + 1000 + 16);

  auto replace = [&](size_t at, char c) {
    std::string b = bytes;
    b[at] = b[at] == c ? static_cast<char>(c + 1) : c;
    return b;
  };
  const std::string mac_mismatch =
      "age header MAC does not match: the header was changed, or this is not the key of this "
      "file";
  const std::vector<BadFile> cases = {
      {"version line", replace(20, '2'),
       "not an age v1 file (it does not begin with age-encryption.org/v1)"},
      {"stanza share", replace(22 + 10 + 5, 'B'), mac_mismatch},
      {"stanza body", replace(22 + 54 + 5, 'B'), mac_mismatch},
      {"header MAC", replace(header - 10, 'B'), mac_mismatch},
      {"MAC line", replace(header - 45, 'x'),
       "age header line 4 is malformed: the MAC line is not \"--- \" and 43 base64 characters"},
      {"payload nonce", replace(header + 3, 'x'),
       "age payload chunk 0 fails authentication: the file was changed or cut short"},
      {"first chunk", replace(header + 16 + 100, 'x'),
       "age payload chunk 0 fails authentication: the file was changed or cut short"},
      {"first chunk's tag", replace(chunk1 - 1, 'x'),
       "age payload chunk 0 fails authentication: the file was changed or cut short"},
      {"last chunk", replace(chunk1 + 500, 'x'),
       "age payload chunk 1 fails authentication: the file was changed or cut short"},
      {"one byte cut", bytes.substr(0, bytes.size() - 1),
       "age payload chunk 1 fails authentication: the file was changed or cut short"},
      {"cut after a chunk", bytes.substr(0, chunk1),
       "age payload chunk 0 fails authentication: the file was changed or cut short"},
      {"cut inside a tag", bytes.substr(0, chunk1 + 10),
       "age file ends inside payload chunk 1 (cut short)"},
      {"cut in the nonce", bytes.substr(0, header + 7),
       "age file ends inside its payload nonce (cut short)"},
      {"cut in the header", bytes.substr(0, 60), "age file ends inside its header (cut short)"},
      {"empty", "", "age file is empty"},
      {"a byte appended", bytes + "x",
       "age payload chunk 1 fails authentication: the file was changed or cut short"},
  };
  ExpectEachCorrupt(k, cases, [&](const fs::path& p) { return DecryptWithKey(*key, p); });
}

TEST_F(AgeTest, BytesAfterAFullLastChunkAreCorrupt) {
  const Key k = NewKey("key");
  const std::string plain = PseudoRandom(65536, 6);
  auto key = Encrypt(plain, {k}, dir_ / "part.age");
  ASSERT_TRUE(key);
  WriteFile(dir_ / "part.age", ReadFile(dir_ / "part.age") + "x");
  auto out = DecryptWithKey(*key, dir_ / "part.age");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(out.status().message(), "age file has bytes after its last chunk (chunk 0)");
}

TEST_F(AgeTest, AWrongIdentityIsAuthFailed) {
  const Key k = NewKey("key"), other = NewKey("other");
  ASSERT_TRUE(Encrypt("hello", {k}, dir_ / "part.age"));
  auto out = DecryptWithIdentity(other, dir_ / "part.age");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kAuthFailed);
  EXPECT_EQ(out.status().message(),
            "age file is not encrypted to this identity (no X25519 stanza opens with it)");
}

// An age file made by hand with age's own primitives (exporter/age_crypto.h), for what
// AgeWriter never writes: `before` (whole stanzas) ahead of the X25519 stanza for `k`, whose
// share `edit_share` may change, then `chunks` of plaintext, the last one flagged. The header
// MAC is right, so only the rule under test can fail.
std::string Craft(const AgeRecipient& r, const std::string& before,
                  const std::vector<std::string>& chunks,
                  const std::function<void(std::string&)>& edit_share = nullptr) {
  using namespace age_internal;  // NOLINT
  SecureBuffer file_key = SecureBuffer::Random(kFileKeySize);
  auto stanza = WrapFileKey(file_key.span(), r.public_key);
  EXPECT_TRUE(stanza.ok());
  std::string share = ToBase64Unpadded(stanza->share);
  if (edit_share) edit_share(share);
  std::string file = "age-encryption.org/v1\n" + before + "-> X25519 " + share + "\n" +
                     ToBase64Unpadded(stanza->body) + "\n---";
  file += " " + ToBase64Unpadded(HeaderMac(file_key.span(), file)) + "\n";
  const Bytes nonce(16, 7);
  file += AsString(nonce);
  SecureBuffer payload_key = PayloadKey(file_key.span(), nonce);
  for (size_t i = 0; i < chunks.size(); ++i) {
    Bytes c(chunks[i].size() + 16);
    unsigned long long len = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(
        c.data(), &len, AsBytes(chunks[i]).data(), chunks[i].size(), nullptr, 0, nullptr,
        ChunkNonce(i, i + 1 == chunks.size()).data(), payload_key.data());
    file += AsString(c);
  }
  return file;
}

// age v1 forbids an empty last chunk after a full one: a writer must flag the full chunk.
TEST_F(AgeTest, AnEmptyLastChunkAfterAFullOneIsCorrupt) {
  const Key k = NewKey("key");
  WriteFile(dir_ / "part.age", Craft(Recipient(k), "", {PseudoRandom(65536, 8), ""}));
  auto out = DecryptWithIdentity(k, dir_ / "part.age");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(out.status().message(),
            "age payload chunk 1 is an empty last chunk after a full one, which age v1 forbids");
  EXPECT_NE(AgeDecrypt(k, dir_ / "part.age").first, 0);
}

TEST_F(AgeTest, StanzasOfOtherTypesAreSkipped) {
  const Key k = NewKey("key");
  const std::string plain = PseudoRandom(1000, 12);
  // A 64-column full line, then a short one; one with an empty body; an scrypt stanza (only an
  // scrypt identity insists on being alone).
  const std::string other = "-> example.com/enigma abc\n" + std::string(64, 'A') + "\nQUJD\n" +
                            "-> grease-x y z\n\n" + "-> scrypt c2FsdA 10\nQUJD\n";
  WriteFile(dir_ / "part.age", Craft(Recipient(k), other, {plain}));
  auto [rc, age_out] = AgeDecrypt(k, dir_ / "part.age");
  ASSERT_EQ(rc, 0) << age_out;
  auto out = DecryptWithIdentity(k, dir_ / "part.age");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_TRUE(*out == plain);
}

TEST_F(AgeTest, AMalformedHeaderIsCorruptNamingTheLine) {
  const Key k = NewKey("key");
  const AgeRecipient r = Recipient(k);
  const std::string x25519 =
      "age header line 2 is malformed: an X25519 stanza needs one 32-byte share and a 32-byte "
      "body";
  const std::vector<BadFile> cases = {
      // The last character of 32 bytes in base64 carries two unused bits; setting one makes an
      // encoding age must refuse.
      {"non-canonical share",
       Craft(r, "", {"x"},
             [](std::string& share) {
               static const std::string kAlphabet =
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
               share.back() = kAlphabet[kAlphabet.find(share.back()) + 1];
             }),
       x25519},
      {"padded share", Craft(r, "", {"x"}, [](std::string& share) { share += "="; }), x25519},
      {"extra argument", Craft(r, "", {"x"}, [](std::string& share) { share += " more"; }), x25519},
      {"low-order share", Craft(r, "", {"x"}, [](std::string& share) { share.assign(43, 'A'); }),
       "age header line 2: an X25519 stanza's share is a low-order point (no shared secret)"},
      {"line too long", Craft(r, "-> a\n" + std::string(65, 'A') + "\n", {"x"}),
       "age header line 3 is malformed: a stanza body line is not base64 of at most 64 columns"},
      {"empty argument", Craft(r, "->  a\n\n", {"x"}),
       "age header line 2 is malformed: a stanza argument is empty or not printable ASCII"},
      {"no stanza line", Craft(r, "QUJD\n", {"x"}),
       "age header line 2 is malformed: expected a stanza (\"-> …\")"},
  };
  ExpectEachCorrupt(k, cases, [&](const fs::path& p) { return DecryptWithIdentity(k, p); });
}

TEST_F(AgeTest, AKeyFromAgeKeygenParsesAndItsIdentityMatches) {
  const Key k = NewKey("key");
  auto r = ParseAgeRecipient(k.recipient);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->ToString(), k.recipient);
  auto id = ParseAgeIdentity(k.identity);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(id->Recipient(), *r);
  // The specification's own example.
  auto spec = ParseAgeRecipient("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  auto spec_id = ParseAgeIdentity(
      "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX");
  ASSERT_TRUE(spec_id.ok()) << spec_id.status().message();
  EXPECT_EQ(spec_id->Recipient(), *spec);
}

TEST(AgeRecipientTest, EachMalformedFormIsInvalidNamingTheText) {
  // Made with an independent Bech32 encoder (BIP173's reference algorithm in Python).
  const std::string valid = "age1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7rusqmwn7f2";
  ASSERT_TRUE(ParseAgeRecipient(valid).ok());
  std::string upper = valid;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  std::string mixed = valid;
  mixed[10] = 'P';
  std::string typo = valid;
  typo[20] = typo[20] == 'q' ? 'p' : 'q';
  const struct {
    std::string text;
    std::string shown;
    std::string reason;
  } cases[] = {
      {"", "", "it is empty"},
      {upper, upper, "it is not all lower case"},
      {mixed, mixed, "it is not all lower case"},
      {typo, typo, "its checksum does not match (mistyped or cut short?)"},
      {valid.substr(0, 61), valid.substr(0, 61),
       "its checksum does not match (mistyped or cut short?)"},
      // The same key with a Bech32m checksum.
      {"age1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7rusqwjrjvg",
       "age1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7rusqwjrjvg",
       "its checksum does not match (mistyped or cut short?)"},
      {"agx1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7rusq37xvsa",
       "agx1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7rusq37xvsa",
       "it does not start with age1"},
      {"age1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7ru28p0lr",
       "age1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7ru28p0lr",
       "it holds 31 bytes, not the 32 of an X25519 key"},
      {"age1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7ruszzxrc4t3",
       "age1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7ruszzxrc4t3",
       "it holds 33 bytes, not the 32 of an X25519 key"},
      {"age1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7ruspxc8t5c",
       "age1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7ruspxc8t5c",
       "its data is not canonical Bech32"},
      {"age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z",
       "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z",
       "it is not a usable X25519 key (a low-order point)"},
      {"age1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7rusqmwnbf2",
       "age1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7rusqmwnbf2",
       "it has a character outside Bech32's alphabet"},
      {"age1", "age1", "it is too short to hold a checksum"},
      {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN user@host",
       "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN user@host",
       "it is an ssh key, which age can use but Dossier does not"},
      {"age1yubikey1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7ruszzkhc85l",
       "age1yubikey1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7ruszzkhc85l",
       "it is a plugin or post-quantum recipient (age1yubikey)"},
      {valid + "\n", valid + "\\x0A", "it contains white space"},
      {" " + valid, " " + valid, "it contains white space"},
      {"AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX",
       "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX",
       "it is not all lower case"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = ParseAgeRecipient(c.text);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "not an age recipient: \"" + c.shown + "\" (" + c.reason +
                                        "); an age recipient is the age1… line that `age-keygen "
                                        "-y KEYFILE` prints");
  }
  // The real tool agrees: none of these is a recipient for age either.
  for (const auto& c : cases) {
    if (c.text.empty() || c.text.find_first_of(" \n") != std::string::npos) continue;
    EXPECT_NE(Shell("echo x | age -r '" + c.text + "' >/dev/null").first, 0) << c.text;
  }
}

TEST(AgeIdentityTest, MalformedIdentitiesAreInvalidWithoutRepeatingThem) {
  const std::string valid =
      "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
  std::string lower = valid;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  std::string typo = valid;
  typo[30] = typo[30] == 'Q' ? 'P' : 'Q';
  const struct {
    std::string text;
    std::string reason;
  } cases[] = {
      {lower, "it is not all upper case"},
      {typo, "its checksum does not match (mistyped or cut short?)"},
      {"age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj",
       "it is not all upper case"},
      {"AGE-SECRET-KEY-PQ-1XX76JRALNLXDMEW0CRK45QMCCH4X06SE84UN3VPM33W6HWDX0H3SK3ZQFR",
       "it does not start with AGE-SECRET-KEY-1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.reason);
    auto id = ParseAgeIdentity(c.text);
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(id.status().message(),
              "not an age identity (" + c.reason +
                  "); an age identity is the AGE-SECRET-KEY-1… line of a key file made by "
                  "age-keygen");
  }
}

}  // namespace
}  // namespace dossier::exporter
