#include "exporter/zip_part.h"

#include <fmt/format.h>
#include <nettle/hmac.h>
#include <nettle/pbkdf2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <limits>

#include "exporter/age.h"

// The ZIP layout is written here rather than through libarchive: libarchive 3.6 (Debian 12)
// schedules the AES key again for every 16-byte block and encrypts WinZip AES at ~60 MB/s,
// which made it two thirds of an export's time (doc/PERFORMANCE.md). The primitives stay
// library code: AES-256 from OpenSSL (its ECB, run over a batch of counter blocks, is the
// keystream), PBKDF2-HMAC-SHA1 and HMAC-SHA1 from Nettle, CRC-32 from zlib. Only the
// container — headers, the AES extra field, ZIP64 records — is ours, and the tests open every
// part with 7-Zip.

namespace dossier::exporter {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50,
                   kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50,
                   kDescriptorSig = 0x08074b50;
constexpr uint16_t kFlagEncrypted = 1, kFlagDescriptor = 1 << 3, kFlagUtf8 = 1 << 11;
constexpr uint16_t kMethodStore = 0, kMethodAes = 99;
constexpr uint16_t kAesExtraId = 0x9901, kZip64ExtraId = 0x0001;
constexpr size_t kSaltSize = 16, kCheckSize = 2, kMacSize = 10, kKeySize = 32;
constexpr uint64_t kAesFraming = kSaltSize + kCheckSize + kMacSize;  // 28
constexpr uint32_t k32 = 0xFFFFFFFF;
constexpr unsigned kPbkdf2Rounds = 1000;  // WinZip's fixed count
constexpr size_t kBuffer = 1 << 20;

void Put16(std::string& b, uint16_t v) {
  b.push_back(static_cast<char>(v & 0xFF));
  b.push_back(static_cast<char>(v >> 8));
}
void Put32(std::string& b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v & 0xFFFF));
  Put16(b, static_cast<uint16_t>(v >> 16));
}
void Put64(std::string& b, uint64_t v) {
  Put32(b, static_cast<uint32_t>(v & k32));
  Put32(b, static_cast<uint32_t>(v >> 32));
}
uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t Get32(const uint8_t* p) { return Get16(p) | (static_cast<uint32_t>(Get16(p + 2)) << 16); }
uint64_t Get64(const uint8_t* p) { return Get32(p) | (static_cast<uint64_t>(Get32(p + 4)) << 32); }

// The AES extra field: AE-2 (no CRC, the authentication code alone), vendor "AE", AES-256,
// the real method "stored".
void PutAesExtra(std::string& b) {
  Put16(b, kAesExtraId);
  Put16(b, 7);
  Put16(b, 2);
  b += "AE";
  b.push_back(3);
  Put16(b, kMethodStore);
}

// The keys of one encrypted entry, from its salt: AES key, HMAC key, the 2-byte check.
}  // namespace

class EntryKeys {
 public:
  EntryKeys(const std::string& password, const uint8_t* salt) {
    std::copy_n(salt, kSaltSize, salt_);
    pbkdf2_hmac_sha1(password.size(), reinterpret_cast<const uint8_t*>(password.data()),
                     kPbkdf2Rounds, kSaltSize, salt, sizeof(k_), k_);
  }
  ~EntryKeys() { sodium_memzero(k_, sizeof(k_)); }
  EntryKeys(const EntryKeys&) = delete;
  EntryKeys& operator=(const EntryKeys&) = delete;
  const uint8_t* salt() const { return salt_; }
  const uint8_t* aes() const { return k_; }
  const uint8_t* mac() const { return k_ + kKeySize; }
  const uint8_t* check() const { return k_ + 2 * kKeySize; }

 private:
  uint8_t salt_[kSaltSize];
  uint8_t k_[2 * kKeySize + kCheckSize];
};

WrittenPart::WrittenPart() = default;
WrittenPart::~WrittenPart() = default;

namespace {

// WinZip's counter mode: a 128-bit little-endian counter from 1, each block's keystream the
// AES encryption of the counter. OpenSSL counts big-endian, so its ECB encrypts 4,096 counter
// blocks at a time and the XOR is done here.
class WinZipCtr {
 public:
  WinZipCtr() : ctx_(EVP_CIPHER_CTX_new()) {}
  ~WinZipCtr() {
    EVP_CIPHER_CTX_free(ctx_);
    sodium_memzero(stream_.data(), stream_.size());
  }
  WinZipCtr(const WinZipCtr&) = delete;
  WinZipCtr& operator=(const WinZipCtr&) = delete;

