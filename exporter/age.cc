#include "exporter/age.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "exporter/age_crypto.h"

namespace dossier::exporter {

using namespace age_internal;  // NOLINT: this file implements age

namespace {

// ---- Bech32 (BIP173; age lifts its length limit) ----

constexpr std::string_view kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

uint32_t Polymod(std::span<const uint8_t> values) {
  static constexpr uint32_t kGenerator[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd,
                                             0x2a1462b3};
  uint32_t chk = 1;
  for (uint8_t v : values) {
    const uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; ++i) {
      if ((top >> i) & 1) chk ^= kGenerator[i];
    }
  }
  return chk;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The checksum's input: the (lower-case) HRP expanded, then the 5-bit data values.
Bytes ChecksumInput(std::string_view hrp, std::span<const uint8_t> data) {
  Bytes v;
  v.reserve(hrp.size() * 2 + 1 + data.size());
  for (char c : hrp) v.push_back(static_cast<uint8_t>(Lower(c)) >> 5);
  v.push_back(0);
  for (char c : hrp) v.push_back(static_cast<uint8_t>(Lower(c)) & 31);
  v.insert(v.end(), data.begin(), data.end());
  return v;
}

// A byte vector wiped when it goes: the 5-bit groups of an identity are its secret.
struct WipedBytes {
  Bytes v;
  ~WipedBytes() { sodium_memzero(v.data(), v.size()); }
};

// The bytes of a Bech32 string whose HRP is already checked to be `hrp_len` long; a reason
// (without the text) when a character, the checksum or the padding is wrong. Case is
// checked by the caller.
std::optional<std::string> DecodeBech32(std::string_view text, size_t hrp_len, WipedBytes& out) {
  const std::string_view hrp = text.substr(0, hrp_len);
  const std::string_view data = text.substr(hrp_len + 1);
  if (data.size() < 6) return "it is too short to hold a checksum";
  WipedBytes values;
  values.v.reserve(data.size());
  for (char c : data) {
    const size_t pos = kCharset.find(Lower(c));
    if (pos == std::string_view::npos) return "it has a character outside Bech32's alphabet";
    values.v.push_back(static_cast<uint8_t>(pos));
  }
  WipedBytes input{ChecksumInput(hrp, values.v)};
  if (Polymod(input.v) != 1) return "its checksum does not match (mistyped or cut short?)";
  values.v.resize(values.v.size() - 6);
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t v : values.v) {
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.v.push_back(static_cast<uint8_t>((acc >> bits) & 0xFF));
    }
  }
  const bool padding_ok = bits < 5 && (acc & ((1u << bits) - 1)) == 0;
  acc = 0;
  if (!padding_ok) return "its data is not canonical Bech32";
  return std::nullopt;
}

std::string EncodeBech32(std::string_view hrp, std::span<const uint8_t> bytes) {
  Bytes values;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      values.push_back(static_cast<uint8_t>((acc >> bits) & 31));
    }
  }
  if (bits > 0) values.push_back(static_cast<uint8_t>((acc << (5 - bits)) & 31));
  Bytes input = ChecksumInput(hrp, values);
  input.insert(input.end(), 6, 0);
  const uint32_t checksum = Polymod(input) ^ 1;
  for (int i = 0; i < 6; ++i) values.push_back((checksum >> (5 * (5 - i))) & 31);
  std::string out(hrp);
  out += '1';
  for (uint8_t v : values) out += kCharset[v];
  return out;
}

// The text as it goes into a message: printable ASCII as is, anything else as \xNN.
std::string Shown(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) {
      out += c;
    } else {
      out += fmt::format("\\x{:02X}", u);
    }
  }
  return out;
}

bool HasUpper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}
bool HasLower(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

// Why `text` is not an X25519 recipient, or nullopt with its key in `key`.
std::optional<std::string> RecipientProblem(std::string_view text, std::array<uint8_t, 32>& key) {
  if (text.empty()) return "it is empty";
  if (text.starts_with("ssh-") || text.starts_with("ecdsa-")) {
    return "it is an ssh key, which age can use but Dossier does not";
  }
  if (text.find_first_of(" \t\r\n") != std::string_view::npos) return "it contains white space";
  if (HasUpper(text)) return "it is not all lower case";
  const size_t sep = text.rfind('1');
  const std::string_view hrp = sep == std::string_view::npos ? "" : text.substr(0, sep);
  if (hrp.starts_with("age1"))
    return "it is a plugin or post-quantum recipient (" + std::string(hrp) + ")";
  if (hrp != "age") return "it does not start with age1";
  WipedBytes bytes;
  if (auto reason = DecodeBech32(text, sep, bytes)) return reason;
  if (bytes.v.size() != key.size()) {
    return fmt::format("it holds {} bytes, not the 32 of an X25519 key", bytes.v.size());
  }
  std::copy(bytes.v.begin(), bytes.v.end(), key.begin());
  // A low-order point gives every sender the same all-zero secret; age refuses to use one.
  std::array<uint8_t, 32> scalar{}, shared{};
  scalar.fill(0x5A);
  if (crypto_scalarmult(shared.data(), scalar.data(), key.data()) != 0) {
    return "it is not a usable X25519 key (a low-order point)";
  }
  return std::nullopt;
}

}  // namespace

std::string AgeRecipient::ToString() const { return EncodeBech32("age", public_key); }

Result<AgeRecipient> ParseAgeRecipient(std::string_view text) {
  EnsureSodium();
  AgeRecipient r;
  if (auto reason = RecipientProblem(text, r.public_key)) {
    return InvalidArgument(
        fmt::format("not an age recipient: \"{}\" ({}); an age recipient is the age1… line that "
                    "`age-keygen -y KEYFILE` prints",
                    Shown(text), *reason));
  }
  return r;
}

