// The vault-wide secrets sealed under the master key (audit signing key, row-MAC key,
// content-MAC key): made at creation, unsealed at each unlock, brought in by the one upgrade
// of an older vault, and rewrapped when the master key is rotated (doc/FORMAT.md §Key
// rotation).
#include <fmt/format.h>
#include <sodium.h>

#include <cerrno>
#include <cstdio>
#include <map>

#include "common/file_io.h"
#include "vault/internal/crypto.h"
#include "vault/internal/keys.h"
#include "vault/internal/unlock_failures.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::Stmt;
using internal::Transaction;

namespace {

Status PutMeta(internal::Db& db, const std::string& key, const std::string& value) {
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           db.Prepare("INSERT INTO meta(key, value) VALUES (?, ?) "
                                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
  s.Bind(1, key).Bind(2, value);
  return s.Run();
}

Result<std::map<std::string, std::string>> ReadAllMeta(internal::Db& db) {
  std::map<std::string, std::string> meta;
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, db.Prepare("SELECT key, value FROM meta"));
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return meta;
    meta[s.Text(0)] = s.Text(1);
  }
}

// True when `purpose` ("row-macs v1; sealed-secrets v1") names `mark`.
bool HasMark(const std::string& purpose, std::string_view mark) {
  size_t start = 0;
  while (start <= purpose.size()) {
    size_t end = purpose.find("; ", start);
    if (end == std::string::npos) end = purpose.size();
    if (std::string_view(purpose).substr(start, end - start) == mark) return true;
    start = end + 2;
  }
  return false;
}

std::string JoinMarks(const std::vector<std::string>& marks) {
  std::string out;
  for (const auto& m : marks) out += (out.empty() ? "" : "; ") + m;
  return out;
}

}  // namespace

Result<SecureBuffer> Vault::Impl::OpenSecret(const internal::SealedSecret& secret,
                                             const std::string& sealed_b64) {
  auto key = internal::Open(master_key_, FromBase64(sealed_b64).value_or(Bytes()),
                            internal::SecretAd(secret, vault_id_));
  if (!key.ok()) {
    return Corrupt(fmt::format("meta.{} in the catalog fails authentication", secret.meta_key));
  }
  return key;
}

Status Vault::Impl::PutSecret(const internal::SealedSecret& secret, const SecureBuffer& value) {
  return PutMeta(
      db_, secret.meta_key,
      ToBase64(internal::Seal(master_key_, value.span(), internal::SecretAd(secret, vault_id_))));
}

Status Vault::Impl::SealNewSecrets(std::vector<std::string>* marks) {
  if (options_.legacy_derived_secrets) {
    const SecureBuffer sealing = internal::LegacyAuditSealingKey(master_key_);
    DOSSIER_RETURN_IF_ERROR(
        PutMeta(db_, internal::kAuditSigningKey.meta_key,
                ToBase64(internal::Seal(sealing, signing_.secret.span(),
                                        internal::LegacyAuditKeyAd(vault_id_)))));
  } else {
    mac_key_ = SecureBuffer::Random(internal::kKeyBytes);
    DOSSIER_RETURN_IF_ERROR(PutSecret(internal::kAuditSigningKey, signing_.secret));
    DOSSIER_RETURN_IF_ERROR(PutSecret(internal::kContentMacKey, mac_key_));
    DOSSIER_RETURN_IF_ERROR(PutMeta(db_, "master_key_id", internal::MasterKeyId(master_key_)));
    marks->push_back(internal::kSealedSecretsMark);
  }
  if (!options_.legacy_without_row_macs) {
    row_key_ = SecureBuffer::Random(internal::kKeyBytes);
    DOSSIER_RETURN_IF_ERROR(PutSecret(internal::kRowMacKey, row_key_));
    marks->insert(marks->begin(), internal::kRowMacsMark);
  }
  return Status::Ok();
}

