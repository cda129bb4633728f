// Vault::Impl — the state of an unlocked vault, shared by vault.cc, patients.cc and
// documents.cc. Private to vault/.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vault/internal/audit_log.h"
#include "vault/internal/keys.h"
#include "vault/internal/layout.h"
#include "vault/internal/object_store.h"
#include "vault/internal/row_mac.h"
#include "vault/internal/sqlite.h"
#include "vault/internal/vault_lock.h"
#include "vault/vault.h"

namespace dossier::vault {

namespace internal {
// The operating-system user this process runs as: getpwuid(geteuid())'s name, else "uid-N".
std::string CurrentOsUser();
}  // namespace internal

class Vault::Impl {
 public:
  Impl(internal::VaultDir dir, Actor actor, VaultOptions options)
      : os_user_(internal::CurrentOsUser()),
        dir_(std::move(dir)),
        actor_(std::move(actor)),
        options_(options),
        objects_(dir_, options.chunk_size) {}
  ~Impl();

  std::string Now() const;

  // Appends an audit event inside the caller's open transaction.
  Status Audit(const std::string& action, std::vector<std::string> objects,
               const std::string& patient, const std::string& outcome = "ok",
               const std::string& purpose = "");
  // Records an event in a transaction of its own.
  Status AuditAlone(const std::string& action, std::vector<std::string> objects,
                    const std::string& patient, const std::string& outcome = "ok",
                    const std::string& purpose = "");
  // The same with every field the caller sets (action, objects, patient, outcome, reason,
  // purpose, details); when, who and the encoding are filled in here.
  Status Audit(AuditEvent e);
  Status AuditAlone(AuditEvent e);
  // The refusal or failure of `action`, with `why`'s code as the reason (Vault::RecordFailure).
  static AuditEvent FailureEvent(const std::string& action, std::vector<std::string> objects,
                                 const std::string& patient, const Status& why);
  // The last event this Vault appended (its action and outcome), so that a refusal already on
  // record is not recorded twice by RecordFailure.
  std::string last_action_, last_outcome_;

  // Decrypts a document into `sink`. `record(patient_id)` puts the act on record before the
  // first byte leaves (nothing is decrypted if it fails); null when the caller recorded it
  // already (a DICOM export). An erased document is refused, and a decryption that fails is
  // recorded, as `action`.
  Status DecryptDocument(const std::string& doc_id, ByteSink& sink, const std::string& action,
                         const std::function<Status(const std::string& patient_id)>& record);
  // Seals `text` (personal) under the patient's key as an audit note, in the caller's
  // transaction; returns its id for the event's details.
  Result<std::string> AddAuditNote(const std::string& patient_id, const std::string& text);
  // The documents a recorded DICOM export may decrypt (Vault::RecordDicomExport).
  std::set<std::string> exportable_;