AgeRecipient AgeIdentity::Recipient() const {
  AgeRecipient r;
  crypto_scalarmult_base(r.public_key.data(), scalar_.data());
  return r;
}

Result<AgeIdentity> ParseAgeIdentity(std::string_view text) {
  EnsureSodium();
  static constexpr std::string_view kHrp = "AGE-SECRET-KEY-";
  auto bad = [](std::string_view reason) {
    return InvalidArgument(fmt::format(
        "not an age identity ({}); an age identity is the AGE-SECRET-KEY-1… line of a key "
        "file made by age-keygen",
        reason));
  };
  if (HasLower(text)) return bad("it is not all upper case");
  const size_t sep = text.rfind('1');
  if (sep == std::string_view::npos || text.substr(0, sep) != kHrp) {
    return bad("it does not start with AGE-SECRET-KEY-1");
  }
  WipedBytes bytes;
  if (auto reason = DecodeBech32(text, sep, bytes)) return bad(*reason);
  if (bytes.v.size() != crypto_scalarmult_SCALARBYTES) {
    return bad(fmt::format("it holds {} bytes, not the 32 of an X25519 key", bytes.v.size()));
  }
  return AgeIdentity(SecureBuffer::FromBytes(bytes.v));
}

uint64_t AgeEncryptedSize(uint64_t plain_size, size_t recipients) {
  const uint64_t header = kVersionLine.size() + 1 + recipients * (54 + 44) + 48;
  const uint64_t chunks = std::max<uint64_t>(1, (plain_size + kAgeChunkSize - 1) / kAgeChunkSize);
  return header + kPayloadNonceSize + plain_size + chunks * kAgeTagSize;
}

// ---- AgeWriter ----

struct AgeWriter::State {
  ByteSink* out = nullptr;
  SecureBuffer file_key;
  SecureBuffer payload_key;
  SecureBuffer chunk{kAgeChunkSize + kAgeTagSize};  // plaintext, sealed in place
  size_t used = 0;
  uint64_t index = 0;
  bool finished = false;
  Status failed;

  // Seals the buffered plaintext as chunk `index` and writes it.
  Status Flush(bool last) {
    const auto nonce = ChunkNonce(index, last);
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(chunk.data(), chunk.data() + used, nullptr,
                                                       chunk.data(), used, nullptr, 0, nullptr,
                                                       nonce.data(), payload_key.data());
    Status st = out->Write({chunk.data(), used + kAgeTagSize});
    sodium_memzero(chunk.data(), chunk.size());
    used = 0;
    ++index;
    return st;
  }
};

AgeWriter::AgeWriter(std::unique_ptr<State> s) : s_(std::move(s)) {}
AgeWriter::~AgeWriter() = default;

Result<std::unique_ptr<AgeWriter>> AgeWriter::Create(ByteSink& out,
                                                     std::span<const AgeRecipient> recipients) {
  if (recipients.empty()) return InvalidArgument("age: at least one recipient is needed");
  EnsureSodium();
  auto s = std::make_unique<State>();
  s->out = &out;
  s->file_key = SecureBuffer::Random(kFileKeySize);
  std::string header(kVersionLine);
  header += '\n';
  for (const AgeRecipient& r : recipients) {
    DOSSIER_ASSIGN_OR_RETURN(X25519Stanza stanza, WrapFileKey(s->file_key.span(), r.public_key));
    // A 32-byte body is 43 base64 characters: one line, shorter than 64 columns, as the body's
    // last line must be.
    header +=
        "-> X25519 " + ToBase64Unpadded(stanza.share) + "\n" + ToBase64Unpadded(stanza.body) + "\n";
  }
  header += "---";
  const auto mac = HeaderMac(s->file_key.span(), header);
  header += " " + ToBase64Unpadded(mac) + "\n";
  std::array<uint8_t, kPayloadNonceSize> nonce{};
  randombytes_buf(nonce.data(), nonce.size());
  s->payload_key = PayloadKey(s->file_key.span(), nonce);
  DOSSIER_RETURN_IF_ERROR(out.Write(AsBytes(header)));
  DOSSIER_RETURN_IF_ERROR(out.Write(nonce));
  return std::unique_ptr<AgeWriter>(new AgeWriter(std::move(s)));
}

Status AgeWriter::Write(std::span<const uint8_t> data) {
  State& s = *s_;
  if (!s.failed.ok()) return s.failed;
  if (s.finished) return Internal("age: Write() after Finish()");
  while (!data.empty()) {
    // A full chunk goes out only once more data follows: the last chunk is full, never empty,
    // when the payload is a multiple of 64 KiB.
    if (s.used == kAgeChunkSize) {
      s.failed = s.Flush(false);
      if (!s.failed.ok()) return s.failed;
    }
    const size_t n = std::min(kAgeChunkSize - s.used, data.size());
    std::memcpy(s.chunk.data() + s.used, data.data(), n);
    s.used += n;
    data = data.subspan(n);
  }
  return Status::Ok();
}

Status AgeWriter::Finish() {
  State& s = *s_;
  if (!s.failed.ok()) return s.failed;
  if (s.finished) return Internal("age: Finish() called twice");
  s.finished = true;
  s.failed = s.Flush(true);
  return s.failed;
}

AgeFileKey AgeWriter::ReadBackKey() const {
  return AgeFileKey(SecureBuffer::FromBytes(s_->file_key.span()));
}

}  // namespace dossier::exporter
