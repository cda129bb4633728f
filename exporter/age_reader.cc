// AgeReader (exporter/age.h): a push parser of age v1 files — the header line by line until
// its MAC line, the payload nonce, then STREAM chunks, each held back until the next byte
// (or the end) shows whether it is the last.
#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "exporter/age.h"
#include "exporter/age_crypto.h"

namespace dossier::exporter {

using namespace age_internal;  // NOLINT: this file implements age

namespace {

constexpr size_t kSealedChunk = kAgeChunkSize + kAgeTagSize;
constexpr size_t kMacLineSize = 4 + 43 + 1;  // "--- " MAC "\n"

struct Stanza {
  std::vector<std::string_view> args;
  std::string body;  // base64, lines joined
  size_t line = 0;   // of its "->" line, counting from 1
};

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

Status Malformed(size_t line, std::string_view what) {
  return Corrupt(fmt::format("age header line {} is malformed: {}", line, what));
}

// Splits a complete header (ending with the MAC line) into stanzas; kCorrupt naming the line.
Result<std::vector<Stanza>> ParseStanzas(std::string_view header) {
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < header.size();) {
    const size_t nl = header.find('\n', pos);
    lines.push_back(header.substr(pos, nl - pos));
    pos = nl + 1;
  }
  std::vector<Stanza> stanzas;
  size_t i = 1;  // line 0 is the version line, already checked
  while (i + 1 < lines.size()) {
    const std::string_view arg_line = lines[i];
    if (!arg_line.starts_with("-> ")) return Malformed(i + 1, "expected a stanza (\"-> …\")");
    Stanza st;
    st.line = i + 1;
    for (size_t pos = 3; pos <= arg_line.size();) {
      const size_t sp = std::min(arg_line.find(' ', pos), arg_line.size());
      const std::string_view arg = arg_line.substr(pos, sp - pos);
      if (arg.empty() ||
          !std::all_of(arg.begin(), arg.end(), [](char c) { return c > 0x20 && c < 0x7F; })) {
        return Malformed(i + 1, "a stanza argument is empty or not printable ASCII");
      }
      st.args.push_back(arg);
      pos = sp + 1;
    }
    ++i;
    for (;; ++i) {
      if (i + 1 >= lines.size()) return Malformed(i + 1, "a stanza's body is missing");
      const std::string_view body_line = lines[i];
      if (body_line.size() > kColumns ||
          !std::all_of(body_line.begin(), body_line.end(), IsBase64Char)) {
        return Malformed(i + 1, "a stanza body line is not base64 of at most 64 columns");
      }
      st.body += body_line;
      if (body_line.size() < kColumns) break;
    }
    ++i;
    stanzas.push_back(std::move(st));
  }
  if (stanzas.empty()) return Corrupt("age header has no recipient stanza");
  return stanzas;
}

}  // namespace

struct AgeReader::State {
  enum class Stage { kHeader, kNonce, kPayload, kDone };

  ByteSink* out = nullptr;
  SecureBuffer identity;  // X25519 scalar, or empty when reading with a file key
  SecureBuffer file_key;  // given, or unwrapped from the header
  Stage stage = Stage::kHeader;
  Status failed;

  std::string header;  // no secret: stanzas hold only sealed keys and public shares
  size_t line_start = 0;
  std::array<uint8_t, kPayloadNonceSize> nonce{};
  size_t nonce_used = 0;

  SecureBuffer payload_key;
  SecureBuffer sealed{kSealedChunk};
  SecureBuffer plain{kAgeChunkSize};
  size_t used = 0;
  uint64_t index = 0;

  Status Consume(std::span<const uint8_t> data);
  Status ConsumeHeader(std::span<const uint8_t>& data);
  Status HeaderComplete();
  Status UnwrapWithIdentity(const std::vector<Stanza>& stanzas);
  Status OpenChunk(bool last, size_t& plain_len);
  Status DeliverFull();
  Status End();
};

