// Creating and unlocking a vault; patient keys and fields; the audit hook. The key file and
// the sealed secrets, with the key rotation, are in keys.cc and secrets.cc.
#include "vault/vault.h"

#include <fmt/format.h>
#include <pwd.h>
#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <set>

#include "common/encoding.h"
#include "vault/audit.h"
#include "vault/internal/crypto.h"
#include "vault/internal/keys.h"
#include "vault/internal/schema.h"
#include "vault/internal/unlock_failures.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::Db;
using internal::KeyFile;
using internal::Stmt;
using internal::Transaction;

namespace {

Status ConfigureCatalog(Db& db) {
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, db.Prepare("PRAGMA journal_mode = WAL"));
  DOSSIER_RETURN_IF_ERROR(s.Run());
  return db.Exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;");
}

Status InsertMeta(Db& db, const std::string& key, const std::string& value) {
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, db.Prepare("INSERT INTO meta(key, value) VALUES (?, ?)"));
  s.Bind(1, key).Bind(2, value);
  return s.Run();
}

}  // namespace

namespace internal {

std::string CurrentOsUser() {
  const uid_t uid = ::geteuid();
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr &&
      found->pw_name != nullptr && *found->pw_name != '\0') {
    return found->pw_name;
  }
  return "uid-" + std::to_string(uid);
}

}  // namespace internal

Vault::Impl::~Impl() {
  batch_.reset();  // an uncommitted batch rolls back while the catalog is still open
  {
    // Reads journaled beside it go into the log now; failing, the next open folds them.
    std::lock_guard<std::mutex> journal(journal_mu_);
    if (!journal_.pending().empty()) (void)CommitJournalLocked();
  }
  readers_.reset();  // every thread's reader closes before the writer, which removes the WAL
}

Result<Vault::Impl::Tx> Vault::Impl::Tx::Begin(Impl& v) {
  Tx tx(v.Write());
  if (v.batch_ && v.OwnsBatch()) {
    if (!v.batch_->lost.ok()) {  // an early commit failed: this batch is gone
      const Status lost = v.batch_->lost;
      // A whole batch refuses every write until its owner ends it: none may commit alone.
      if (!v.batch_->whole) v.EndBatch();
      return lost.WithContext("the open batch was rolled back");
    }
    if (!v.batch_->tx) {  // begins with the owner's first write; nothing is written unbatched
      DOSSIER_ASSIGN_OR_RETURN(v.batch_->tx, Transaction::Begin(v.db_));
      v.batch_->began = std::chrono::steady_clock::now();
      v.batch_tx_began_ns_.store(
          std::chrono::nanoseconds(v.batch_->began.time_since_epoch()).count());
      std::lock_guard<std::mutex> journal(v.journal_mu_);
      v.journal_open_ = v.journal_.enabled();
    }
    DOSSIER_RETURN_IF_ERROR(v.db_.Exec("SAVEPOINT dossier_tx"));
    tx.savepoint_of_ = &v;
    ++v.batch_->savepoints;
  } else {
    DOSSIER_ASSIGN_OR_RETURN(tx.own_, Transaction::Begin(v.db_));
  }
  return tx;
}

Vault::Impl::Tx::Tx(Tx&& other) noexcept
    : writer_(std::move(other.writer_)),
      own_(std::move(other.own_)),
      savepoint_of_(std::exchange(other.savepoint_of_, nullptr)) {}

Vault::Impl::Tx::~Tx() {
  if (savepoint_of_ != nullptr) {
    (void)savepoint_of_->db_.Exec("ROLLBACK TO dossier_tx");
    (void)savepoint_of_->db_.Exec("RELEASE dossier_tx");
    if (savepoint_of_->batch_) --savepoint_of_->batch_->savepoints;
  }
  own_.reset();  // rolled back unless committed, before the writer is let go
}

Status Vault::Impl::Tx::Commit() {
  if (own_) return own_->Commit();
  if (savepoint_of_ != nullptr) {
    DOSSIER_RETURN_IF_ERROR(savepoint_of_->db_.Exec("RELEASE dossier_tx"));
    if (savepoint_of_->batch_) --savepoint_of_->batch_->savepoints;
    savepoint_of_ = nullptr;
  }
  return Status::Ok();
}

namespace {
// Why a whole batch (BatchMode::kWhole) was rolled back.
Status GaveWay() {
  return Rejected("the batch gave way to another write and was rolled back: nothing of it is kept");
}
}  // namespace