Status Vault::Impl::LoadSecrets() {
  DOSSIER_ASSIGN_OR_RETURN(auto meta, ReadAllMeta(db_));
  auto find = [&](const char* key) -> const std::string* {
    auto it = meta.find(key);
    return it == meta.end() ? nullptr : &it->second;
  };
  if (find(internal::kAuditSigningKey.meta_key) == nullptr) {
    return Corrupt("the catalog has no `audit_signing_key` entry");
  }
  const std::string& sealed_sk = *find(internal::kAuditSigningKey.meta_key);
  const bool sealed = find(internal::kContentMacKey.meta_key) != nullptr;
  if (sealed) {
    // FinishRotation compared it with the master key already.
    if (find("master_key_id") == nullptr) {
      return Corrupt("the catalog has no `master_key_id` entry");
    }
    DOSSIER_ASSIGN_OR_RETURN(signing_.secret, OpenSecret(internal::kAuditSigningKey, sealed_sk));
    DOSSIER_ASSIGN_OR_RETURN(
        mac_key_, OpenSecret(internal::kContentMacKey, *find(internal::kContentMacKey.meta_key)));
  } else {
    const Bytes value = FromBase64(sealed_sk).value_or(Bytes());
    auto sk = internal::Open(internal::LegacyAuditSealingKey(master_key_), value,
                             internal::LegacyAuditKeyAd(vault_id_));
    if (!sk.ok()) {
      if (internal::Open(master_key_, value,
                         internal::SecretAd(internal::kAuditSigningKey, vault_id_))
              .ok()) {
        return Corrupt(
            "the content-MAC key was removed from the catalog outside Dossier (the audit "
            "signing key is sealed as only vaults that had one seal it): restore the vault from "
            "a backup");
      }
      return Corrupt("meta.audit_signing_key in the catalog fails authentication");
    }
    signing_.secret = std::move(sk).value();
    mac_key_ = internal::LegacyContentMacKey(master_key_);
  }
  signing_.vault_id = vault_id_;
  DOSSIER_RETURN_IF_ERROR(internal::CheckSignedHead(db_, signing_));

  bool need_row_key = false;
  if (const std::string* row = find(internal::kRowMacKey.meta_key); row != nullptr) {
    DOSSIER_ASSIGN_OR_RETURN(row_key_, OpenSecret(internal::kRowMacKey, *row));
  } else {
    need_row_key = !options_.legacy_without_row_macs;
  }
  const bool need_secrets = !sealed && !options_.legacy_derived_secrets;
  if (need_row_key) {
    // Only a vault that never had row MACs is upgraded: the signed log says whether it had
    // them, so deleting the key to have tampered rows sealed anew is caught here.
    DOSSIER_ASSIGN_OR_RETURN(auto events, internal::ReadVerifiedEvents(db_));
    for (const AuditEvent& e : events) {
      if (HasMark(e.purpose, internal::kRowMacsMark)) {
        return Corrupt(
            "the row MAC key was removed from the catalog outside Dossier (the audit log shows "
            "this vault had one): restore the vault from a backup");
      }
    }
  }
  if (need_row_key || need_secrets) {
    // The one upgrade of an older vault: every missing secret, in one transaction with one
    // `vault.upgrade` event. A derived secret keeps its value, so what it keyed stays valid.
    std::vector<std::string> marks;
    DOSSIER_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_));
    if (need_row_key) {
      row_key_ = SecureBuffer::Random(internal::kKeyBytes);
      DOSSIER_RETURN_IF_ERROR(PutSecret(internal::kRowMacKey, row_key_));
      for (internal::RowTable t : internal::kAllRowTables) {
        DOSSIER_RETURN_IF_ERROR(SealRows(t, "1", {}));
      }
      marks.push_back(internal::kRowMacsMark);
    }
    if (need_secrets) {
      DOSSIER_RETURN_IF_ERROR(PutSecret(internal::kAuditSigningKey, signing_.secret));
      DOSSIER_RETURN_IF_ERROR(PutSecret(internal::kContentMacKey, mac_key_));
      DOSSIER_RETURN_IF_ERROR(PutMeta(db_, "master_key_id", internal::MasterKeyId(master_key_)));
      marks.push_back(internal::kSealedSecretsMark);
    }
    DOSSIER_RETURN_IF_ERROR(Audit("vault.upgrade", {vault_id_}, "", "ok", JoinMarks(marks)));
    DOSSIER_RETURN_IF_ERROR(tx->Commit());
  }
  return Status::Ok();
}

