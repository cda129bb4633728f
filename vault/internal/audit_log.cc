#include "vault/internal/audit_log.h"

#include <fmt/format.h>
#include <sodium.h>

#include <nlohmann/json.hpp>

#include "vault/internal/crypto.h"
#include "vault/internal/layout.h"

namespace dossier::vault::internal {

std::string CanonicalEncoding(const AuditEvent& e) {
  // nlohmann::json objects are std::map-backed: dump() emits keys sorted, compact.
  nlohmann::json j = {{"seq", e.seq},         {"at", e.at},           {"actor", e.actor},
                      {"role", e.role},       {"action", e.action},   {"objects", e.objects},
                      {"patient", e.patient}, {"outcome", e.outcome}, {"purpose", e.purpose}};
  if (e.encoding == 2) {
    j["v"] = 2;
    j["os_user"] = e.os_user;
    j["reason"] = e.reason;
    j["details"] = e.details;
  }
  // Strict: text that is not UTF-8 throws rather than collapsing into U+FFFD, so two
  // different stored values can never hash alike.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

Bytes LeafHash(const AuditEvent& e) {
  if (e.encoding != 1 && e.encoding != 2) return {};  // matches no stored hash: "modified"
  std::string buf(1, '\0');
  try {
    buf += CanonicalEncoding(e);
  } catch (const nlohmann::json::exception&) {
    return {};  // not UTF-8: matches no stored hash, so verify reports the event modified
  }
  return Sha256(AsBytes(buf));
}

Bytes NodeHash(const Bytes& l, const Bytes& r) {
  Bytes buf;
  buf.reserve(1 + l.size() + r.size());
  buf.push_back(0x01);
  buf.insert(buf.end(), l.begin(), l.end());
  buf.insert(buf.end(), r.begin(), r.end());
  return Sha256(buf);
}

void MerkleFrontier::Push(Bytes leaf) {
  nodes_.emplace_back(0, std::move(leaf));
  while (nodes_.size() >= 2 && nodes_[nodes_.size() - 1].first == nodes_[nodes_.size() - 2].first) {
    auto right = std::move(nodes_.back());
    nodes_.pop_back();
    auto& left = nodes_.back();
    left.second = NodeHash(left.second, right.second);
    left.first += 1;
  }
  ++size_;
}

Bytes MerkleFrontier::Root() const {
  if (nodes_.empty()) return Sha256({});
  Bytes r = nodes_.back().second;
  for (size_t i = nodes_.size() - 1; i-- > 0;) r = NodeHash(nodes_[i].second, r);
  return r;
}

Bytes MerkleFrontier::Serialize() const {
  Bytes out;
  for (const auto& [h, hash] : nodes_) {
    out.push_back(static_cast<uint8_t>(h));
    out.insert(out.end(), hash.begin(), hash.end());
  }
  return out;
}

Result<MerkleFrontier> MerkleFrontier::Parse(const Bytes& bytes, int64_t size) {
  MerkleFrontier f;
  if (bytes.size() % 33 != 0) return Corrupt("audit head frontier is malformed");
  int64_t covered = 0;
  for (size_t i = 0; i < bytes.size(); i += 33) {
    const int h = bytes[i];
    if (h > 62) return Corrupt("audit head frontier is malformed");
    covered += int64_t{1} << h;
    f.nodes_.emplace_back(h, Bytes(bytes.begin() + i + 1, bytes.begin() + i + 33));
  }
  if (covered != size) return Corrupt("audit head frontier does not match its size");
  f.size_ = size;
  return f;
}

std::string HeadStatement(const std::string& vault_id, int64_t size, const Bytes& root) {
  return fmt::format("dossier-audit-head v1\nvault {}\nsize {}\nroot {}\n", vault_id, size,
                     ToHex(root));
}

namespace {

Bytes Sign(const SigningKey& key, std::string_view message) {
  Bytes sig(crypto_sign_BYTES);
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const uint8_t*>(message.data()),
                       message.size(), key.secret.data());
  return sig;
}

Status WriteHead(Db& db, const MerkleFrontier& f, const SigningKey& key) {
  const Bytes root = f.Root();
  const Bytes sig = Sign(key, HeadStatement(key.vault_id, f.size(), root));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, db.Prepare("INSERT INTO audit_head(id, tree_size, root, frontier, signature) "
                         "VALUES (1, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                         "tree_size=excluded.tree_size, root=excluded.root, "
                         "frontier=excluded.frontier, signature=excluded.signature"));
  s.Bind(1, f.size()).BindBlob(2, root).BindBlob(3, f.Serialize()).BindBlob(4, sig);
  return s.Run();
}

}  // namespace