Status AgeReader::State::Consume(std::span<const uint8_t> data) {
  if (stage == Stage::kHeader) DOSSIER_RETURN_IF_ERROR(ConsumeHeader(data));
  if (stage == Stage::kNonce && !data.empty()) {
    const size_t n = std::min(nonce.size() - nonce_used, data.size());
    std::memcpy(nonce.data() + nonce_used, data.data(), n);
    nonce_used += n;
    data = data.subspan(n);
    if (nonce_used == nonce.size()) {
      payload_key = PayloadKey(file_key.span(), nonce);
      stage = Stage::kPayload;
    }
  }
  if (stage == Stage::kPayload) {
    while (!data.empty()) {
      if (used == kSealedChunk) DOSSIER_RETURN_IF_ERROR(DeliverFull());
      const size_t n = std::min(kSealedChunk - used, data.size());
      std::memcpy(sealed.data() + used, data.data(), n);
      used += n;
      data = data.subspan(n);
    }
  }
  if (stage == Stage::kDone && !data.empty()) return Internal("age: Write() after Finish()");
  return Status::Ok();
}

// Takes header bytes from `data` up to the end of the MAC line; leaves the rest in `data`.
Status AgeReader::State::ConsumeHeader(std::span<const uint8_t>& data) {
  while (!data.empty()) {
    const auto* nl = static_cast<const uint8_t*>(std::memchr(data.data(), '\n', data.size()));
    const size_t n = nl == nullptr ? data.size() : static_cast<size_t>(nl - data.data()) + 1;
    if (header.size() + n > kMaxHeaderBytes) {
      return LimitExceeded(fmt::format(
          "age header is longer than {} bytes; not a file Dossier reads", kMaxHeaderBytes));
    }
    header.append(reinterpret_cast<const char*>(data.data()), n);
    data = data.subspan(n);
    // Refuse a file that is not age at once rather than after a megabyte.
    const size_t check = std::min(header.size(), kVersionLine.size() + 1);
    if (header.compare(0, check, std::string(kVersionLine) + "\n", 0, check) != 0) {
      return Corrupt("not an age v1 file (it does not begin with age-encryption.org/v1)");
    }
    if (nl == nullptr) return Status::Ok();
    const std::string_view line = std::string_view(header).substr(line_start);
    line_start = header.size();
    if (line.starts_with("---")) return HeaderComplete();
  }
  return Status::Ok();
}

Status AgeReader::State::HeaderComplete() {
  const size_t mac_line = header.rfind('\n', header.size() - 2) + 1;
  const std::string_view line = std::string_view(header).substr(mac_line);
  if (line.size() != kMacLineSize || line[3] != ' ') {
    return Malformed(std::count(header.begin(), header.end(), '\n'),
                     "the MAC line is not \"--- \" and 43 base64 characters");
  }
  const auto mac = FromBase64Unpadded(line.substr(4, 43));
  if (!mac || mac->size() != kKeySize) {
    return Malformed(std::count(header.begin(), header.end(), '\n'), "the MAC is not base64");
  }
  DOSSIER_ASSIGN_OR_RETURN(auto stanzas, ParseStanzas(header));
  if (!identity.empty()) DOSSIER_RETURN_IF_ERROR(UnwrapWithIdentity(stanzas));
  const auto expected =
      HeaderMac(file_key.span(), std::string_view(header).substr(0, mac_line + 3));
  if (sodium_memcmp(expected.data(), mac->data(), kKeySize) != 0) {
    return Corrupt(
        "age header MAC does not match: the header was changed, or this is not the key of "
        "this file");
  }
  header.clear();
  header.shrink_to_fit();
  stage = Stage::kNonce;
  return Status::Ok();
}

Status AgeReader::State::UnwrapWithIdentity(const std::vector<Stanza>& stanzas) {
  for (const Stanza& st : stanzas) {
    // Other types (scrypt, plugins, grease) are for other identities; age ignores them too.
    if (st.args[0] != "X25519") continue;
    const auto share = st.args.size() == 2 ? FromBase64Unpadded(st.args[1]) : std::nullopt;
    const auto body = FromBase64Unpadded(st.body);
    if (!share || share->size() != kKeySize || !body ||
        body->size() != kFileKeySize + kAgeTagSize) {
      return Malformed(st.line, "an X25519 stanza needs one 32-byte share and a 32-byte body");
    }
    auto key = UnwrapFileKey(identity.span(), *share, *body);
    if (!key.ok()) return key.status().WithContext(fmt::format("age header line {}", st.line));
    if (key->has_value()) {
      file_key = std::move(**key);
      return Status::Ok();
    }
  }
  return AuthFailed("age file is not encrypted to this identity (no X25519 stanza opens with it)");
}