Status Vault::Impl::FlushBatchIfFull() {
  if (!batch_ || !OwnsBatch() || !batch_->tx) return Status::Ok();
  using std::chrono::steady_clock;
  const auto held = steady_clock::now() - batch_->began;
  const bool full = batch_->documents >= options_.batch_max_documents ||
                    batch_->bytes >= options_.batch_max_bytes ||
                    held >= std::chrono::seconds(options_.batch_max_seconds);
  const bool yield =
      held >= std::chrono::milliseconds(options_.batch_yield_after_ms) && lock_.WritersWaiting();
  if (!full && !yield) return Status::Ok();
  if (batch_->whole) {  // it never commits before its end, and gives way to another write
    if (!yield) return Status::Ok();
    DropBatchTx(GaveWay());
    return batch_->lost;  // the batch stays open, refusing every write, until its owner ends it
  }
  if (Status st = CommitBatchEarly(); !st.ok()) {
    EndBatch();  // rolled back: the caller learns that this batch was lost
    return st;
  }
  // Another process waits to write: it gets the lock before the batch's next transaction
  // takes it again (SQLite's busy handler is not fair), or after half a second at most.
  for (int i = 0; yield && i < 500 && lock_.WritersWaiting(); ++i) ::usleep(1000);
  return Status::Ok();
}

Status Vault::Impl::CommitBatchTx() {
  // Every object of the batch reaches the disk before any row that names it is committed.
  DOSSIER_RETURN_IF_ERROR(objects_.Flush());
  if (options_.batch_commit_fault) DOSSIER_RETURN_IF_ERROR(options_.batch_commit_fault());
  // The events journaled beside this transaction commit with it; those journaled while it
  // syncs wait for the next commit.
  internal::AuditJournal::Snapshot taken;
  {
    std::lock_guard<std::mutex> journal(journal_mu_);
    taken = journal_.Take();
    if (taken.events > 0) DOSSIER_RETURN_IF_ERROR(FoldJournalLocked(taken));
  }
  DOSSIER_RETURN_IF_ERROR(dir_.SyncFilesystem());
  DOSSIER_RETURN_IF_ERROR(batch_->tx->Commit());
  committed_batches_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> journal(journal_mu_);
  journal_open_ = false;  // until the batch's next transaction begins
  // Failing to remove a journal only folds its events twice at the next open.
  (void)journal_.Folded(taken);
  // What came while the batch synced commits now, on its own: the log never lags an idle
  // batch. A failure leaves it in the journal, for the next commit or open.
  if (!journal_.pending().empty()) (void)CommitJournalLocked();
  return Status::Ok();
}

Status Vault::Impl::CommitBatchEarly() {
  Status st = batch_->tx ? CommitBatchTx() : Status::Ok();
  batch_->tx.reset();  // committed, or rolled back here
  batch_tx_began_ns_.store(0);
  {
    std::lock_guard<std::mutex> journal(journal_mu_);
    journal_open_ = false;
  }
  batch_->documents = 0;
  batch_->bytes = 0;
  if (!st.ok() && batch_->lost.ok()) batch_->lost = st;
  return st;
}

Status Vault::Impl::LetOtherWriteIn() {
  if (!batch_->whole) return CommitBatchEarly();
  DropBatchTx(GaveWay());
  return Status::Ok();
}

void Vault::Impl::DropBatchTx(const Status& why) {
  batch_->tx.reset();
  batch_tx_began_ns_.store(0);
  {
    std::lock_guard<std::mutex> journal(journal_mu_);
    journal_open_ = false;  // what the journal holds goes with the next commit of events
  }
  // No committed row names them: the rollback left them orphans.
  for (const std::string& id : batch_->objects) (void)objects_.Remove(id, false);
  batch_->objects.clear();
  batch_->documents = 0;
  batch_->bytes = 0;
  if (batch_->lost.ok()) batch_->lost = why;
  if (batch_->whole) batch_gave_way_.store(true);
}

void Vault::Impl::EndBatch() {
  batch_.reset();  // rolls back what was not committed
  batch_gave_way_.store(false);
  batch_tx_began_ns_.store(0);
  {
    std::lock_guard<std::mutex> journal(journal_mu_);
    journal_open_ = false;  // what it still holds goes with the next commit of events
  }
  batch_thread_.store(std::thread::id(), std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(batch_slot_mu_);
    batch_slot_taken_ = false;
  }
  batch_slot_cv_.notify_one();
}

Status Vault::BeginBatch(BatchMode mode) {
  if (impl_->OwnsBatch()) return Internal("a batch is already open");
  {  // one batch at a time: wait for another thread's to end
    std::unique_lock<std::mutex> lock(impl_->batch_slot_mu_);
    impl_->batch_slot_cv_.wait(lock, [&] { return !impl_->batch_slot_taken_; });
    impl_->batch_slot_taken_ = true;
  }
  auto w = impl_->Write();
  impl_->batch_.emplace();
  impl_->batch_->whole = mode == BatchMode::kWhole;
  impl_->batch_gave_way_.store(false);
  impl_->batch_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  return Status::Ok();
}

