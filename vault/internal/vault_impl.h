// Vault::Impl — the state of an unlocked vault, shared by vault.cc, patients.cc and
// documents.cc. Private to vault/.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "vault/internal/audit_journal.h"
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
  Impl(internal::VaultDir dir, Actor actor, VaultOptions options);
  ~Impl();

  std::string Now() const;

  // Threads (vault.h §Threads; vault/threads.cc). One writer path: a FIFO lock, recursive for
  // the thread that holds it, guards the writer connection `db_` and every write — each
  // transaction, the batch, SealRows, the object store's writes, the caches writes touch.
  // Readers need no lock: each thread reads through a read-only connection of its own, so
  // WAL readers never wait for the writer.
  //
  // Every public call enters a section first:
  //   auto w = impl_->Write();                                   // a call that writes
  //   DOSSIER_ASSIGN_OR_RETURN(auto r, impl_->Read());           // a call that only reads
  // A write section entered by a thread that does not own the open batch first commits the
  // batch's transaction (CommitBatchEarly), so that nothing but the batch owner's own writes
  // ever joins it. A read section takes the writer only for the thread that owns the open
  // batch (its reads see the batch's uncommitted rows); for any other thread it makes sure
  // the thread's reader connection is open.
  class Section {
   public:
    Section() = default;
    Section(Section&& other) noexcept : v_(std::exchange(other.v_, nullptr)) {}
    Section& operator=(Section&&) = delete;
    ~Section();

   private:
    friend class Impl;
    explicit Section(Impl* v) : v_(v) {}
    Impl* v_ = nullptr;  // set while it holds the writer
  };
  Section Write();
  Result<Section> Read();
  // Whether the calling thread holds the writer / opened the open batch.
  bool HoldsWriter() const {
    return writer_thread_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }
  bool OwnsBatch() const {
    return batch_thread_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }
  // The connection the calling thread reads and writes through: the writer's inside a write
  // section, else the thread's own read-only connection (opened on first use).
  internal::Db& Conn();
  // Decrypts an object into `sink`; inside a write section it first waits for the object
  // store's queued writes (an object of the open batch may still be on its way).
  Status ReadObject(const std::string& object_id, const SecureBuffer& key, uint64_t stored_size,
                    ByteSink* sink, uint64_t* plain_size = nullptr);

  // Appends an audit event inside the caller's open transaction.
  Status Audit(const std::string& action, std::vector<std::string> objects,
               const std::string& patient, const std::string& outcome = "ok",
               const std::string& purpose = "");
  // Records an event that changes nothing (a read, a listing, a refusal) in a transaction of
  // its own, never an ingest batch's: group-committed with the events other threads record
  // at the same time (one transaction, one signed head per group; vault/threads.cc), or,
  // beside an open batch, journaled with them. Returns once the event is durable; callers
  // put it on record before any plaintext leaves.
  Status AuditAlone(const std::string& action, std::vector<std::string> objects,
                    const std::string& patient, const std::string& outcome = "ok",
                    const std::string& purpose = "");
  // The same with every field the caller sets (action, objects, patient, outcome, reason,
  // purpose, details); when, who and the encoding are filled in here.
  Status Audit(AuditEvent e);
  Status AuditAlone(AuditEvent e);
  static AuditEvent MakeEvent(const std::string& action, std::vector<std::string> objects,
                              const std::string& patient, const std::string& outcome,
                              const std::string& purpose);
  // Runs the audit fault hook, then fills in who acts and the encoding.
  Status StampEvent(AuditEvent& e) const;
  // The refusal or failure of `action`, with `why`'s code as the reason (Vault::RecordFailure).
  static AuditEvent FailureEvent(const std::string& action, std::vector<std::string> objects,
                                 const std::string& patient, const Status& why);
  // The last event the calling thread appended (its action and outcome), so that a refusal
  // already on record is not recorded twice by RecordFailure.
  struct LastEvent {
    std::string action, outcome;
  };
  LastEvent LastEventOfThread();
  void NoteEvent(const AuditEvent& e);

  // Decrypts a document into `sink`. `record(patient_id)` puts the act on record before the
  // first byte leaves (nothing is decrypted if it fails); null when the caller recorded it
  // already (a DICOM export). An erased document is refused, and a decryption that fails is
  // recorded, as `action`. With DocumentCopy::kRendition, the document's rendition
  // (kNotFound when it has none).
  Status DecryptDocument(const std::string& doc_id, ByteSink& sink, const std::string& action,
                         const std::function<Status(const std::string& patient_id)>& record,
                         DocumentCopy copy = DocumentCopy::kAsUploaded);
  // Seals `text` (personal) under the patient's key as an audit note, in the caller's
  // transaction; returns its id for the event's details.
  Result<std::string> AddAuditNote(const std::string& patient_id, const std::string& text);
  // The documents a recorded DICOM export may decrypt (Vault::RecordDicomExport); under
  // state_mu_.
  std::set<std::string> exportable_;

  // A patient's key and the subkeys derived from it, unwrapped once and cached.
  struct PatientKeys {
    SecureBuffer key;    // the patient key
    SecureBuffer field;  // seals catalog fields
    SecureBuffer wrap;   // seals object data keys
    SecureBuffer uid;    // keyed MACs of DICOM UIDs (grouping without UIDs in the clear)
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
  // Shared: a key stays alive while a thread uses it, even when an erasure drops it from the
  // cache meanwhile.
  Result<std::shared_ptr<const PatientKeys>> Keys(const std::string& patient_id);
  // Puts a new patient's keys in the cache, seen current on `conn` at PRAGMA data_version
  // `version`; after an erasure, forgets them for good.
  void CacheKeys(const std::string& patient_id, PatientKeys keys, const internal::Db& conn,
                 int64_t version);
  void ForgetKeys(const std::string& patient_id);
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

  // The open group commit, if any: opened by one thread (batch_thread_), which alone stores
  // into it. Its transaction begins with the owner's first write and ends with CommitBatch,
  // an automatic flush, or an early commit when another thread needs the writer
  // (CommitBatchEarly). Guarded by the writer.
  struct Batch {
    std::unique_ptr<internal::Transaction> tx;  // null between two transactions of the batch
    size_t documents = 0;
    uint64_t bytes = 0;
    std::chrono::steady_clock::time_point began = std::chrono::steady_clock::now();
    int savepoints = 0;  // the owner's transactions open inside it
    // An early commit failed: the batch was rolled back. Its owner learns it at its next
    // write or at CommitBatch, which then end the batch.
    Status lost;
    bool whole = false;  // BatchMode::kWhole
    // kWhole: the objects of the documents in `tx`, deleted when it is rolled back.
    std::vector<std::string> objects;
  };
  std::optional<Batch> batch_;
  // When the open batch's transaction began (steady clock, ns), 0 while none is open: read
  // by an audit group's leader without the writer (VaultOptions::audit_batch_gap_ms).
  std::atomic<int64_t> batch_tx_began_ns_{0};
  std::atomic<uint64_t> committed_batches_{0};
  Status CommitBatchTx();  // objects flushed, syncfs, then COMMIT of the batch transaction
  // Commits the open batch's transaction now, between two of its owner's calls (its objects
  // are complete); the owner's next write begins a new one. On failure the batch is rolled
  // back and marked lost. Called with the writer held.
  Status CommitBatchEarly();
  // Ends the open batch's transaction so that another write can go ahead: commits it, or,
  // when the batch is whole (BatchMode::kWhole), rolls it back (DropBatchTx). Writer held.
  Status LetOtherWriteIn();
  // Rolls back the open batch's transaction, deletes the objects of its documents and marks
  // the batch lost with `why` (unless it already was). Writer held.
  void DropBatchTx(const Status& why);
  std::atomic<bool> batch_gave_way_{false};
  void EndBatch();  // forgets the batch and lets another thread open one
  // Starts a transaction, or joins the open batch's when the calling thread owns it (then
  // the returned owner is null and Commit is a no-op). Inside a batch it is a SAVEPOINT, so
  // a failed document rolls back alone. Holds the writer while it exists.
  class Tx {
   public:
    static Result<Tx> Begin(Impl& v);
    Tx(Tx&& other) noexcept;
    ~Tx();
    Status Commit();

   private:
    explicit Tx(Section writer) : writer_(std::move(writer)) {}
    Section writer_;
    std::unique_ptr<internal::Transaction> own_;
    Impl* savepoint_of_ = nullptr;  // set while a savepoint of the batch is open
  };
  // Commits the open batch and begins the next one when it is full, old
  // (batch_max_seconds), or has held the write lock batch_yield_after_ms while another
  // process waits to write (then lets that process in first). Called between documents.
  Status FlushBatchIfFull();

  // Row MACs (internal/row_mac.h) under the vault's row key, inside the caller's transaction.
  Status SealRows(internal::RowTable table, const std::string& where,
                  const std::vector<std::string>& args) {
    if (options_.legacy_without_row_macs) return Status::Ok();
    if (!HoldsWriter()) return Internal("rows sealed outside a write section");
    return internal::SealRows(db_, row_key_, table, where, args);
  }
  // On the calling thread's connection (Conn).
  Status CheckRows(internal::RowTable table, const std::string& where,
                   const std::vector<std::string>& args) {
    if (options_.legacy_without_row_macs) return Status::Ok();
    return internal::CheckRows(Conn(), row_key_, table, where, args);
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

  // Accounts (vault/users.cc). The keys of login names, derived from the sealed secret
  // meta.user_name_key: `mac` finds a name (users.name_mac), `seal` seals it (users.name_enc).
  struct UserNameKeys {
    SecureBuffer mac, seal;
  };
  // The vault's user-name keys: cached, else read from meta (another process may have made
  // them since this one unlocked). Null when the vault has none yet; with `create` (inside a
  // write transaction) they are made and sealed into meta, `*created` is set, and they are
  // not cached: the caller caches them (CacheUserNameKeys) once its transaction committed.
  // kCorrupt when accounts exist but the key is missing or fails to open.
  Result<std::shared_ptr<const UserNameKeys>> LoadUserNameKeys(bool create, bool* created);
  void CacheUserNameKeys(std::shared_ptr<const UserNameKeys> keys);
  // Erasing a patient: disables the accounts linked to them and forgets their login names and
  // password hashes, with a `user.disable` event each, in the caller's transaction.
  Status DisablePatientAccounts(const std::string& patient_id);
  std::mutex user_keys_mu_;
  std::shared_ptr<const UserNameKeys> user_keys_;  // under user_keys_mu_

  // Documents announced by Vault::AuditExportReads, per export id; under state_mu_.
  std::map<std::string, std::set<std::string>> export_reads_;
  std::mutex state_mu_;

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
  // How a connection waits for other processes' locks on the catalog: up to busy_limit_ms,
  // saying so through on_wait; the writer's waits also tell other processes' batches to
  // yield.
  internal::BusyPolicy BusyPolicyFor(bool writer);
  // Deletes temp files and objects no catalog row refers to. `alone`: all of them; otherwise
  // only those older than orphan_min_age_seconds (a younger one may be another live
  // process's, not committed yet).
  Status SweepOrphans(bool alone);
  // The objects that live catalog rows name (stored documents, consents' scans), as the
  // calling thread's connection sees them.
  Result<std::set<std::string>> LiveObjects();
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
  internal::Db db_;           // the writer's connection: only with the writer held
  internal::ObjectStore objects_;
  std::string vault_id_;
  SecureBuffer master_key_;
  SecureBuffer mac_key_;  // content MACs; sealed under the master key in meta.content_mac_key
  SecureBuffer row_key_;  // random, sealed under the master key in meta.row_mac_key
  internal::SigningKey signing_;
  std::vector<std::string> swept_;

  // Group commit of the events recorded alone (vault/threads.cc).
  struct PendingEvent {
    AuditEvent event;
    Status result;
    bool done = false;
  };
  Status CommitEvents(const std::vector<PendingEvent*>& group);  // with the writer held
  std::atomic<uint64_t> audit_commits_{0}, audit_committed_events_{0};
  std::atomic<uint64_t> audit_journaled_events_{0}, audit_journal_writes_{0};

  // The audit journal (internal/audit_journal.h): while a batch's transaction is open, a
  // group of events recorded alone is made durable there instead of committing the batch.
  // journal_open_: a batch transaction is open, whose commit (or the one after it) folds the
  // journal.
  // Guarded by journal_mu_, taken after the writer when both are held.
  std::mutex journal_mu_;
  internal::AuditJournal journal_;
  bool journal_open_ = false;
  std::atomic<int64_t> journal_last_write_ns_{0};  // steady clock: the last group journaled
  // Whether `group` was journaled (durable), or must be committed (false: no batch
  // transaction is open, or the journal cannot be written).
  bool JournalEvents(const std::vector<PendingEvent*>& group);
  // Appends the events `taken` (journal_.Take()) to the writer's open transaction, with
  // journal_mu_ held; once it commits, journal_.Folded(taken).
  Status FoldJournalLocked(const internal::AuditJournal::Snapshot& taken);
  // What the journal holds, committed in a transaction of its own (the writer and
  // journal_mu_ held, no transaction open).
  Status CommitJournalLocked();
  // At unlock: the journals of processes that ended first, folded (internal/audit_journal.h).
  Status FoldLeftJournals();
  SecureBuffer JournalKey() const;

  // The readers' connections, shared with the threads holding them (vault/threads.cc).
  struct ReaderPool;
  Result<internal::Db*> Reader();

 private:
  void LockWriter();
  void UnlockWriter();

  std::mutex writer_mu_;  // guards the ticket counters below
  std::condition_variable writer_cv_;
  uint64_t writer_next_ = 0, writer_serving_ = 0;
  std::atomic<std::thread::id> writer_thread_{};
  int writer_depth_ = 0;  // the holder's
  std::atomic<std::thread::id> batch_thread_{};
  // One batch at a time: another thread's BeginBatch waits for the slot.
  std::mutex batch_slot_mu_;
  std::condition_variable batch_slot_cv_;
  bool batch_slot_taken_ = false;
  friend class Vault;

  std::mutex audit_mu_;  // guards the queue and the leader flag
  std::condition_variable audit_cv_;
  std::deque<PendingEvent*> audit_queue_;
  bool audit_leader_ = false;

  std::mutex keys_mu_;
  // A cached key is used as it is only while the connection reading sees nothing committed
  // by another connection since it last saw the patient not erased (PRAGMA data_version, per
  // connection serial): an erasure by another process or thread is then noticed.
  struct CachedKeys {
    std::shared_ptr<const PatientKeys> keys;
    std::map<uint64_t, int64_t> seen;  // connection serial → data_version
  };
  std::map<std::string, CachedKeys> patient_keys_;
  std::set<std::string> erased_keys_;  // never cached again

 public:
  // A case's documents as ListDocuments returns them: rows checked, names opened.
  using Listing = std::shared_ptr<const std::vector<DocumentRecord>>;
  // The case's listing as `read` makes it, kept and given again while the case's change
  // counter (case_changes, bumped by triggers in the transaction of any change, whichever
  // process makes it) still has the value read before `read` ran. Not kept for the writer's
  // connection, which sees uncommitted rows; least recently used dropped beyond
  // kListedRecordsKept records; an erased patient's dropped at once (ForgetKeys).
  Result<Listing> CaseListing(const std::string& case_id, const std::string& patient_id,
                              const std::function<Result<std::vector<DocumentRecord>>()>& read);
  static constexpr size_t kListedRecordsKept = 50000;
  std::atomic<uint64_t> listings_read_{0};

 private:
  struct CachedListing {
    std::string patient_id;
    int64_t version = 0;
    Listing documents;
    uint64_t used = 0;  // listings_tick_ when last given
  };
  std::map<std::string, CachedListing> listings_;  // case id →; under keys_mu_
  uint64_t listings_tick_ = 0;
  size_t listed_records_ = 0;

  std::mutex last_mu_;
  std::map<std::thread::id, LastEvent> last_events_;

  std::shared_ptr<ReaderPool> readers_;
};

}  // namespace dossier::vault