Status InitHead(Db& db, const SigningKey& key) { return WriteHead(db, MerkleFrontier(), key); }

Status CheckEvent(const AuditEvent& e) {
  bool utf8 = true;
  for (const std::string* field : {&e.at, &e.actor, &e.os_user, &e.role, &e.action, &e.patient,
                                   &e.outcome, &e.reason, &e.purpose}) {
    utf8 = utf8 && IsValidUtf8(*field);
  }
  for (const auto& o : e.objects) utf8 = utf8 && IsValidUtf8(o);
  for (const auto& [k, v] : e.details) utf8 = utf8 && IsValidUtf8(k) && IsValidUtf8(v);
  if (!utf8) return InvalidArgument("audit fields must be UTF-8: check --actor / $USER");
  if (e.encoding == 1 && (!e.os_user.empty() || !e.reason.empty() || !e.details.empty())) {
    return Internal("an encoding-1 audit event cannot carry os_user, reason or details");
  }
  return Status::Ok();
}

Status AppendEvent(Db& db, AuditEvent& e, const SigningKey& key) {
  return AppendEvents(db, {&e}, key);
}

Status AppendEvents(Db& db, const std::vector<AuditEvent*>& events, const SigningKey& key) {
  for (const AuditEvent* e : events) DOSSIER_RETURN_IF_ERROR(CheckEvent(*e));
  MerkleFrontier f;
  {
    DOSSIER_ASSIGN_OR_RETURN(Stmt head, db.Prepare("SELECT tree_size, frontier FROM audit_head"));
    DOSSIER_ASSIGN_OR_RETURN(bool found, head.Step());
    if (!found) return Corrupt("the audit log has no head");
    DOSSIER_ASSIGN_OR_RETURN(f, MerkleFrontier::Parse(head.Blob(1), head.Int(0)));
  }
  for (AuditEvent* e : events) {
    e->seq = f.size() + 1;
    const Bytes leaf = LeafHash(*e);
    f.Push(leaf);
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt ins, db.Prepare("INSERT INTO audit_events(seq, at, actor, role, action, objects, "
                             "patient, outcome, purpose, leaf_hash, root_after, encoding, "
                             "os_user, reason, details) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    ins.Bind(1, e->seq).Bind(2, e->at).Bind(3, e->actor).Bind(4, e->role).Bind(5, e->action);
    ins.Bind(6, nlohmann::json(e->objects).dump()).Bind(7, e->patient).Bind(8, e->outcome);
    ins.Bind(9, e->purpose).BindBlob(10, leaf).BindBlob(11, f.Root());
    ins.Bind(12, e->encoding).Bind(13, e->os_user).Bind(14, e->reason);
    ins.Bind(15, nlohmann::json(e->details).dump());
    DOSSIER_RETURN_IF_ERROR(ins.Run());
  }
  return WriteHead(db, f, key);
}

bool VerifySignature(const Bytes& sig, std::string_view message, const Bytes& public_key) {
  return public_key.size() == crypto_sign_PUBLICKEYBYTES && sig.size() == crypto_sign_BYTES &&
         crypto_sign_verify_detached(sig.data(), reinterpret_cast<const uint8_t*>(message.data()),
                                     message.size(), public_key.data()) == 0;
}

Status CheckSignedHead(Db& db, const SigningKey& key) {
  Bytes pk(crypto_sign_PUBLICKEYBYTES);
  crypto_sign_ed25519_sk_to_pk(pk.data(), key.secret.data());
  DOSSIER_ASSIGN_OR_RETURN(std::string stored_hex, ReadMeta(db, "audit_public_key"));
  if (stored_hex != ToHex(pk)) {
    return Corrupt(fmt::format(
        "the audit log was re-keyed outside Dossier: the catalog names audit key {} but the "
        "vault's sealed signing key is {}; restore the vault from a backup",
        stored_hex.substr(0, 16), ToHex(pk).substr(0, 16)));
  }
  DOSSIER_ASSIGN_OR_RETURN(Stmt head,
                           db.Prepare("SELECT tree_size, root, signature FROM audit_head"));
  DOSSIER_ASSIGN_OR_RETURN(bool found, head.Step());
  if (!found) return Corrupt("the audit log has no head");
  if (!VerifySignature(head.Blob(2), HeadStatement(key.vault_id, head.Int(0), head.Blob(1)), pk)) {
    return Corrupt(
        "the signed head of the audit log does not verify: it was changed outside Dossier; run "
        "`dossier audit verify` and restore the vault from a backup");
  }
  return Status::Ok();
}

}  // namespace dossier::vault::internal