void Vault::AbandonBatch() {
  if (!impl_->OwnsBatch()) return;
  auto w = impl_->Write();
  if (impl_->batch_->tx) impl_->DropBatchTx(Rejected("the batch was abandoned"));
  (void)impl_->objects_.Flush();  // the deletions done
  impl_->EndBatch();
}

bool Vault::batch_gave_way() const { return impl_->batch_gave_way_.load(); }

Status Vault::CommitBatch() {
  if (!impl_->OwnsBatch()) return Status::Ok();
  auto w = impl_->Write();
  Status st = impl_->batch_->lost;
  if (st.ok()) {
    // Even with no transaction open, queued removals of duplicates finish here.
    st = impl_->batch_->tx ? impl_->CommitBatchTx() : impl_->objects_.Flush();
  }
  impl_->EndBatch();  // on failure: rolled back; the objects are orphans for the next open
  return st;
}

bool Vault::in_batch() const { return impl_->OwnsBatch(); }
uint64_t Vault::committed_batches() const {
  return impl_->committed_batches_.load(std::memory_order_relaxed);
}
AuditCommitStats Vault::audit_commit_stats() const {
  return {impl_->audit_committed_events_.load(std::memory_order_relaxed),
          impl_->audit_commits_.load(std::memory_order_relaxed),
          impl_->audit_journaled_events_.load(std::memory_order_relaxed),
          impl_->audit_journal_writes_.load(std::memory_order_relaxed)};
}

uint64_t Vault::listings_read() const {
  return impl_->listings_read_.load(std::memory_order_relaxed);
}

std::string Vault::Impl::Now() const {
  const Clock& c = options_.clock ? *options_.clock : Clock::System();
  return FormatUtc(c.Now());
}

AuditEvent Vault::Impl::MakeEvent(const std::string& action, std::vector<std::string> objects,
                                  const std::string& patient, const std::string& outcome,
                                  const std::string& purpose) {
  AuditEvent e;
  e.action = action;
  e.objects = std::move(objects);
  e.patient = patient;
  e.outcome = outcome;
  e.purpose = purpose;
  return e;
}

Status Vault::Impl::StampEvent(AuditEvent& e) const {
  if (options_.audit_fault) DOSSIER_RETURN_IF_ERROR(options_.audit_fault());
  const Actor* acting = ActingAs::Current(this);  // the server, for one of its users
  e.actor = acting != nullptr ? acting->name : actor_.name;
  e.role = acting != nullptr ? acting->role : actor_.role;
  if (options_.legacy_audit_encoding_v1) {
    e.encoding = 1;
    e.os_user.clear();
    e.reason.clear();
    e.details.clear();
  } else {
    e.encoding = 2;
    e.os_user = os_user_;
  }
  return Status::Ok();
}

Status Vault::Impl::Audit(const std::string& action, std::vector<std::string> objects,
                          const std::string& patient, const std::string& outcome,
                          const std::string& purpose) {
  return Audit(MakeEvent(action, std::move(objects), patient, outcome, purpose));
}

Status Vault::Impl::Audit(AuditEvent e) {
  DOSSIER_RETURN_IF_ERROR(StampEvent(e));
  e.at = Now();
  if (!HoldsWriter()) return Internal("an audit event appended outside a write section");
  DOSSIER_RETURN_IF_ERROR(internal::AppendEvent(db_, e, signing_));
  NoteEvent(e);
  return Status::Ok();
}

AuditEvent Vault::Impl::FailureEvent(const std::string& action, std::vector<std::string> objects,
                                     const std::string& patient, const Status& why) {
  AuditEvent e;
  e.action = action;
  e.objects = std::move(objects);
  e.patient = patient;
  switch (why.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kRejected:
    case StatusCode::kLimitExceeded:
      e.outcome = "refused";
      break;
    default:
      e.outcome = "failed";
  }
  e.reason = StatusCodeId(why.code());
  return e;
}

Vault::Impl::PatientKeys Vault::Impl::PatientKeys::From(SecureBuffer patient_key) {
  PatientKeys keys;
  keys.field = internal::DeriveSubkey(patient_key, 1, "dsfield_");
  keys.wrap = internal::DeriveSubkey(patient_key, 2, "dswrapk_");
  keys.uid = internal::DeriveSubkey(patient_key, 3, "dsuidmac");
  keys.key = std::move(patient_key);
  return keys;
}

Result<Bytes> Vault::Impl::UidMac(const std::string& patient_id, std::string_view what,
                                  const std::string& uid) {
  DOSSIER_ASSIGN_OR_RETURN(auto keys, Keys(patient_id));
  std::string tagged(what);
  tagged += '\0';
  tagged += uid;
  Bytes mac(32);
  crypto_generichash(mac.data(), mac.size(), reinterpret_cast<const uint8_t*>(tagged.data()),
                     tagged.size(), keys->uid.data(), keys->uid.size());
  return mac;
}