  Status Start(const uint8_t* key) {
    if (ctx_ == nullptr ||
        EVP_EncryptInit_ex(ctx_, EVP_aes_256_ecb(), nullptr, key, nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx_, 0) != 1) {
      return Internal("cannot set up AES-256");
    }
    counter_ = 0;
    used_ = stream_.size();
    return Status::Ok();
  }
  // XORs the keystream into `data` in place.
  Status Apply(uint8_t* data, size_t n) {
    while (n > 0) {
      if (used_ == stream_.size()) DOSSIER_RETURN_IF_ERROR(Refill());
      const size_t take = std::min(n, stream_.size() - used_);
      const uint8_t* ks = stream_.data() + used_;
      for (size_t i = 0; i < take; ++i) data[i] ^= ks[i];
      data += take;
      n -= take;
      used_ += take;
    }
    return Status::Ok();
  }

 private:
  Status Refill() {
    for (size_t off = 0; off < stream_.size(); off += 16) {
      ++counter_;
      for (int i = 0; i < 8; ++i) blocks_[off + i] = static_cast<uint8_t>(counter_ >> (8 * i));
      std::fill_n(blocks_.begin() + static_cast<ptrdiff_t>(off) + 8, 8, uint8_t{0});
    }
    int len = 0;
    if (EVP_EncryptUpdate(ctx_, stream_.data(), &len, blocks_.data(),
                          static_cast<int>(blocks_.size())) != 1 ||
        len != static_cast<int>(stream_.size())) {
      return Internal("AES-256 failed");
    }
    used_ = 0;
    return Status::Ok();
  }

  EVP_CIPHER_CTX* ctx_;
  uint64_t counter_ = 0;
  std::array<uint8_t, 64 * 1024> blocks_{}, stream_{};
  size_t used_ = 0;
};

std::pair<uint16_t, uint16_t> DosTimeDate(int64_t mtime) {
  const time_t t = static_cast<time_t>(mtime);
  std::tm tm{};
  localtime_r(&t, &tm);
  if (tm.tm_year < 80) return {0, (1 << 5) | 1};  // 1980-01-01, DOS's first day
  const auto time = static_cast<uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
  const auto date =
      static_cast<uint16_t>(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
  return {time, date};
}

uint16_t VersionNeeded(bool encrypted, bool zip64) { return encrypted ? 51 : zip64 ? 45 : 20; }

}  // namespace

// A part file the writer made itself.
struct FileOut final : ByteSink {
  explicit FileOut(File f) : file(std::move(f)) {}
  Status Write(std::span<const uint8_t> d) override { return file.WriteAll(d); }
  File file;
};

struct ZipPartWriter::State {
  std::optional<FileOut> file;
  ByteSink* out = nullptr;  // where the archive's bytes go
  std::string password;
  std::string buf;       // bytes not yet written to the file
  uint64_t written = 0;  // bytes of the archive so far, buffered or on disk
  uint16_t dos_time = 0, dos_date = 0;
  std::shared_ptr<WrittenPart> layout = std::make_shared<WrittenPart>();
  // The current entry.
  ZipEntryLayout entry;
  uint64_t got = 0;
  bool open = false;
  std::optional<ContentHasher> hash;
  WinZipCtr ctr;
  hmac_sha1_ctx mac{};
  ~State() {
    sodium_memzero(password.data(), password.size());
    sodium_memzero(&mac, sizeof(mac));
  }