  // A patient's key and the subkeys derived from it, unwrapped once and cached.
  struct PatientKeys {
    SecureBuffer key;    // the patient key
    SecureBuffer field;  // seals catalog fields
    SecureBuffer wrap;   // seals object data keys
    SecureBuffer uid;    // keyed MACs of DICOM UIDs (grouping without UIDs in the clear)
    // PRAGMA data_version when the patient was last seen not erased: another process's
    // commit changes it, and the cached key is checked again (an erasure elsewhere).
    int64_t checked_at = 0;
    static PatientKeys From(SecureBuffer patient_key);
  };
  // kRejected if the patient was erased.
  struct CaseRef {
    std::string patient_id;
    std::string status;
  };
  // A case's owner and status, decrypting nothing (every stored document asks).
  Result<CaseRef> FindCase(const std::string& case_id);
  // kRejected unless documents may be filed in the case (it is closed, or erased).
  static Status CheckTakesDocuments(const std::string& case_id, const CaseRef& c);
  // Inserts a patient checked by the caller, with its `patient.add` event.
  Result<AddedPatient> InsertPatient(const PatientInfo& info, std::vector<std::string> same_as);
  // Binds `text` sealed under the patient's field key (AD `<where>:<row_id>`), or NULL when
  // it is empty.
  Status BindSealed(internal::Stmt& s, int index, const std::string& patient_id,
                    const std::string& where, const std::string& row_id, const std::string& text);
  // One sealed column of a correction: `<table>.<name>_enc`, its given and stored values.
  struct FieldEdit {
    const char* name;
    const std::optional<std::string>& given;  // unset: left as it is
    const std::string& stored;
  };
  // Seals each given value that differs from the stored one into its column of `row_id`,
  // seals the row MAC again and records `action` with purpose `changed=<names>`, in one
  // transaction. Returns the names changed; when none, writes and records nothing.
  Result<std::vector<std::string>> EditSealedFields(internal::RowTable table,
                                                    const std::string& table_name,
                                                    const std::string& row_id,
                                                    const std::string& patient_id,
                                                    const std::vector<FieldEdit>& fields,
                                                    const std::string& action);
  Result<const PatientKeys*> Keys(const std::string& patient_id);
  Result<const SecureBuffer*> PatientKey(const std::string& patient_id);
  // Keyed BLAKE2b of a DICOM UID under the patient's uid key, tagged with what it is.
  Result<Bytes> UidMac(const std::string& patient_id, std::string_view what,
                       const std::string& uid);
  Result<Bytes> SealField(const std::string& patient_id, const std::string& where,
                          const std::string& row_id, const std::string& text);
  // Empty string for a NULL column, unless `required` (a live row missing a mandatory
  // field has been tampered with: kCorrupt).
  Result<std::string> OpenField(const std::string& patient_id, const std::string& where,
                                const std::string& row_id, const Bytes& sealed,
                                bool required = false);

  // Where an object's data key belongs: the key is sealed with all of it as associated data,
  // so a catalog row whose object, case, patient or sizes were swapped fails to open.
  struct ObjectBinding {
    std::string patient_id, object_id, doc_id, case_id;
    uint64_t size = 0, stored_size = 0;
    std::string Ad() const;
  };
  Result<SecureBuffer> UnwrapObjectKey(const ObjectBinding& b, const Bytes& wrapped);
  Result<Bytes> WrapObjectKey(const ObjectBinding& b, const SecureBuffer& data_key);

  // The open group commit, if any.
  struct Batch {
    std::unique_ptr<internal::Transaction> tx;
    size_t documents = 0;
    uint64_t bytes = 0;
    std::chrono::steady_clock::time_point began = std::chrono::steady_clock::now();
  };
  std::optional<Batch> batch_;
  uint64_t committed_batches_ = 0;
  Status CommitBatchTx();  // syncfs, then COMMIT of the batch transaction
  // Starts a transaction, or joins the open batch's (then the returned owner is null and
  // Commit is a no-op).
  // Inside a batch it is a SAVEPOINT, so a failed document rolls back alone.
  class Tx {
   public:
    static Result<Tx> Begin(Impl& v);
    Tx(Tx&& other) noexcept;
    ~Tx();
    Status Commit();

   private:
    Tx() = default;
    std::unique_ptr<internal::Transaction> own_;
    internal::Db* savepoint_db_ = nullptr;  // set while a savepoint is open
  };
  // Commits the open batch and begins the next one when it is full, old
  // (batch_max_seconds), or has held the write lock batch_yield_after_ms while another
  // process waits to write (then lets that process in first). Called between documents.
  Status FlushBatchIfFull();

  // Row MACs (internal/row_mac.h) under the vault's row key, inside the caller's transaction.
  Status SealRows(internal::RowTable table, const std::string& where,
                  const std::vector<std::string>& args) {
    if (options_.legacy_without_row_macs) return Status::Ok();
    return internal::SealRows(db_, row_key_, table, where, args);
  }
  Status CheckRows(internal::RowTable table, const std::string& where,
                   const std::vector<std::string>& args) {
    if (options_.legacy_without_row_macs) return Status::Ok();
    return internal::CheckRows(db_, row_key_, table, where, args);
  }
  // Every row of the patient's, in every covered table (after an erasure changed them all).
  Status SealPatientRows(const std::string& patient_id);