Status Vault::Impl::FinishRotation(bool from_staged) {
  DOSSIER_ASSIGN_OR_RETURN(auto meta, ReadAllMeta(db_));
  const char* staged = internal::kStagedKeyFile;
  DOSSIER_ASSIGN_OR_RETURN(auto staged_stat, dir_.Stat(staged));
  const bool has_staged = staged_stat.has_value();  // again, now that we hold the lock
  auto id = meta.find("master_key_id");
  auto pending = meta.find(internal::kPendingKeyFile);
  auto install = [&]() -> Status {
    DOSSIER_RETURN_IF_ERROR(dir_.Rename(staged, internal::kKeyFile));
    return dir_.SyncDir();
  };
  auto discard = [&]() -> Status {
    DOSSIER_RETURN_IF_ERROR(dir_.Remove(staged));
    return dir_.SyncDir();
  };
  // A vault with sealed secrets is sealed for exactly one master key, named by the id; one
  // without them has never rotated (LoadSecrets upgrades it), so only vault.key counts. A
  // staged key file is installed only when the catalog names its key.
  bool current = false;
  if (id != meta.end()) {
    current = id->second == internal::MasterKeyId(master_key_);
  } else if (meta.count(internal::kContentMacKey.meta_key) != 0) {
    return Corrupt("the catalog has no `master_key_id` entry");
  } else {
    current = !from_staged;
  }
  if (current) {
    if (from_staged && has_staged) {
      DOSSIER_RETURN_IF_ERROR(install());  // committed, vault.key not yet replaced
    } else if (has_staged) {
      DOSSIER_RETURN_IF_ERROR(discard());  // staged, never committed
    }
    if (pending != meta.end()) {
      DOSSIER_ASSIGN_OR_RETURN(Stmt s, db_.Prepare("DELETE FROM meta WHERE key = ?"));
      s.Bind(1, internal::kPendingKeyFile);
      DOSSIER_RETURN_IF_ERROR(s.Run());
    }
    return Status::Ok();
  }
  // The catalog is sealed for another master key than the one this passphrase opened.
  (void)internal::RecordUnlockFailure(dir_, Now());
  const Status wrong = AuthFailed("wrong passphrase for the vault at " + dir_.path().string());
  if (from_staged) {
    DOSSIER_RETURN_IF_ERROR(discard());  // a rotation that did not commit: its passphrase is not
    return wrong;                        // the vault's
  }
  if (has_staged && pending != meta.end()) {
    auto text = ReadSmallFile(staged, 64 << 10);
    if (text.ok() && *text == pending->second) {
      // A rotation committed and was cut off before vault.key: finish it. This passphrase is
      // the one it replaced.
      DOSSIER_RETURN_IF_ERROR(install());
      return wrong;
    }
  }
  return AuthFailed(fmt::format(
      "{} is older than the catalog: the master key it holds was rotated by `dossier vault "
      "passwd`, so this key file and its passphrase no longer open the vault",
      dir_.PathOf(internal::kKeyFile).string()));
}

void Vault::Impl::RotationStep(std::string_view step) const {
  if (options_.rotation_step) options_.rotation_step(step);
}