  Status Flush() {
    if (buf.empty()) return Status::Ok();
    DOSSIER_RETURN_IF_ERROR(out->Write({reinterpret_cast<const uint8_t*>(buf.data()), buf.size()}));
    buf.clear();
    return Status::Ok();
  }
  Status Emit(const std::string& bytes) {
    buf += bytes;
    written += bytes.size();
    return buf.size() >= kBuffer ? Flush() : Status::Ok();
  }
};

ZipPartWriter::ZipPartWriter(std::unique_ptr<State> s) : s_(std::move(s)) {}

ZipPartWriter::~ZipPartWriter() = default;

Result<std::unique_ptr<ZipPartWriter>> ZipPartWriter::Create(const std::filesystem::path& path,
                                                             const std::string& password,
                                                             int64_t mtime) {
  DOSSIER_ASSIGN_OR_RETURN(File f, File::CreateExclusive(path));
  auto s = std::make_unique<State>();
  s->file.emplace(std::move(f));
  s->out = &*s->file;
  s->password = password;
  std::tie(s->dos_time, s->dos_date) = DosTimeDate(mtime);
  s->buf.reserve(kBuffer + 64 * 1024);
  return std::unique_ptr<ZipPartWriter>(new ZipPartWriter(std::move(s)));
}

Result<std::unique_ptr<ZipPartWriter>> ZipPartWriter::Create(ByteSink& out,
                                                             const std::string& password,
                                                             int64_t mtime) {
  auto s = std::make_unique<State>();
  s->out = &out;
  s->password = password;
  std::tie(s->dos_time, s->dos_date) = DosTimeDate(mtime);
  s->buf.reserve(kBuffer + 64 * 1024);
  return std::unique_ptr<ZipPartWriter>(new ZipPartWriter(std::move(s)));
}

Status ZipPartWriter::BeginEntry(const std::string& name, uint64_t size) {
  if (s_->open) return Internal("an entry is already open: " + s_->entry.name);
  if (name.empty() || name.size() > 0xFFFF)
    return Internal("a ZIP entry name must be 1–65535 bytes");
  ZipEntryLayout& e = s_->entry;
  e = ZipEntryLayout{};
  e.name = name;
  e.size = size;
  e.encrypted = !s_->password.empty();
  e.stored = e.encrypted ? size + kAesFraming : size;
  e.offset = s_->written;
  const bool zip64 = e.stored >= k32;
  std::string h;
  Put32(h, kLocalSig);
  Put16(h, VersionNeeded(e.encrypted, zip64));
  Put16(h, static_cast<uint16_t>(kFlagUtf8 | (e.encrypted ? kFlagEncrypted : kFlagDescriptor)));
  Put16(h, e.encrypted ? kMethodAes : kMethodStore);
  Put16(h, s_->dos_time);
  Put16(h, s_->dos_date);
  Put32(h, 0);  // CRC: none under AE-2; otherwise in the data descriptor
  if (!e.encrypted) {
    Put32(h, 0);  // sizes in the data descriptor, as bit 3 says
    Put32(h, 0);
  } else {
    Put32(h, zip64 ? k32 : static_cast<uint32_t>(e.stored));
    Put32(h, zip64 ? k32 : static_cast<uint32_t>(e.size));
  }
  Put16(h, static_cast<uint16_t>(name.size()));
  Put16(h, static_cast<uint16_t>((e.encrypted ? 11 : 0) + (zip64 ? 20 : 0)));
  h += name;
  if (zip64) {  // unencrypted: zeros here, and a data descriptor with 8-byte sizes
    Put16(h, kZip64ExtraId);
    Put16(h, 16);
    Put64(h, e.encrypted ? e.size : 0);
    Put64(h, e.encrypted ? e.stored : 0);
  }
  if (e.encrypted) {
    PutAesExtra(h);
    uint8_t salt[kSaltSize];
    randombytes_buf(salt, sizeof(salt));
    auto keys = std::make_unique<EntryKeys>(s_->password, salt);
    DOSSIER_RETURN_IF_ERROR(s_->ctr.Start(keys->aes()));
    hmac_sha1_set_key(&s_->mac, kKeySize, keys->mac());
    h.append(reinterpret_cast<const char*>(salt), kSaltSize);
    h.append(reinterpret_cast<const char*>(keys->check()), kCheckSize);
    s_->layout->keys.push_back(std::move(keys));
  }
  DOSSIER_RETURN_IF_ERROR(s_->Emit(h));
  s_->got = 0;
  s_->hash.emplace();
  s_->open = true;
  return Status::Ok();
}

Status ZipPartWriter::Write(std::span<const uint8_t> data) {
  State& s = *s_;
  if (!s.open) return Internal("no ZIP entry is open");
  if (data.size() > s.entry.size - s.got) {
    return Internal(fmt::format("{}: more than the {} bytes planned", s.entry.name, s.entry.size));
  }
  s.hash->Update(data);
  s.got += data.size();
  s.written += data.size();
  if (!s.entry.encrypted) {
    s.entry.crc = static_cast<uint32_t>(crc32_z(s.entry.crc, data.data(), data.size()));
  }
  while (!data.empty()) {
    const size_t take = std::min(data.size(), kBuffer);
    const size_t at = s.buf.size();
    s.buf.append(reinterpret_cast<const char*>(data.data()), take);
    if (s.entry.encrypted) {
      auto* p = reinterpret_cast<uint8_t*>(s.buf.data() + at);
      DOSSIER_RETURN_IF_ERROR(s.ctr.Apply(p, take));
      hmac_sha1_update(&s.mac, take, p);
    }
    data = data.subspan(take);
    if (s.buf.size() >= kBuffer) DOSSIER_RETURN_IF_ERROR(s.Flush());
  }
  return Status::Ok();
}

Result<ContentDigest> ZipPartWriter::EndEntry() {
  State& s = *s_;
  if (!s.open) return Internal("no ZIP entry is open");
  if (s.got != s.entry.size) {
    return Internal(
        fmt::format("{}: {} bytes were written, {} planned", s.entry.name, s.got, s.entry.size));
  }
  std::string tail;
  if (s.entry.encrypted) {
    uint8_t mac[SHA1_DIGEST_SIZE];
    hmac_sha1_digest(&s.mac, sizeof(mac), mac);
    tail.append(reinterpret_cast<const char*>(mac), kMacSize);
  } else {
    Put32(tail, kDescriptorSig);
    Put32(tail, s.entry.crc);
    if (s.entry.size >= k32) {
      Put64(tail, s.entry.stored);
      Put64(tail, s.entry.size);
    } else {
      Put32(tail, static_cast<uint32_t>(s.entry.stored));
      Put32(tail, static_cast<uint32_t>(s.entry.size));
    }
  }
  DOSSIER_RETURN_IF_ERROR(s.Emit(tail));
  s.layout->entries.push_back(s.entry);
  s.open = false;
  ContentDigest d = s.hash->Final();
  s.hash.reset();
  return d;
}

std::shared_ptr<const WrittenPart> ZipPartWriter::Written() const { return s_->layout; }

Result<ContentDigest> ZipPartWriter::AddEntry(const std::string& name,
                                              std::span<const uint8_t> data) {
  DOSSIER_RETURN_IF_ERROR(BeginEntry(name, data.size()));
  DOSSIER_RETURN_IF_ERROR(Write(data));
  return EndEntry();
}

Result<uint64_t> ZipPartWriter::Close() {
  State& s = *s_;
  if (s.open) return Internal("the ZIP entry " + s.entry.name + " was not finished");
  const uint64_t cd_offset = s.written;
  s.layout->cd_offset = cd_offset;
  for (const ZipEntryLayout& e : s.layout->entries) {
    const bool big_sizes = e.stored >= k32, big_offset = e.offset >= k32;
    std::string r;
    Put32(r, kCentralSig);
    Put16(r, (3 << 8) | 63);  // made by Unix, APPNOTE 6.3
    Put16(r, VersionNeeded(e.encrypted, big_sizes || big_offset));
    Put16(r, static_cast<uint16_t>(kFlagUtf8 | (e.encrypted ? kFlagEncrypted : kFlagDescriptor)));
    Put16(r, e.encrypted ? kMethodAes : kMethodStore);
    Put16(r, s.dos_time);
    Put16(r, s.dos_date);
    Put32(r, e.crc);
    Put32(r, big_sizes ? k32 : static_cast<uint32_t>(e.stored));
    Put32(r, big_sizes ? k32 : static_cast<uint32_t>(e.size));
    Put16(r, static_cast<uint16_t>(e.name.size()));
    const uint16_t zip64_len = static_cast<uint16_t>((big_sizes ? 16 : 0) + (big_offset ? 8 : 0));
    Put16(r, static_cast<uint16_t>((zip64_len > 0 ? 4 + zip64_len : 0) + (e.encrypted ? 11 : 0)));
    Put16(r, 0);  // comment
    Put16(r, 0);  // disk
    Put16(r, 0);  // internal attributes
    Put32(r, 0100644u << 16);
    Put32(r, big_offset ? k32 : static_cast<uint32_t>(e.offset));
    r += e.name;
    if (zip64_len > 0) {
      Put16(r, kZip64ExtraId);
      Put16(r, zip64_len);
      if (big_sizes) {
        Put64(r, e.size);
        Put64(r, e.stored);
      }
      if (big_offset) Put64(r, e.offset);
    }
    if (e.encrypted) PutAesExtra(r);
    DOSSIER_RETURN_IF_ERROR(s.Emit(r));
  }
  const uint64_t cd_size = s.written - cd_offset, count = s.layout->entries.size();
  std::string end;
  if (count >= 0xFFFF || cd_offset >= k32 || cd_size >= k32) {
    const uint64_t zip64_end = s.written;
    Put32(end, kZip64EndSig);
    Put64(end, 44);
    Put16(end, (3 << 8) | 63);
    Put16(end, 45);
    Put32(end, 0);
    Put32(end, 0);
    Put64(end, count);
    Put64(end, count);
    Put64(end, cd_size);
    Put64(end, cd_offset);
    Put32(end, kZip64LocatorSig);
    Put32(end, 0);
    Put64(end, zip64_end);
    Put32(end, 1);
  }
  Put32(end, kEndSig);
  Put16(end, 0);
  Put16(end, 0);
  Put16(end, static_cast<uint16_t>(std::min<uint64_t>(count, 0xFFFF)));
  Put16(end, static_cast<uint16_t>(std::min<uint64_t>(count, 0xFFFF)));
  Put32(end, static_cast<uint32_t>(std::min<uint64_t>(cd_size, k32)));
  Put32(end, static_cast<uint32_t>(std::min<uint64_t>(cd_offset, k32)));
  Put16(end, 0);
  DOSSIER_RETURN_IF_ERROR(s.Emit(end));
  DOSSIER_RETURN_IF_ERROR(s.Flush());
  if (s.file) {
    DOSSIER_RETURN_IF_ERROR(s.file->file.Sync());
    DOSSIER_RETURN_IF_ERROR(s.file->file.Close());
  }
  return s.written;
}

uint64_t EntryOverhead(const std::string& name) {
  // Local header 30 and central record 46, the name in each; encrypted: the AES extra field in
  // each (11 + 11), salt, password check and authentication code (28), ZIP64 fields when the
  // sizes or the offset pass 4 GiB (20 + 28); unencrypted: a ZIP64 data descriptor (24) at most.
  return 30 + 46 + 2 * name.size() + 22 + 28 + 20 + 28;
}

namespace {

// The part file read front to back once, every byte hashed for SHA256SUMS on the way; the
// archive's bytes come out of it (decrypted first when the file is an age stream).
class PartReader {
 public:
  PartReader(File& f, const AgeFileKey* age) : f_(f), raw_(kBuffer) {
    if (age != nullptr) age_.emplace(AgeReader::WithFileKey(sink_, *age));
  }
  // The next `n` bytes of the archive, handed to `use` in pieces.
  template <typename Use>
  Status Take(uint64_t n, Use&& use) {
    while (n > 0) {
      if (at_ == plain().size()) {
        DOSSIER_ASSIGN_OR_RETURN(bool more, Fill());
        if (!more) return Corrupt("it ends early");
      }
      const size_t take = static_cast<size_t>(std::min<uint64_t>(n, plain().size() - at_));
      DOSSIER_RETURN_IF_ERROR(use(plain().data() + at_, take));
      at_ += take;
      n -= take;
      pos_ += take;
    }
    return Status::Ok();
  }
  Status Copy(uint8_t* out, size_t n) {
    return Take(n, [&](const uint8_t* p, size_t k) {
      std::copy_n(p, k, out);
      out += k;
      return Status::Ok();
    });
  }
  // The rest of the archive, at most `max` bytes, to the end of the file.
  Result<std::vector<uint8_t>> Rest(size_t max) {
    std::vector<uint8_t> rest(plain().begin() + static_cast<ptrdiff_t>(at_), plain().end());
    for (;;) {
      DOSSIER_ASSIGN_OR_RETURN(bool more, Fill());
      if (!more) break;
      rest.insert(rest.end(), plain().begin(), plain().end());
      if (rest.size() > max) return Corrupt("its central directory is out of bounds");
    }
    at_ = plain().size();
    pos_ += rest.size();
    return rest;
  }
  uint64_t pos() const { return pos_; }
  ContentDigest Digest() { return file_hash_.Final(); }

