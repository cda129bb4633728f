// Appending to and hashing the audit log. Private to vault/.
#pragma once

#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/secure_buffer.h"
#include "vault/audit.h"
#include "vault/internal/sqlite.h"

namespace dossier::vault::internal {

// The canonical bytes of an event: compact JSON, keys sorted, UTF-8, in the event's
// `encoding` (doc/FORMAT.md §Audit log): 1 has the nine fields events had at first; 2 adds
// "v":2, os_user, reason and details. Throws nlohmann::json::exception on text not UTF-8.
std::string CanonicalEncoding(const AuditEvent& e);
// SHA-256(0x00 || encoding); empty (matching no stored hash) when the event cannot be
// encoded: an unknown encoding version, or text that is not UTF-8.
Bytes LeafHash(const AuditEvent& e);
Bytes NodeHash(const Bytes& l, const Bytes& r);  // SHA-256(0x01 || l || r)

// The right edge of an RFC 6962 tree: roots of its perfect subtrees, largest first.
class MerkleFrontier {
 public:
  void Push(Bytes leaf);
  Bytes Root() const;  // SHA-256("") for the empty tree
  int64_t size() const { return size_; }
  Bytes Serialize() const;
  static Result<MerkleFrontier> Parse(const Bytes& bytes, int64_t size);

 private:
  std::vector<std::pair<int, Bytes>> nodes_;  // (height, hash)
  int64_t size_ = 0;
};

// The statement the head signature covers; a checkpoint is that signature written out.
std::string HeadStatement(const std::string& vault_id, int64_t size, const Bytes& root);
// Ed25519: true when `sig` is `public_key`'s signature of `message`.
bool VerifySignature(const Bytes& sig, std::string_view message, const Bytes& public_key);

struct SigningKey {
  std::string vault_id;
  SecureBuffer secret;  // Ed25519, 64 bytes
};

// kInvalidArgument when a field of `e` is not UTF-8; kInternal for encoding-1 events that
// carry fields encoding 1 does not have. AppendEvents checks it too.
Status CheckEvent(const AuditEvent& e);
// Appends `e` (seq and leaf assigned here) and re-signs the head. Must run inside the
// caller's transaction, so the event commits or rolls back with the change it records.
Status AppendEvent(Db& db, AuditEvent& e, const SigningKey& key);
// Appends the events in order (seq and leaf assigned here, each row with the root after it)
// and signs the head once, after the last: a group commit costs one signature.
Status AppendEvents(Db& db, const std::vector<AuditEvent*>& events, const SigningKey& key);

// Checks, on every unlock, that the catalog's audit public key is the one of the sealed
// signing key and that the stored head's signature verifies with it: kCorrupt otherwise (a
// log re-signed with another key, or a head edited outside Dossier; doc/SECURITY.md).
Status CheckSignedHead(Db& db, const SigningKey& key);

// Marks in the purpose of `vault.create` and `vault.upgrade` ("; "-separated): the vault has
// row MACs from then on; its vault-wide secrets are sealed under the master key.
inline constexpr const char* kRowMacsMark = "row-macs v1";
inline constexpr const char* kSealedSecretsMark = "sealed-secrets v1";

// Every event, after checking that their recomputed leaves and tree match the stored head
// (whose signature CheckSignedHead checked): kCorrupt otherwise.
Result<std::vector<AuditEvent>> ReadVerifiedEvents(Db& db);

// Creates the empty signed head of a new vault.
Status InitHead(Db& db, const SigningKey& key);

}  // namespace dossier::vault::internal