Result<Bytes> Vault::Impl::SealField(const std::string& patient_id, const std::string& where,
                                     const std::string& row_id, const std::string& text) {
  DOSSIER_ASSIGN_OR_RETURN(auto keys, Keys(patient_id));
  return internal::SealText(keys->field, text, where + ":" + row_id);
}

Result<std::string> Vault::Impl::OpenField(const std::string& patient_id, const std::string& where,
                                           const std::string& row_id, const Bytes& sealed,
                                           bool required) {
  if (sealed.empty()) {
    if (required)
      return Corrupt(fmt::format("{} of {} is missing from the catalog", where, row_id));
    return std::string();
  }
  DOSSIER_ASSIGN_OR_RETURN(auto keys, Keys(patient_id));
  auto text = internal::OpenText(keys->field, sealed, where + ":" + row_id);
  if (!text.ok()) return Corrupt(fmt::format("{} of {} fails authentication", where, row_id));
  return text;
}

std::string Vault::Impl::ObjectBinding::Ad() const {
  return fmt::format("dossier-object-key-v2:{}:{}:{}:{}:{}:{}", object_id, doc_id, case_id,
                     patient_id, size, stored_size);
}

Result<Bytes> Vault::Impl::WrapObjectKey(const ObjectBinding& b, const SecureBuffer& data_key) {
  DOSSIER_ASSIGN_OR_RETURN(auto keys, Keys(b.patient_id));
  return internal::Seal(keys->wrap, data_key.span(), b.Ad());
}

Result<SecureBuffer> Vault::Impl::UnwrapObjectKey(const ObjectBinding& b, const Bytes& wrapped) {
  DOSSIER_ASSIGN_OR_RETURN(auto keys, Keys(b.patient_id));
  auto key = internal::Open(keys->wrap, wrapped, b.Ad());
  if (!key.ok()) {
    return Corrupt(
        fmt::format("the catalog row of document {} was altered: its data key does "
                    "not open (object {})",
                    b.doc_id, b.object_id));
  }
  return key;
}

Status Vault::Impl::CheckpointWal(int wait_ms) {
  // While it waits, an ingest batch of another process commits and lets go (vault_lock.h).
  struct Signal {
    internal::VaultLock* lock;
    ~Signal() {
      if (lock != nullptr) lock->EndWriteWait();
    }
  } signal{wait_ms > 0 ? &lock_ : nullptr};
  if (signal.lock != nullptr) lock_.BeginWriteWait();
  for (int waited = 0;; waited += 100) {
    DOSSIER_ASSIGN_OR_RETURN(bool done, db_.TryTruncateWal());
    if (done) return Status::Ok();
    if (waited >= wait_ms) {
      return IoError(
          "another dossier process is using the vault and holds old catalog pages; the "
          "erasure is recorded and finishes when it lets go (the next dossier command that "
          "opens the vault tries again)");
    }
    ::usleep(100 * 1000);
  }
}

Status Vault::Impl::SealPatientRows(const std::string& patient_id) {
  using internal::RowTable;
  const std::vector<std::string> id{patient_id};
  constexpr const char* kDocs = "(SELECT id FROM documents WHERE patient_id = ?1)";
  constexpr const char* kCases = "(SELECT id FROM cases WHERE patient_id = ?1)";
  DOSSIER_RETURN_IF_ERROR(SealRows(RowTable::kPatients, "id = ?1", id));
  DOSSIER_RETURN_IF_ERROR(SealRows(RowTable::kCases, "patient_id = ?1", id));
  DOSSIER_RETURN_IF_ERROR(SealRows(RowTable::kDocuments, "patient_id = ?1", id));
  DOSSIER_RETURN_IF_ERROR(SealRows(RowTable::kPages, std::string("doc_id IN ") + kDocs, id));
  DOSSIER_RETURN_IF_ERROR(
      SealRows(RowTable::kDocumentWarnings, std::string("doc_id IN ") + kDocs, id));
  DOSSIER_RETURN_IF_ERROR(
      SealRows(RowTable::kDicomStudies, std::string("case_id IN ") + kCases, id));
  DOSSIER_RETURN_IF_ERROR(
      SealRows(RowTable::kDicomSeries, std::string("case_id IN ") + kCases, id));
  DOSSIER_RETURN_IF_ERROR(
      SealRows(RowTable::kDicomInstances, std::string("doc_id IN ") + kDocs, id));
  return SealRows(RowTable::kConsents, "patient_id = ?1", id);
}

