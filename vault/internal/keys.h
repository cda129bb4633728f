// The key file (vault.key), the vault-wide secrets sealed under the master key in `meta`, and
// where a key rotation stages the new key file. Private to vault/.
// Formats and the rotation protocol: doc/FORMAT.md §Key hierarchy, §Key rotation.
//
//   DOSSIER_ASSIGN_OR_RETURN(KeyFile kf, ReadKeyFile(dir));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/secure_buffer.h"
#include "common/status.h"
#include "vault/internal/layout.h"

namespace dossier::vault::internal {

// Below libsodium's MODERATE Argon2id cost nothing is created or opened.
inline constexpr uint64_t kMinKdfOps = 3;
inline constexpr size_t kMinKdfMem = size_t{256} << 20;

struct KeyFile {
  std::string vault_id;
  uint64_t opslimit = 0;
  size_t memlimit = 0;
  Bytes salt;
  Bytes sealed_master;
};

std::string EncodeKeyFile(const KeyFile& k);
// kCorrupt "<where> is damaged: <why>" for anything but a well-formed version 1 key file.
Result<KeyFile> ParseKeyFile(std::string_view text, const std::string& where);
Result<KeyFile> ReadKeyFile(const VaultDir& dir);
// The master key sealed under Argon2id(passphrase) with a fresh salt.
Result<KeyFile> SealMaster(const std::string& vault_id, std::string_view passphrase,
                           const SecureBuffer& master, uint64_t opslimit, size_t memlimit);

// AD of the master key in vault.key.
std::string MasterKeyAd(const std::string& vault_id);

// A public fingerprint of a master key, kept in meta.master_key_id: keyed BLAKE2b-128 of a
// constant, hex. It tells "this vault.key is older than the catalog" apart from a damaged
// catalog without revealing anything about the key.
std::string MasterKeyId(const SecureBuffer& master);

// The vault-wide secrets sealed directly under the master key in `meta` (base64), each with
// AD "<prefix>:<vault_id>". A rotation rewraps every one that is present.
struct SealedSecret {
  const char* meta_key;
  const char* ad_prefix;
};
inline constexpr SealedSecret kAuditSigningKey{"audit_signing_key", "dossier-audit-key-v2"};
inline constexpr SealedSecret kRowMacKey{"row_mac_key", "dossier-row-mac-key-v1"};
inline constexpr SealedSecret kContentMacKey{"content_mac_key", "dossier-content-mac-key-v1"};
// Made by the first Vault::AddUser (a vault without accounts has none): the login names'
// MAC and sealing keys are derived from it (doc/FORMAT.md §Users).
inline constexpr SealedSecret kUserNameKey{"user_name_key", "dossier-user-name-key-v1"};
inline constexpr SealedSecret kSealedSecrets[] = {kAuditSigningKey, kRowMacKey, kContentMacKey,
                                                  kUserNameKey};
std::string SecretAd(const SealedSecret& s, const std::string& vault_id);

// Vaults made before the sealed secrets (doc/FORMAT.md §Upgrades): the content-MAC key was
// crypto_kdf subkey 3 "dsmac___" of the master key, and the audit signing key was sealed
// under its subkey 4 "dsaudit_" with AD "dossier-audit-key-v1:<vault_id>".
SecureBuffer LegacyContentMacKey(const SecureBuffer& master);
SecureBuffer LegacyAuditSealingKey(const SecureBuffer& master);
std::string LegacyAuditKeyAd(const std::string& vault_id);

// A rotation stages the new key file beside vault.key before its commit, and keeps a copy in
// meta.pending_key_file from the commit until vault.key is replaced (doc/FORMAT.md §Key
// rotation): an unlock tells from them whether an interrupted rotation committed.
inline constexpr const char* kStagedKeyFile = "vault.key.new";
inline constexpr const char* kPendingKeyFile = "pending_key_file";

}  // namespace dossier::vault::internal