// Opens the `used` sealed bytes as chunk `index` into `plain`.
Status AgeReader::State::OpenChunk(bool last, size_t& plain_len) {
  const auto n = ChunkNonce(index, last);
  const size_t len = used - kAgeTagSize;
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(plain.data(), nullptr, sealed.data(), len,
                                                         sealed.data() + len, nullptr, 0, n.data(),
                                                         payload_key.data()) != 0) {
    return Corrupt(fmt::format(
        "age payload chunk {} fails authentication: the file was changed or cut short", index));
  }
  plain_len = len;
  return Status::Ok();
}

// A full chunk with more bytes after it: it must open as a chunk that is not the last.
Status AgeReader::State::DeliverFull() {
  size_t len = 0;
  if (Status st = OpenChunk(false, len); !st.ok()) {
    if (OpenChunk(true, len).ok()) {
      sodium_memzero(plain.data(), plain.size());
      return Corrupt(fmt::format("age file has bytes after its last chunk (chunk {})", index));
    }
    return st;
  }
  Status st = out->Write({plain.data(), len});
  sodium_memzero(plain.data(), len);
  used = 0;
  ++index;
  return st;
}

Status AgeReader::State::End() {
  switch (stage) {
    case Stage::kHeader:
      return Corrupt(header.empty() ? "age file is empty"
                                    : "age file ends inside its header (cut short)");
    case Stage::kNonce:
      return Corrupt("age file ends inside its payload nonce (cut short)");
    case Stage::kDone:
      return Internal("age: Finish() called twice");
    case Stage::kPayload:
      break;
  }
  if (used < kAgeTagSize) {
    return Corrupt(fmt::format("age file ends inside payload chunk {} (cut short)", index));
  }
  size_t len = 0;
  DOSSIER_RETURN_IF_ERROR(OpenChunk(true, len));
  if (len == 0 && index > 0) {
    return Corrupt(fmt::format(
        "age payload chunk {} is an empty last chunk after a full one, which age v1 forbids",
        index));
  }
  Status st = out->Write({plain.data(), len});
  sodium_memzero(plain.data(), len);
  stage = Stage::kDone;
  return st;
}

AgeReader::AgeReader(std::unique_ptr<State> s) : s_(std::move(s)) {}
AgeReader::~AgeReader() = default;
AgeReader::AgeReader(AgeReader&&) noexcept = default;

AgeReader AgeReader::WithIdentity(ByteSink& out, const AgeIdentity& identity) {
  auto s = std::make_unique<State>();
  s->out = &out;
  s->identity = SecureBuffer::FromBytes(identity.scalar_.span());
  return AgeReader(std::move(s));
}

AgeReader AgeReader::WithFileKey(ByteSink& out, const AgeFileKey& key) {
  auto s = std::make_unique<State>();
  s->out = &out;
  s->file_key = SecureBuffer::FromBytes(key.key_.span());
  return AgeReader(std::move(s));
}

Status AgeReader::Write(std::span<const uint8_t> data) {
  if (!s_->failed.ok()) return s_->failed;
  s_->failed = s_->Consume(data);
  return s_->failed;
}

Status AgeReader::Finish() {
  if (!s_->failed.ok()) return s_->failed;
  s_->failed = s_->End();
  return s_->failed;
}

Status AgeReader::ReadAll(File& in) {
  std::vector<uint8_t> buf(kSealedChunk);
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(size_t n, in.Read(buf));
    if (n == 0) break;
    DOSSIER_RETURN_IF_ERROR(Write({buf.data(), n}));
  }
  return Finish();
}

}  // namespace dossier::exporter