Status Vault::Impl::FoldUnlockFailures() {
  // Held by this process alone until removed: each failure is folded once, even when several
  // processes open the vault at the same time.
  DOSSIER_ASSIGN_OR_RETURN(auto claim, internal::UnlockFailuresClaim::Take(dir_));
  if (!claim) return Status::Ok();
  const auto& failures = claim->failures();
  if (!failures) return claim->Remove(dir_);
  // Committed before the record goes: a crash in between counts these failures twice,
  // never zero times.
  AuditEvent e;
  e.action = "vault.unlock_failed";
  e.objects = {vault_id_};
  e.outcome = "refused";
  e.reason = StatusCodeId(StatusCode::kAuthFailed);
  e.purpose = failures->Describe();
  DOSSIER_RETURN_IF_ERROR(AuditAlone(std::move(e)));
  return claim->Remove(dir_);
}

Result<std::set<std::string>> Vault::Impl::LiveObjects() {
  std::set<std::string> live;
  // An erased or removed document's object is an orphan too: erasure and removal delete it
  // after their commit, and a crash in between leaves it to the sweep.
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           Conn().Prepare("SELECT object_id FROM documents WHERE status = 'stored' "
                                          "UNION SELECT scan_object_id FROM consents WHERE "
                                          "scan_wrapped_key IS NOT NULL "
                                          "UNION SELECT r.object_id FROM renditions r JOIN "
                                          "documents d ON d.id = r.doc_id WHERE "
                                          "d.status = 'stored'"));
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return live;
    live.insert(s.Text(0));
  }
}

Status Vault::Impl::SweepOrphans(bool alone) {
  // Not alone, what another process writes may not be committed yet: it commits within
  // minutes (a batch every batch_max_seconds), so what is older belongs to no live write.
  std::optional<int64_t> older_than;
  if (!alone) older_than = ::time(nullptr) - int64_t{options_.orphan_min_age_seconds};
  objects_.WaitForWrites();
  DOSSIER_RETURN_IF_ERROR(objects_.SweepTemp(older_than).status());
  DOSSIER_ASSIGN_OR_RETURN(std::vector<std::string> names, dir_.List(""));
  for (const std::string& name : names) {  // vault.key.tmp_…, audit.pub.tmp_…: made alone
    if (name.rfind("vault.key.tmp_", 0) == 0 || name.rfind("vault.key.new.tmp_", 0) == 0 ||
        name.rfind("audit.pub.tmp_", 0) == 0) {
      (void)dir_.Remove(name);
    }
  }
  DOSSIER_ASSIGN_OR_RETURN(auto listing, objects_.ListObjects());
  const auto& present = listing.objects;
  if (present.empty()) return Status::Ok();
  DOSSIER_ASSIGN_OR_RETURN(std::set<std::string> known, LiveObjects());
  for (const auto& id : present) {
    if (known.count(id) != 0) continue;
    if (older_than) {
      DOSSIER_ASSIGN_OR_RETURN(auto written, objects_.ModifiedAt(id));
      if (!written || *written >= *older_than) continue;
    }
    DOSSIER_RETURN_IF_ERROR(objects_.Remove(id));
    swept_.push_back(id);
  }
  return Status::Ok();
}