  // Vault-wide secrets sealed under the master key in `meta` (vault/secrets.cc).
  // Create: makes the audit-signing, content-MAC and row-MAC keys' meta entries (inside the
  // caller's transaction) and adds the marks the `vault.create` event records.
  Status SealNewSecrets(std::vector<std::string>* marks);
  // Unlock: checks that the master key is the catalog's (kAuthFailed naming vault.key when it
  // is an older one), unseals the secrets, checks the signed audit head, and upgrades a vault
  // made before some of them in one transaction with one `vault.upgrade` event: a row key is
  // made and every row sealed; derived secrets are sealed with their current values.
  Status LoadSecrets();
  Result<SecureBuffer> OpenSecret(const internal::SealedSecret& secret,
                                  const std::string& sealed_b64);
  Status PutSecret(const internal::SealedSecret& secret, const SecureBuffer& value);
  // `vault passwd`: a new master key; every patient key and sealed secret rewrapped
  // (doc/FORMAT.md §Key rotation).
  Status RotateMasterKey(std::string_view new_passphrase);
  // Unlock, before LoadSecrets: settles a rotation that was cut off, from whether the catalog
  // is sealed for the master key this passphrase opened (`from_staged`: it came from the
  // staged vault.key.new). Committed: the staged key file becomes vault.key (even when the
  // old passphrase was given, which is then refused). Not committed: it is deleted. A
  // vault.key older than the catalog is kAuthFailed naming it.
  Status FinishRotation(bool from_staged);
  void RotationStep(std::string_view step) const;

  // Links the stored document `doc_id` of `case_id` to the request it answers as a reply, marks
  // the request answered if it was not, and records `export.reply`, in the caller's
  // transaction (NewDocument::reply_to). kNotFound / kRejected for a request the ledger does
  // not hold or of another case.
  Status FileReply(const std::string& request_id, const std::string& doc_id,
                   const std::string& case_id, const std::string& patient_id);

  // Documents announced by Vault::AuditExportReads, per export id.
  std::map<std::string, std::set<std::string>> export_reads_;

  // Unlock (Vault::Open): the passphrase, the locks, the catalog, the upkeep. false: a
  // rotation changed vault.key while this open let go of its lock; start again.
  Result<bool> Unlock(std::string_view passphrase, OpenMode mode);
  // What must run alone before this open may go on ("" when nothing): a schema upgrade, an
  // interrupted rotation to settle, the one-time upgrade of an older vault.
  struct AloneWork {
    std::string note, why;
  };
  Result<std::optional<AloneWork>> WorkThatMustRunAlone();
  // kRejected unless the catalog is still sealed for this master key and at this build's
  // schema: after waiting for the vault alone, another process may have changed them.
  Status CheckStillCurrent();
  // Deletes temp files and objects no catalog row refers to. `alone`: all of them; otherwise
  // only those older than orphan_min_age_seconds (a younger one may be another live
  // process's, not committed yet).
  Status SweepOrphans(bool alone);
  // Folds the record of failed unlocks into one `vault.unlock_failed` event, then removes it.
  Status FoldUnlockFailures();
  // Moves every WAL frame into the main file and truncates the WAL, waiting for readers to
  // let go (kIoError if they do not within `wait_ms`). Used after erasing, so old versions
  // of a destroyed key do not survive in catalog.db-wal.
  Status CheckpointWal(int wait_ms);

  std::string os_user_;     // the operating-system user this process runs as, for every event
  internal::VaultDir dir_;  // every entry is reached through it (vault_dir.h)
  Actor actor_;
  VaultOptions options_;
  internal::VaultLock lock_;  // let go after the catalog is closed
  internal::Db db_;
  internal::ObjectStore objects_;
  std::string vault_id_;
  SecureBuffer master_key_;
  SecureBuffer mac_key_;  // content MACs; sealed under the master key in meta.content_mac_key
  SecureBuffer row_key_;  // random, sealed under the master key in meta.row_mac_key
  internal::SigningKey signing_;
  std::map<std::string, PatientKeys> patient_keys_;
  std::vector<std::string> swept_;
};

}  // namespace dossier::vault
