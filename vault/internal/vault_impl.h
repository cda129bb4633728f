// Vault::Impl — the state of an unlocked vault, shared by vault.cc, patients.cc and
// documents.cc. Private to vault/.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vault/internal/audit_log.h"
#include "vault/internal/layout.h"
#include "vault/internal/object_store.h"
#include "vault/internal/sqlite.h"
#include "vault/vault.h"

namespace dossier::vault {

class Vault::Impl {
 public:
  Impl(fs::path dir, Actor actor, VaultOptions options)
      : dir_(std::move(dir)),
        actor_(std::move(actor)),
        options_(options),
        objects_(dir_, options.chunk_size) {}
  ~Impl();

  std::string Now() const;

  // Appends an audit event inside the caller's open transaction.
  Status Audit(const std::string& action, std::vector<std::string> objects,
               const std::string& patient, const std::string& outcome = "ok");
  // Records an event in a transaction of its own.
  Status AuditAlone(const std::string& action, std::vector<std::string> objects,
                    const std::string& patient, const std::string& outcome = "ok");

  // The patient's key, unwrapped and cached. kRejected if the patient was erased.
  Result<const SecureBuffer*> PatientKey(const std::string& patient_id);
  Result<Bytes> SealField(const std::string& patient_id, const std::string& where,
                          const std::string& row_id, const std::string& text);
  // Empty string for a NULL column.
  Result<std::string> OpenField(const std::string& patient_id, const std::string& where,
                                const std::string& row_id, const Bytes& sealed);
  Result<SecureBuffer> UnwrapObjectKey(const std::string& patient_id, const std::string& object_id,
                                       const Bytes& wrapped);
  Result<Bytes> WrapObjectKey(const std::string& patient_id, const std::string& object_id,
                              const SecureBuffer& data_key);

  Status SweepOrphans();

  fs::path dir_;
  Actor actor_;
  VaultOptions options_;
  internal::Db db_;
  internal::ObjectStore objects_;
  int lock_fd_ = -1;
  std::string vault_id_;
  SecureBuffer master_key_;
  SecureBuffer mac_key_;
  internal::SigningKey signing_;
  std::map<std::string, SecureBuffer> patient_keys_;
  std::vector<std::string> swept_;
};

}  // namespace dossier::vault