Status Vault::Create(const fs::path& dir_arg, std::string_view passphrase, const Actor& actor,
                     const VaultOptions& options) {
  fs::path dir = dir_arg.lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "v2/" names the folder v2
  EnsureSodium();
  DOSSIER_RETURN_IF_ERROR(CheckActorName(actor.name));
  if (options.kdf_opslimit < internal::kMinKdfOps || options.kdf_memlimit < internal::kMinKdfMem) {
    return InvalidArgument("Argon2id cost below libsodium's MODERATE is not allowed");
  }
  if (passphrase.size() < 8) {
    return InvalidArgument("the passphrase is too short: use at least 8 characters");
  }
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    return Rejected(fs::exists(internal::KeyFilePath(dir), ec)
                        ? "a vault already exists at " + dir.string()
                        : dir.string() + " exists and is not empty: choose a new folder");
  }
  // Build the vault beside its final place and rename it in, so a crash never leaves a
  // half-made vault at `dir`.
  const fs::path parent = fs::absolute(dir).parent_path();
  fs::create_directories(parent, ec);
  const fs::path staging = parent / ("." + dir.filename().string() + "." + RandomId("init", 6));
  if (!fs::create_directory(staging, ec)) {
    return IoError("cannot create " + staging.string() + ": " + ec.message());
  }
  fs::permissions(staging, fs::perms::owner_all, ec);
  auto cleanup = [&] { fs::remove_all(staging, ec); };
  auto staged_dir = internal::VaultDir::Open(staging);
  if (!staged_dir.ok()) {
    cleanup();
    return staged_dir.status();
  }

  auto impl = std::make_unique<Impl>(*staged_dir, actor, options);
  impl->vault_id_ = RandomId("vlt", 12);
  impl->master_key_ = SecureBuffer::Random(internal::kKeyBytes);
  impl->signing_.vault_id = impl->vault_id_;
  impl->signing_.secret = SecureBuffer(crypto_sign_SECRETKEYBYTES);
  Bytes pk(crypto_sign_PUBLICKEYBYTES);
  crypto_sign_keypair(pk.data(), impl->signing_.secret.data());
  const internal::VaultDir& vd = impl->dir_;

  Status st = [&]() -> Status {
    auto w = impl->Write();
    DOSSIER_ASSIGN_OR_RETURN(KeyFile kf,
                             internal::SealMaster(impl->vault_id_, passphrase, impl->master_key_,
                                                  options.kdf_opslimit, options.kdf_memlimit));
    DOSSIER_RETURN_IF_ERROR(
        vd.WriteDurably(internal::kKeyFile, AsBytes(internal::EncodeKeyFile(kf))));
    DOSSIER_ASSIGN_OR_RETURN(impl->db_, internal::OpenCatalog(vd, Db::Mode::kReadWriteCreate));
    DOSSIER_RETURN_IF_ERROR(ConfigureCatalog(impl->db_));
    DOSSIER_RETURN_IF_ERROR(internal::Migrate(impl->db_));
    DOSSIER_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(impl->db_));
    DOSSIER_RETURN_IF_ERROR(InsertMeta(impl->db_, "vault_id", impl->vault_id_));
    DOSSIER_RETURN_IF_ERROR(InsertMeta(impl->db_, "created_at", impl->Now()));
    DOSSIER_RETURN_IF_ERROR(InsertMeta(impl->db_, "audit_public_key", ToHex(pk)));
    std::vector<std::string> marks;
    DOSSIER_RETURN_IF_ERROR(impl->SealNewSecrets(&marks));
    DOSSIER_RETURN_IF_ERROR(internal::InitHead(impl->db_, impl->signing_));
    std::string purpose;
    for (const auto& m : marks) purpose += (purpose.empty() ? "" : "; ") + m;
    DOSSIER_RETURN_IF_ERROR(impl->Audit("vault.create", {impl->vault_id_}, "", "ok", purpose));
    DOSSIER_RETURN_IF_ERROR(tx->Commit());
    DOSSIER_RETURN_IF_ERROR(impl->db_.Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
    impl->db_ = Db();
    DOSSIER_RETURN_IF_ERROR(vd.WriteDurably(internal::kAuditKey, AsBytes(ToHex(pk) + "\n")));
    DOSSIER_RETURN_IF_ERROR(impl->objects_.Prepare());
    DOSSIER_RETURN_IF_ERROR(vd.WriteDurably(internal::kLock, {}));
    DOSSIER_RETURN_IF_ERROR(internal::ApplySharing(
        vd,
        options.share_with_group ? internal::Sharing::kGroupReadable
                                 : internal::Sharing::kOwnerOnly,
        options.share_with_group ? std::optional<gid_t>(*options.share_with_group) : std::nullopt));
    DOSSIER_RETURN_IF_ERROR(vd.SyncDir());
    if (fs::exists(dir, ec)) fs::remove(dir, ec);  // empty, checked above
    if (::rename(staging.c_str(), dir.c_str()) != 0) {
      return ErrnoError("cannot move the new vault into", dir.string(), errno);
    }
    return SyncDir(parent);
  }();
  if (!st.ok()) cleanup();
  return st;
}

Result<std::unique_ptr<Vault>> Vault::Open(const fs::path& dir, std::string_view passphrase,
                                           const Actor& actor, const VaultOptions& options,
                                           OpenMode mode) {
  EnsureSodium();
  DOSSIER_RETURN_IF_ERROR(CheckActorName(actor.name));
  DOSSIER_RETURN_IF_ERROR(internal::CheckIsVault(dir));
  DOSSIER_ASSIGN_OR_RETURN(internal::VaultDir vd, internal::VaultDir::Open(dir));
  DOSSIER_RETURN_IF_ERROR(internal::CheckFolder(vd, true).status());
  for (int attempt = 1;; ++attempt) {
    auto impl = std::make_unique<Impl>(vd, actor, options);  // lets go of the lock on errors
    DOSSIER_ASSIGN_OR_RETURN(bool opened, impl->Unlock(passphrase, mode));
    if (opened) return std::unique_ptr<Vault>(new Vault(std::move(impl)));
    if (attempt == 3) {
      return IoError("the key of the vault at " + dir.string() +
                     " kept changing while it was opened (`dossier vault passwd` in other "
                     "processes): run the command again");
    }
  }
}