 private:
  std::span<const uint8_t> plain() const {
    return age_ ? std::span<const uint8_t>(sink_.data)
                : std::span<const uint8_t>(raw_.data(), raw_len_);
  }
  // Replaces the bytes in hand with the next ones; false at the end of the file (an age
  // stream's last chunk checked, and nothing after it).
  Result<bool> Fill() {
    at_ = 0;
    raw_len_ = 0;
    sink_.data.clear();
    while (!eof_) {
      DOSSIER_ASSIGN_OR_RETURN(size_t n, f_.Read(raw_));
      if (n == 0) {
        eof_ = true;
        if (age_) DOSSIER_RETURN_IF_ERROR(age_->Finish());  // may release the last chunk
        break;
      }
      file_hash_.Update({raw_.data(), n});
      if (!age_) {
        raw_len_ = n;
        return true;
      }
      DOSSIER_RETURN_IF_ERROR(age_->Write({raw_.data(), n}));
      if (!sink_.data.empty()) return true;
    }
    return !plain().empty();
  }
  File& f_;
  std::vector<uint8_t> raw_;
  size_t raw_len_ = 0;
  MemorySink sink_;
  std::optional<AgeReader> age_;
  size_t at_ = 0;
  uint64_t pos_ = 0;
  bool eof_ = false;
  ContentHasher file_hash_;
};

constexpr size_t kMaxDirectory = 64u << 20;

// The central directory and end records, `tail` being the archive's bytes from `tail_offset`
// (where the central directory must start) to its end.
Result<std::vector<ZipEntryLayout>> ParseDirectory(std::span<const uint8_t> tail,
                                                   uint64_t tail_offset) {
  const size_t size = tail.size();
  if (size < 22 || Get32(&tail[size - 22]) != kEndSig) {
    return Corrupt("its end-of-archive record is missing");
  }
  const uint8_t* end = &tail[size - 22];
  uint64_t count = Get16(end + 10), cd_size = Get32(end + 12), cd_offset = Get32(end + 16);
  size_t cd_end = size - 22;
  if (count == 0xFFFF || cd_size == k32 || cd_offset == k32) {
    constexpr size_t kZ = 56 + 20;
    if (size < 22 + kZ || Get32(&tail[size - 22 - kZ]) != kZip64EndSig ||
        Get32(&tail[size - 22 - 20]) != kZip64LocatorSig) {
      return Corrupt("its ZIP64 end-of-archive records are missing");
    }
    const uint8_t* z = &tail[size - 22 - kZ];
    count = Get64(z + 32);
    cd_size = Get64(z + 40);
    cd_offset = Get64(z + 48);
    cd_end = size - 22 - kZ;
  }
  if (cd_offset != tail_offset || cd_end != cd_size) {
    return Corrupt("its central directory is out of place");
  }
  std::span<const uint8_t> cd = tail.first(cd_size);
  std::vector<ZipEntryLayout> out;
  size_t p = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (cd.size() - p < 46 || Get32(&cd[p]) != kCentralSig) {
      return Corrupt(fmt::format("central record {} of {} is damaged", i + 1, count));
    }
    const uint8_t* r = &cd[p];
    ZipEntryLayout e;
    const uint16_t method = Get16(r + 10), name_len = Get16(r + 28), extra_len = Get16(r + 30),
                   comment_len = Get16(r + 32);
    e.encrypted = method == kMethodAes;
    e.crc = Get32(r + 16);
    e.stored = Get32(r + 20);
    e.size = Get32(r + 24);
    e.offset = Get32(r + 42);
    if (cd.size() - p - 46 < static_cast<size_t>(name_len) + extra_len + comment_len) {
      return Corrupt(fmt::format("central record {} of {} is damaged", i + 1, count));
    }
    e.name.assign(reinterpret_cast<const char*>(r + 46), name_len);
    bool aes = false;
    for (size_t x = 0; x + 4 <= extra_len;) {
      const uint8_t* fld = r + 46 + name_len + x;
      const uint16_t id = Get16(fld), len = Get16(fld + 2);
      if (x + 4 + len > extra_len) return Corrupt(e.name + ": its extra fields are damaged");
      if (id == kZip64ExtraId) {
        size_t q = 4;
        auto next = [&](uint64_t& v) {
          if (v != k32) return;
          if (q + 8 <= 4u + len) v = Get64(fld + q);
          q += 8;
        };
        next(e.size);
        next(e.stored);
        next(e.offset);
      } else if (id == kAesExtraId && len == 7 && fld[6] == 'A' && fld[7] == 'E' && fld[8] == 3 &&
                 Get16(fld + 9) == kMethodStore) {
        aes = true;
      }
      x += 4u + len;
    }
    if (method != kMethodStore && !(e.encrypted && aes)) {
      return Corrupt(e.name + ": an entry method this writer never uses");
    }
    if (e.stored != (e.encrypted ? e.size + kAesFraming : e.size)) {
      return Corrupt(e.name + ": its sizes disagree");
    }
    out.push_back(std::move(e));
    p += 46u + name_len + extra_len + comment_len;
  }
  if (p != cd.size()) return Corrupt("its central directory has bytes no record accounts for");
  return out;
}

// The central directory of a plain part file, read from its end.
Result<std::vector<ZipEntryLayout>> ReadDirectory(File& f, uint64_t size) {
  uint8_t end[22 + 76];
  const size_t n = static_cast<size_t>(std::min<uint64_t>(size, sizeof(end)));
  if (n < 22 || ::pread(f.fd(), end, n, static_cast<off_t>(size - n)) != static_cast<ssize_t>(n) ||
      Get32(end + n - 22) != kEndSig) {
    return Corrupt("its end-of-archive record is missing");
  }
  uint64_t cd_offset = Get32(end + n - 22 + 16);
  if (cd_offset == k32 && n == sizeof(end) && Get32(end) == kZip64EndSig) {
    cd_offset = Get64(end + 48);
  }
  if (cd_offset >= size || size - cd_offset > kMaxDirectory) {
    return Corrupt("its central directory is out of place");
  }
  std::vector<uint8_t> tail(size - cd_offset);
  if (::pread(f.fd(), tail.data(), tail.size(), static_cast<off_t>(cd_offset)) !=
      static_cast<ssize_t>(tail.size())) {
    return Corrupt("its central directory cannot be read");
  }
  return ParseDirectory(tail, cd_offset);
}

bool SameLayout(const ZipEntryLayout& a, const ZipEntryLayout& b) {
  return a.name == b.name && a.size == b.size && a.stored == b.stored && a.offset == b.offset &&
         a.crc == b.crc && a.encrypted == b.encrypted;
}

}  // namespace

