// The key file, the sealed vault-wide secrets' names, and finishing an interrupted rotation.
#include "vault/internal/keys.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "common/file_io.h"
#include "vault/internal/crypto.h"

namespace dossier::vault::internal {

std::string MasterKeyAd(const std::string& vault_id) { return "dossier-master-key-v1:" + vault_id; }

std::string SecretAd(const SealedSecret& s, const std::string& vault_id) {
  return std::string(s.ad_prefix) + ":" + vault_id;
}

std::string LegacyAuditKeyAd(const std::string& vault_id) {
  return "dossier-audit-key-v1:" + vault_id;
}

SecureBuffer LegacyContentMacKey(const SecureBuffer& master) {
  return DeriveSubkey(master, 3, "dsmac___");
}

SecureBuffer LegacyAuditSealingKey(const SecureBuffer& master) {
  return DeriveSubkey(master, 4, "dsaudit_");
}

std::string MasterKeyId(const SecureBuffer& master) {
  static constexpr std::string_view kWhat = "dossier-master-key-id-v1";
  Bytes id(16);
  crypto_generichash(id.data(), id.size(), reinterpret_cast<const uint8_t*>(kWhat.data()),
                     kWhat.size(), master.data(), master.size());
  return ToHex(id);
}

std::string EncodeKeyFile(const KeyFile& k) {
  nlohmann::json j = {{"format", "dossier-vault-key"},
                      {"version", 1},
                      {"vault_id", k.vault_id},
                      {"kdf",
                       {{"alg", "argon2id13"},
                        {"opslimit", k.opslimit},
                        {"memlimit", k.memlimit},
                        {"salt", ToBase64(k.salt)}}},
                      {"master_key", ToBase64(k.sealed_master)}};
  return j.dump(2) + "\n";
}

Result<KeyFile> ParseKeyFile(std::string_view text, const std::string& where) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  auto bad = [&](const char* why) { return Corrupt(where + " is damaged: " + why); };
  try {
    if (!j.is_object() || j.value("format", "") != "dossier-vault-key")
      return bad("not a key file");
    if (j.value("version", 0) != 1) return bad("unknown version");
    KeyFile k;
    k.vault_id = j.at("vault_id").get<std::string>();
    const auto& kdf = j.at("kdf");
    if (kdf.at("alg").get<std::string>() != "argon2id13") return bad("unknown KDF");
    k.opslimit = kdf.at("opslimit").get<uint64_t>();
    k.memlimit = kdf.at("memlimit").get<size_t>();
    auto salt = FromBase64(kdf.at("salt").get<std::string>());
    auto sealed = FromBase64(j.at("master_key").get<std::string>());
    if (!salt || !sealed) return bad("bad base64");
    if (k.opslimit < kMinKdfOps || k.memlimit < kMinKdfMem || k.memlimit > (size_t{4} << 30)) {
      return bad("KDF parameters out of range");
    }
    k.salt = *salt;
    k.sealed_master = *sealed;
    return k;
  } catch (const nlohmann::json::exception&) {
    return bad("missing or mistyped fields");
  }
}

Result<KeyFile> ReadKeyFile(const VaultDir& dir) {
  DOSSIER_ASSIGN_OR_RETURN(std::string text, dir.ReadSmall(kKeyFile, 64 << 10));
  return ParseKeyFile(text, dir.PathOf(kKeyFile).string());
}

Result<KeyFile> SealMaster(const std::string& vault_id, std::string_view passphrase,
                           const SecureBuffer& master, uint64_t ops, size_t mem) {
  KeyFile k;
  k.vault_id = vault_id;
  k.opslimit = ops;
  k.memlimit = mem;
  k.salt.resize(crypto_pwhash_SALTBYTES);
  randombytes_buf(k.salt.data(), k.salt.size());
  DOSSIER_ASSIGN_OR_RETURN(SecureBuffer kek, DeriveKek(passphrase, k.salt, ops, mem));
  k.sealed_master = Seal(kek, master.span(), MasterKeyAd(vault_id));
  return k;
}

}  // namespace dossier::vault::internal