Result<bool> Vault::Impl::Unlock(std::string_view passphrase, OpenMode mode) {
  DOSSIER_ASSIGN_OR_RETURN(lock_, internal::VaultLock::Open(dir_, options_.on_wait));
  // Whatever changes the key files (a rotation, settling one) holds the lock exclusively, so
  // under the shared lock they hold still while the passphrase is tried.
  DOSSIER_RETURN_IF_ERROR(lock_.Shared());
  DOSSIER_ASSIGN_OR_RETURN(KeyFile kf, internal::ReadKeyFile(dir_));
  // A rotation interrupted after it staged its key file: the passphrase may be the new one
  // (whether that rotation committed is decided below, from the catalog).
  std::optional<KeyFile> staged;
  DOSSIER_ASSIGN_OR_RETURN(auto staged_stat, dir_.Stat(internal::kStagedKeyFile));
  if (staged_stat) {
    const auto path = dir_.PathOf(internal::kStagedKeyFile);
    DOSSIER_ASSIGN_OR_RETURN(std::string text, dir_.ReadSmall(internal::kStagedKeyFile, 64 << 10));
    DOSSIER_ASSIGN_OR_RETURN(staged, internal::ParseKeyFile(text, path.string()));
    if (staged->vault_id != kf.vault_id) {
      return Corrupt(path.string() + " belongs to vault " + staged->vault_id + ", not " +
                     kf.vault_id + ": remove it");
    }
  }
  // Nothing in the vault but the record of failed unlocks is written before the passphrase
  // is proven right.
  // nullopt: the passphrase does not open `k`.
  auto unseal = [&](const KeyFile& k) -> Result<std::optional<SecureBuffer>> {
    DOSSIER_ASSIGN_OR_RETURN(SecureBuffer kek,
                             internal::DeriveKek(passphrase, k.salt, k.opslimit, k.memlimit));
    auto m = internal::Open(kek, k.sealed_master, internal::MasterKeyAd(k.vault_id));
    if (!m.ok()) return std::optional<SecureBuffer>();
    return std::optional<SecureBuffer>(std::move(m).value());
  };
  bool from_staged = false;
  DOSSIER_ASSIGN_OR_RETURN(std::optional<SecureBuffer> master, unseal(kf));
  if (!master && staged) {
    DOSSIER_ASSIGN_OR_RETURN(master, unseal(*staged));
    from_staged = master.has_value();
  }
  if (!master) {
    // The one exception: the time of the failure, for the next unlock to put on record. A
    // folder we cannot write to does not hide the wrong passphrase.
    const Clock& clock = options_.clock ? *options_.clock : Clock::System();
    (void)internal::RecordUnlockFailure(dir_, FormatUtc(clock.Now()));
    return AuthFailed("wrong passphrase for the vault at " + dir_.path().string());
  }
  master_key_ = std::move(*master);
  vault_id_ = kf.vault_id;

  // Alone, this open does the upkeep that must run alone; the try lets go of the shared lock
  // for a moment, and so does waiting for the vault alone below: a rotation that ran then
  // replaced vault.key, and this open starts again.
  auto key_file_unchanged = [&]() -> Result<bool> {
    DOSSIER_ASSIGN_OR_RETURN(KeyFile now, internal::ReadKeyFile(dir_));
    return now.vault_id == kf.vault_id && now.salt == kf.salt &&
           now.sealed_master == kf.sealed_master;
  };
  auto w = Write();  // the unlock writes: the sweep, an upgrade, folded failures
  DOSSIER_ASSIGN_OR_RETURN(bool alone, lock_.TryExclusive(internal::kOpeningNote));
  DOSSIER_ASSIGN_OR_RETURN(bool unchanged, key_file_unchanged());
  if (!unchanged) return false;
  DOSSIER_ASSIGN_OR_RETURN(db_, internal::OpenCatalog(dir_, Db::Mode::kReadWrite));
  db_.SetBusyPolicy(BusyPolicyFor(true));
  DOSSIER_RETURN_IF_ERROR(ConfigureCatalog(db_));
  DOSSIER_RETURN_IF_ERROR(internal::CheckSchema(db_));
  DOSSIER_ASSIGN_OR_RETURN(std::string catalog_id, internal::ReadMeta(db_, "vault_id"));
  if (catalog_id != kf.vault_id) {
    return Corrupt(fmt::format("the catalog belongs to vault {} but the key file to {}", catalog_id,
                               kf.vault_id));
  }
  DOSSIER_ASSIGN_OR_RETURN(std::optional<AloneWork> work, WorkThatMustRunAlone());
  if (work) {  // already alone: it says what it does now
    DOSSIER_RETURN_IF_ERROR(lock_.Exclusive(work->note, work->why));
    alone = true;
    DOSSIER_ASSIGN_OR_RETURN(unchanged, key_file_unchanged());
    if (!unchanged) return false;
  }
  DOSSIER_RETURN_IF_ERROR(internal::Migrate(db_));
  DOSSIER_RETURN_IF_ERROR(FinishRotation(from_staged));
  DOSSIER_RETURN_IF_ERROR(LoadSecrets());
  DOSSIER_RETURN_IF_ERROR(FoldUnlockFailures());
  if (!row_key_.empty()) journal_ = internal::AuditJournal(dir_, JournalKey());
  DOSSIER_RETURN_IF_ERROR(FoldLeftJournals());
  DOSSIER_RETURN_IF_ERROR(objects_.Prepare());
  if (mode == OpenMode::kNormal) {
    DOSSIER_RETURN_IF_ERROR(SweepOrphans(alone));
    (void)CheckpointWal(0);  // finishes an erasure a reader had held up; best effort
  }
  DOSSIER_RETURN_IF_ERROR(lock_.Downgrade());
  return true;
}