Result<ReadBack> ReadBackPart(const std::filesystem::path& path, const std::string& password,
                              const std::vector<std::string>& keep, const WrittenPart* written,
                              const AgeFileKey* age) {
  const std::string part = path.filename().string();
  auto corrupt = [&](const std::string& where, const Status& why) {
    return Corrupt(fmt::format("part {} failed its read-back{}: {}", part, where, why.message()));
  };
  if (age != nullptr && written == nullptr) {
    return Internal("an age part is read back against what was written");
  }
  DOSSIER_ASSIGN_OR_RETURN(File f, File::OpenRead(path));
  std::vector<ZipEntryLayout> expected;
  if (written != nullptr) {
    expected = written->entries;
  } else {
    DOSSIER_ASSIGN_OR_RETURN(uint64_t size, f.Size());
    Result<std::vector<ZipEntryLayout>> dir = ReadDirectory(f, size);
    if (!dir.ok()) return corrupt("", dir.status());
    expected = std::move(dir).value();
  }
  const std::vector<ZipEntryLayout>* central = &expected;
  ReadBack out;
  PartReader in(f, age);
  std::vector<uint8_t> header;
  WinZipCtr ctr;
  hmac_sha1_ctx mac{};
  size_t encrypted_index = 0;
  for (const ZipEntryLayout& e : *central) {
    const std::string at = " at " + e.name;
    auto check = [&](bool ok, const char* what) -> Status {
      return ok ? Status::Ok() : corrupt(at, Corrupt(what));
    };
    DOSSIER_RETURN_IF_ERROR(check(in.pos() == e.offset, "entries out of order"));
    header.resize(30);
    Status st = in.Copy(header.data(), 30);
    if (!st.ok()) return corrupt(at, st);
    const uint16_t flags = Get16(&header[6]), name_len = Get16(&header[26]),
                   extra_len = Get16(&header[28]);
    DOSSIER_RETURN_IF_ERROR(check(Get32(header.data()) == kLocalSig, "no local header"));
    DOSSIER_RETURN_IF_ERROR(check(Get16(&header[8]) == (e.encrypted ? kMethodAes : kMethodStore) &&
                                      ((flags & kFlagEncrypted) != 0) == e.encrypted,
                                  "its local header disagrees with the central directory"));
    header.resize(30u + name_len + extra_len);
    st = in.Copy(header.data() + 30, name_len + extra_len);
    if (!st.ok()) return corrupt(at, st);
    DOSSIER_RETURN_IF_ERROR(
        check(std::string_view(reinterpret_cast<const char*>(&header[30]), name_len) == e.name,
              "its local name differs"));

    ZipEntryDigest d;
    d.name = e.name;
    d.size = e.size;
    const bool kept = std::find(keep.begin(), keep.end(), e.name) != keep.end();
    std::vector<uint8_t> bytes;
    ContentHasher h;
    uint32_t crc = 0;
    if (e.encrypted) {
      if (password.empty()) return corrupt(at, Corrupt("encrypted, and no password was given"));
      uint8_t salt[kSaltSize + kCheckSize];
      st = in.Copy(salt, sizeof(salt));
      if (!st.ok()) return corrupt(at, st);
      // The keys this entry was written with, when its salt on disk is still the one drawn;
      // otherwise derived again (and the check value refuses a changed salt).
      std::unique_ptr<EntryKeys> derived;
      const EntryKeys* keys = nullptr;
      if (written != nullptr && encrypted_index < written->keys.size() &&
          sodium_memcmp(written->keys[encrypted_index]->salt(), salt, kSaltSize) == 0) {
        keys = written->keys[encrypted_index].get();
      } else {
        derived = std::make_unique<EntryKeys>(password, salt);
        keys = derived.get();
      }
      ++encrypted_index;
      if (sodium_memcmp(keys->check(), salt + kSaltSize, kCheckSize) != 0) {
        return corrupt(at, Corrupt("the password does not open it"));
      }
      DOSSIER_RETURN_IF_ERROR(ctr.Start(keys->aes()));
      hmac_sha1_set_key(&mac, kKeySize, keys->mac());
    }
    std::vector<uint8_t> plain(kBuffer);
    st = in.Take(e.size, [&](const uint8_t* p, size_t n) -> Status {
      if (e.encrypted) {
        hmac_sha1_update(&mac, n, p);
        std::copy_n(p, n, plain.data());
        DOSSIER_RETURN_IF_ERROR(ctr.Apply(plain.data(), n));
        p = plain.data();
      } else {
        crc = static_cast<uint32_t>(crc32_z(crc, p, n));
      }
      h.Update({p, n});
      if (kept) bytes.insert(bytes.end(), p, p + n);
      return Status::Ok();
    });
    if (!st.ok()) return corrupt(at, st);
    if (e.encrypted) {
      uint8_t stored[kMacSize], computed[SHA1_DIGEST_SIZE];
      st = in.Copy(stored, kMacSize);
      if (!st.ok()) return corrupt(at, st);
      hmac_sha1_digest(&mac, sizeof(computed), computed);
      if (sodium_memcmp(stored, computed, kMacSize) != 0) {
        return corrupt(at, Corrupt("its authentication code does not match"));
      }
    } else {
      DOSSIER_RETURN_IF_ERROR(check(crc == e.crc, "its CRC-32 does not match"));
      if ((flags & kFlagDescriptor) != 0) {
        uint8_t dd[24];
        const size_t len = e.size >= k32 ? 24 : 16;
        st = in.Copy(dd, len);
        if (!st.ok()) return corrupt(at, st);
        const uint64_t dsize = len == 24 ? Get64(dd + 16) : Get32(dd + 12);
        DOSSIER_RETURN_IF_ERROR(
            check(Get32(dd) == kDescriptorSig && Get32(dd + 4) == crc && dsize == e.size,
                  "its data descriptor disagrees"));
      }
    }
    d.sha256 = h.Final();
    if (kept) out.kept.emplace_back(d.name, std::move(bytes));
    out.entries.push_back(std::move(d));
  }
  sodium_memzero(&mac, sizeof(mac));
  // The central directory and end records, read to the end of the file: the layout they
  // describe must be the one just read.
  const uint64_t cd_offset = in.pos();
  Result<std::vector<uint8_t>> tail = in.Rest(kMaxDirectory + 22 + 76);
  if (!tail.ok()) return corrupt("", tail.status());
  Result<std::vector<ZipEntryLayout>> dir = ParseDirectory(*tail, cd_offset);
  if (!dir.ok()) return corrupt("", dir.status());
  if (dir->size() != expected.size() ||
      !std::equal(dir->begin(), dir->end(), expected.begin(), SameLayout)) {
    return corrupt("", Corrupt("its central directory differs from the entries"));
  }
  out.file_sha256 = in.Digest();
  return out;
}

}  // namespace dossier::exporter