Status Vault::Impl::RotateMasterKey(std::string_view new_passphrase) {
  if (batch_) return Internal("commit the open batch before changing the passphrase");
  if (options_.legacy_derived_secrets) {
    return Internal("a vault opened as an older version cannot rotate its master key");
  }
  // Alone: no other process may go on using the old master key, or read vault.key while it
  // is replaced. Back to shared afterwards, whatever happened.
  DOSSIER_RETURN_IF_ERROR(
      lock_.Exclusive(internal::kRotationNote, "a key rotation must run alone"));
  struct Shared {
    internal::VaultLock& lock;
    ~Shared() { (void)lock.Downgrade(); }
  } shared{lock_};
  DOSSIER_RETURN_IF_ERROR(CheckStillCurrent());
  DOSSIER_ASSIGN_OR_RETURN(internal::KeyFile old, internal::ReadKeyFile(dir_));
  SecureBuffer next = SecureBuffer::Random(internal::kKeyBytes);
  DOSSIER_ASSIGN_OR_RETURN(
      internal::KeyFile kf,
      internal::SealMaster(vault_id_, new_passphrase, next,
                           std::max<uint64_t>(old.opslimit, options_.kdf_opslimit),
                           std::max(old.memlimit, options_.kdf_memlimit)));
  const std::string key_file = internal::EncodeKeyFile(kf);
  const char* staged = internal::kStagedKeyFile;
  RotationStep("sealed");

  // 1. The new key file is staged beside vault.key. Until the commit below it counts for
  // nothing: an unlock that finds it deletes it unless the catalog is sealed for its key.
  DOSSIER_RETURN_IF_ERROR(dir_.WriteDurably(staged, AsBytes(std::string_view(key_file))));
  RotationStep("staged");
  auto discard_staged = [&] { (void)dir_.Remove(staged); };

  // 2. One transaction: every patient key and every sealed secret rewrapped under the new
  // master key, its fingerprint, a copy of the new key file, and the event. Before its commit
  // the old passphrase opens the vault; after it only the new one does.
  Status st = [&]() -> Status {
    DOSSIER_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_));
    std::vector<std::pair<std::string, Bytes>> rewrapped;
    {
      DOSSIER_ASSIGN_OR_RETURN(
          Stmt s, db_.Prepare("SELECT id, wrapped_key FROM patients WHERE wrapped_key IS NOT NULL "
                              "ORDER BY rowid"));
      for (;;) {
        DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        const std::string id = s.Text(0);
        const std::string ad = "dossier-patient-key-v1:" + id;
        auto key = internal::Open(master_key_, s.Blob(1), ad);
        if (!key.ok()) return Corrupt("the key of patient " + id + " fails authentication");
        rewrapped.emplace_back(id, internal::Seal(next, key->span(), ad));
      }
    }
    for (const auto& [id, wrapped] : rewrapped) {
      DOSSIER_ASSIGN_OR_RETURN(Stmt up,
                               db_.Prepare("UPDATE patients SET wrapped_key = ? WHERE id = ?"));
      up.BindBlob(1, wrapped).Bind(2, id);
      DOSSIER_RETURN_IF_ERROR(up.Run());
    }
    DOSSIER_ASSIGN_OR_RETURN(auto meta, ReadAllMeta(db_));
    for (const internal::SealedSecret& secret : internal::kSealedSecrets) {
      auto it = meta.find(secret.meta_key);
      if (it == meta.end()) continue;
      DOSSIER_ASSIGN_OR_RETURN(SecureBuffer value, OpenSecret(secret, it->second));
      DOSSIER_RETURN_IF_ERROR(PutMeta(
          db_, secret.meta_key,
          ToBase64(internal::Seal(next, value.span(), internal::SecretAd(secret, vault_id_)))));
    }
    DOSSIER_RETURN_IF_ERROR(PutMeta(db_, "master_key_id", internal::MasterKeyId(next)));
    DOSSIER_RETURN_IF_ERROR(PutMeta(db_, internal::kPendingKeyFile, key_file));
    DOSSIER_RETURN_IF_ERROR(Audit("vault.passwd", {vault_id_}, "", "ok", "master key rotated"));
    RotationStep("rewrapped");
    return tx->Commit();
  }();
  if (!st.ok()) {
    discard_staged();  // rolled back: the old passphrase goes on opening the vault
    return st;
  }
  master_key_ = std::move(next);
  RotationStep("committed");

  // 3. The staged key file replaces vault.key. A crash before this leaves it staged, and the
  // next unlock with either passphrase finishes the move (FinishRotation).
  DOSSIER_RETURN_IF_ERROR(dir_.Rename(staged, internal::kKeyFile));
  DOSSIER_RETURN_IF_ERROR(dir_.SyncDir());
  RotationStep("key file written");
  {
    DOSSIER_ASSIGN_OR_RETURN(Stmt s, db_.Prepare("DELETE FROM meta WHERE key = ?"));
    s.Bind(1, internal::kPendingKeyFile);
    DOSSIER_RETURN_IF_ERROR(s.Run());
  }
  RotationStep("done");
  // Old sealed values are overwritten in place; the WAL's copies go with the checkpoint.
  (void)CheckpointWal(1000);
  return Status::Ok();
}

}  // namespace dossier::vault