internal::BusyPolicy Vault::Impl::BusyPolicyFor(bool writer) {
  internal::BusyPolicy busy;
  busy.limit = std::chrono::milliseconds(options_.busy_limit_ms);
  if (writer) {  // a batch of another process yields to it (FlushBatchIfFull)
    busy.begin = [this] { lock_.BeginWriteWait(); };
    busy.end = [this] { lock_.EndWriteWait(); };
  }
  busy.holders = [this] { return internal::VaultLock::DescribeProcesses(lock_.OtherHolders()); };
  busy.long_wait = [this, writer] {
    if (!options_.on_wait) return;
    options_.on_wait(
        "waiting for " + internal::VaultLock::DescribeProcesses(lock_.OtherHolders()) +
        (writer ? " to finish writing to the vault…" : " to let the catalog be read…"));
  };
  return busy;
}

Result<std::optional<Vault::Impl::AloneWork>> Vault::Impl::WorkThatMustRunAlone() {
  auto must = [](const char* note, const char* why) {
    return std::optional<AloneWork>(AloneWork{note, why});
  };
  DOSSIER_ASSIGN_OR_RETURN(bool behind, internal::SchemaBehind(db_));
  if (behind) return must("schema upgrade", "a schema upgrade must run alone");
  std::set<std::string> present;
  {
    DOSSIER_ASSIGN_OR_RETURN(Stmt s, db_.Prepare("SELECT key FROM meta WHERE key IN (?, ?, ?)"));
    s.Bind(1, internal::kPendingKeyFile)
        .Bind(2, internal::kRowMacKey.meta_key)
        .Bind(3, internal::kContentMacKey.meta_key);
    for (;;) {
      DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      present.insert(s.Text(0));
    }
  }
  DOSSIER_ASSIGN_OR_RETURN(auto staged, dir_.Stat(internal::kStagedKeyFile));
  if (staged || present.count(internal::kPendingKeyFile) != 0) {
    return must("finishing an interrupted key rotation",
                "an interrupted key rotation must be finished alone");
  }
  if ((present.count(internal::kRowMacKey.meta_key) == 0 && !options_.legacy_without_row_macs) ||
      (present.count(internal::kContentMacKey.meta_key) == 0 && !options_.legacy_derived_secrets)) {
    return must("vault upgrade", "the one-time upgrade of this vault must run alone");
  }
  return std::optional<AloneWork>();
}

Status Vault::Impl::CheckStillCurrent() {
  DOSSIER_ASSIGN_OR_RETURN(bool behind, internal::SchemaBehind(db_));
  auto id = internal::ReadMeta(db_, "master_key_id");
  if (behind || (id.ok() && *id != internal::MasterKeyId(master_key_))) {
    return Rejected(
        "another dossier process changed the vault's passphrase or upgraded it while this one "
        "waited: nothing was changed; run the command again");
  }
  return Status::Ok();
}

Vault::Vault(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
// Called by one thread, after every other thread is done with the vault.
Vault::~Vault() = default;

const std::string& Vault::id() const { return impl_->vault_id_; }
const std::vector<std::string>& Vault::swept_orphans() const { return impl_->swept_; }

Status Vault::RecordUnconfinedWorkersAllowed() {
  DOSSIER_ASSIGN_OR_RETURN(auto r, impl_->Read());
  return impl_->AuditAlone("worker.unconfined-allowed", {impl_->vault_id_}, "");
}

Status Vault::ChangePassphrase(std::string_view new_passphrase) {
  if (new_passphrase.size() < 8) {
    return InvalidArgument("the new passphrase is too short: use at least 8 characters");
  }
  auto w = impl_->Write();
  return impl_->RotateMasterKey(new_passphrase);
}

}  // namespace dossier::vault
