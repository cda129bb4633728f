// The vault: an encrypted, audited store of patients, cases and documents.
//
//   dossier::vault::Vault::Create(dir, passphrase, actor);
//   auto v = dossier::vault::Vault::Open(dir, passphrase, actor);
//   auto pid = (*v)->AddPatient({.name = "…", .birth_date = "1980-02-01"});
//   auto cid = (*v)->OpenCase(*pid, "second opinion");
//   auto w = (*v)->BeginDocument({.case_id = *cid, .name = "scan.pdf", .kind = "pdf"});
//   (*w)->Write(bytes); auto stored = (*w)->Commit();
//   (*v)->ReadDocument(stored->doc_id, sink);
//
// Keys: passphrase → Argon2id → key-encryption key → master key → one key per patient →
// one data key per object and a field key for catalog columns (doc/FORMAT.md). Every call
// that reads or changes personal data appends an audit event in the same SQLite transaction.
// Any number of processes may have one vault open at once (a server, CLI commands, `audit
// verify`): an open Vault holds a shared lock on its folder, and SQLite serialises their writes
// (WAL, a busy handler with backoff). The lock is taken exclusively only for what must run
// alone — a schema upgrade, settling an interrupted key rotation, ChangePassphrase — and a
// call that waits for it says so through VaultOptions::on_wait (doc/FORMAT.md §Lock file).
// Errors carry ids, never personal data.
//
// Threads. A Vault may be shared by any number of threads of one process:
//  - Reads and listings (List*, Get*, Find*, Search, ReadDocument, ExportDocumentToFile,
//    RecordFailure, Verify …) run concurrently from any number of threads, each through a
//    read-only SQLite connection of its own (opened at the thread's first read, kept until
//    the thread ends, closed with the vault), so they never wait for a writer: they see what
//    was committed when each statement ran. (Verify holds the writer while it lists objects.)
//    A case's listing is kept, checked and decrypted, while nothing in the case changes
//    (ListDocuments; doc/FORMAT.md §Case changes), and shared by the threads that list it.
//  - Writes (Add*, Edit*, Set*, Infer*, Open/Close/ReopenCase, Move, Remove, Erase*,
//    Revoke*, RecordExport, BeginDocument, DocumentWriter::Commit …) run one at a time, in
//    the order they come, through one writer connection; a thread waits for the write before
//    it, never fails because of it. DocumentWriters of several threads may Write at once.
//  - The audit events of reads (and of refusals) are group-committed: events recorded by many
//    threads at once are appended in one transaction under one signed head, committed at once
//    when the vault is idle. Each call returns once its own event is durable, and no
//    plaintext leaves before that. Such events never join an ingest batch, and never commit
//    one: while a batch's transaction is open they are made durable in the audit journal and
//    go into the log with the batch's next commit (doc/FORMAT.md §Audit journal), so a batch
//    rolled back loses only its own documents and events.
//  - A batch (BeginBatch … CommitBatch) belongs to the thread that opened it: that thread
//    stores its documents (BeginDocument, DocumentWriter::Write and Commit) and its other
//    calls see the batch's uncommitted rows. One batch at a time: another thread's BeginBatch
//    waits until the open one ends. Another thread's write first commits the open batch's
//    work so far, and never joins it.
//  - A DocumentWriter is used by one thread. ChangePassphrase, Open and the destructor need
//    the vault to themselves: call them while no other thread uses it.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/category.h"
#include "common/clock.h"
#include "common/content_digest.h"
#include "common/file_io.h"
#include "common/secure_buffer.h"
#include "common/status.h"
#include "vault/audit.h"

namespace dossier::vault {

namespace fs = std::filesystem;

// Who acts. The name is what they claim (`--actor`); every audit event also records the
// operating-system user the process runs as, which the vault finds itself. Create and Open
// refuse a name an event cannot carry (vault/audit.h CheckActorName): kInvalidArgument.
struct Actor {
  std::string name;               // recorded in every audit event
  std::string role = "operator";  // the CLI acts as the operator
};

struct VaultOptions {
  // Argon2id cost for the passphrase. Defaults are libsodium's MODERATE (3 passes, 256 MiB,
  // about a second); lower values are refused.
  uint64_t kdf_opslimit = 3;
  size_t kdf_memlimit = size_t{256} << 20;
  // Plaintext bytes per secretstream chunk of an object (64 KiB). Memory per open stream is
  // about this plus a 1 MiB write buffer, whatever the object's size.
  size_t chunk_size = 64 * 1024;
  // A batch (Vault::BeginBatch) commits by itself after this many documents or bytes, so a
  // crash loses at most that much work and the open transaction stays small.
  size_t batch_max_documents = 512;
  uint64_t batch_max_bytes = uint64_t{512} << 20;
  // ... and after this many seconds (checked after each document and each analysis), so what
  // a live process stores is committed within minutes and an orphan sweep by another process
  // can tell it from what a dead one left (orphan_min_age_seconds).
  uint32_t batch_max_seconds = 60;
  // A batch that has held the catalog's write lock for this long commits early when another
  // process waits to write (a `docs` beside a long ingest waits about one document, not the
  // whole batch), and lets that process in before it goes on.
  uint32_t batch_yield_after_ms = 100;
  // How long a statement waits for another process that holds the catalog's write lock
  // before it fails (kIoError naming the processes that have the vault open): 10 minutes.
  uint32_t busy_limit_ms = 10 * 60 * 1000;
  // While other processes have the vault open, an unreferenced object or temp file is
  // deleted at open only once it is this old (1 hour): younger, it may be another process's
  // work that is not committed yet. Alone, every one is.
  uint32_t orphan_min_age_seconds = 3600;
  // Told, once per wait, when a call waits for another process: "waiting for another dossier
  // process (pid 1234: key rotation (vault passwd)) to finish…", "waiting for 2 other dossier
  // processes (pids 1201, 1305) to close the vault: a key rotation must run alone". The CLI
  // prints it on stderr; the library never prints. Called on the waiting thread; null: quiet.
  std::function<void(const std::string& message)> on_wait;
  // Fault injection for tests: called before each batch commit; an error fails the commit
  // as a full disk would. Null in production.
  std::function<Status()> batch_commit_fault;
  // Create only: the group (gid) whose members may read the catalog and audit.pub to verify
  // the audit log without the passphrase (`dossier init --group`); unset: the owner only.
  std::optional<uint32_t> share_with_group;
  // Tests only: create and use the vault as versions before row MACs did (no row key, no
  // row MACs written or checked), to test the upgrade at the first normal unlock.
  bool legacy_without_row_macs = false;
  // Tests only: create and use the vault as versions before the sealed secrets did (the
  // content-MAC key derived from the master key, the audit signing key sealed under a
  // subkey of it), to test their migration at the first normal unlock.
  bool legacy_derived_secrets = false;
  // Tests only: called at each step of a key rotation ("sealed", "staged", "rewrapped"
  // (inside the transaction), "committed", "key file written", "done"; doc/FORMAT.md §Key rotation)
  // so a test can kill the process there. Null in production.
  std::function<void(std::string_view step)> rotation_step;
  // Tests only: write audit events in canonical encoding 1, as versions before the
  // operating-system user was recorded did, to test that such a log still verifies.
  bool legacy_audit_encoding_v1 = false;
  // Fault injection for tests: called before each audit event is appended; an error fails
  // the event, and the call that records it, as a full disk would. Null in production.
  std::function<Status()> audit_fault;
  // Tests only: called as a group of events recorded alone begins its commit (the writer
  // held), so that a test can hold it up while other events queue. Null in production.
  std::function<void()> audit_group_hook;
  // Fault injection for tests: called before each write to the audit journal; an error makes
  // the group commit instead, as a journal that cannot be written does. Null in production.
  std::function<Status()> journal_fault;
  // Tests only: called by every password hash or verification for this vault while it holds
  // one of the process's two hashing slots (Accounts), before it hashes. Null in production.
  std::function<void()> password_hash_hook;
  // Benchmarks and tests: false commits each event recorded alone (reads, listings,
  // refusals) in a transaction of its own, with its own fsync and signed head, one after the
  // other, as before group commit. Default true: the events recorded by many threads at
  // once share one commit (vault.h §Threads).
  bool group_audit_events = true;
  // While another thread's ingest batch is open, such events never commit it: a group is made
  // durable in the audit journal (doc/FORMAT.md §Audit journal), and the batch's next commit
  // folds it into the log. Beside a batch, groups are written at most this often, each taking
  // the events that arrived meanwhile, so that many readers back to back leave the cores to
  // the ingest. The most a read waits for its turn beside an ingest.
  int audit_batch_gap_ms = 10;
  // Clock for timestamps (tests fix it); null means the system clock.
  const Clock* clock = nullptr;
};

enum class OpenMode {
  kNormal,  // sweeps leftovers of interrupted writes (temp files, orphan objects; while other
            // processes have the vault open, only those older than orphan_min_age_seconds)
  kVerify,  // leaves them, so Verify() can report them
};

struct PatientInfo {
  std::string name;
  std::string birth_date;  // YYYY-MM-DD
  std::string phone;
  std::string email;
};

// The rules a patient's fields follow, checked by AddPatient and EditPatient and by the CLI
// before it unlocks. `field` is "name", "birth_date", "phone" or "email"; `today` is
// YYYY-MM-DD. Returns "" when `value` is acceptable, else the rule it breaks as a predicate
// ("must not be in the future (today is 2026-11-22)") that never repeats the value, which is
// personal data. Phone and e-mail may be empty.
//   name        one line of 1 to 200 characters
//   birth_date  a real date written YYYY-MM-DD, from 1900-01-01 to today
//   phone       an optional leading +, then 7 to 15 digits, grouped by spaces, hyphens or
//               parentheses if wished ("+7 (900) 123-45-67")
//   email       one @, a dot in the domain, no spaces, at most 254 bytes
std::string PatientFieldRule(std::string_view field, std::string_view value,
                             std::string_view today);
// The e-mail rule above (clinics follow it too).
bool IsEmailAddress(std::string_view text);

// What `patient edit` changes: fields left unset stay as they are; "" removes a phone or
// e-mail.
struct PatientChanges {
  std::optional<std::string> name, birth_date, phone, email;
};

// How AddPatient treats a live patient with the same name (case and white space aside) and
// birth date.
enum class SamePatient {
  kRefuse,  // kRejected naming that patient's id; nothing stored
  kAllow,   // added all the same; their ids returned and recorded in the `patient.add` event
};
struct AddedPatient {
  std::string id;
  std::vector<std::string> same_as;  // live patients with the same name and birth date
};

// What `case edit` changes: unset stays; "" removes the question (the goal cannot be empty).
struct CaseChanges {
  std::optional<std::string> goal, question;
};

struct PatientRecord {
  std::string id;
  std::string created_at;
  bool erased = false;
  std::string erased_at;
  PatientInfo info;  // empty when erased
};

struct CaseRecord {
  std::string id;
  std::string patient_id;
  std::string created_at;
  std::string status;  // open | closed (no documents can be added) | erased
  std::string goal;    // empty when the patient was erased
  std::string question;
  // What is filed in the case, counted as `docs` counts it: documents other than DICOM, and
  // DICOM instances (shown by `docs` grouped as series).
  int64_t documents = 0;
  int64_t dicom_instances = 0;
};

// Content kinds a document can have (decided by ingest from the bytes, not the name).
struct DocumentRecord {
  std::string id;
  std::string case_id;
  std::string patient_id;
  std::string object_id;
  std::string name;  // original file name; empty when erased
  std::string kind;
  std::string category;
  std::string category_source;  // default | inferred | manager | reply (CategoryRecord)
  std::string category_reason;  // our fixed words: why it was inferred
  std::string status;           // stored | removed | erased
  std::string added_at;
  uint64_t size = 0;         // plaintext bytes
  uint64_t stored_size = 0;  // bytes on disk
  std::string verdict;       // the OCR check's, worst page's (doc/OCR.md); empty: not analysed
  int pages = 0;             // pages in the document, once analysed
  std::string series_id;     // "ser_…" when it is an instance of a DICOM series
  // A removed document (`status` removed): when, and the manager's reason (decrypted; it may
  // be personal: show it to the operator only, never in an error or a log).
  std::string removed_at;
  std::string removal_reason;
  // What its upload said about it (AddWarnings), decrypted; empty when erased.
  std::vector<std::string> warnings;
  // Its rendition (StoreRendition) — "jpeg": a HEIC photo's JPEG copy — and its size; ""
  // when it has none.
  std::string rendition;
  uint64_t rendition_size = 0;
};

// Which of a document's objects a read decrypts: the document as uploaded, or its
// rendition (StoreRendition).
enum class DocumentCopy { kAsUploaded, kRendition };

// A case's documents as ListDocuments gives them, in the order stored: read-only and shared,
// so that a listing kept in memory is given to many threads without a copy. Converts to a
// std::vector (a copy) where one is needed.
class DocumentList {
 public:
  using Records = std::vector<DocumentRecord>;
  explicit DocumentList(std::shared_ptr<const Records> records) : records_(std::move(records)) {}
  Records::const_iterator begin() const { return records_->begin(); }
  Records::const_iterator end() const { return records_->end(); }
  size_t size() const { return records_->size(); }
  bool empty() const { return records_->empty(); }
  const DocumentRecord& operator[](size_t i) const { return (*records_)[i]; }
  const DocumentRecord& front() const { return records_->front(); }
  const DocumentRecord& back() const { return records_->back(); }
  operator const Records&() const { return *records_; }  // NOLINT: a copy where one is needed
  // The same for two lists while one of them is held: the vault gave the listing it keeps,
  // so nothing the listing shows changed in the case between them (doc/FORMAT.md §Case
  // changes).
  const void* identity() const { return records_.get(); }

 private:
  std::shared_ptr<const Records> records_;
};

// The refusal to read a removed document: kRejected "doc_… was removed on DATE (reason shown
// by `docs --all`)". It never carries the reason itself.
Status DocumentRemoved(const std::string& doc_id, const std::string& removed_at);

// SHA-256 of a document's bytes (common/content_digest.h), used to find duplicates. Never
// stored: the catalog keeps only a keyed MAC of it (doc/FORMAT.md).
using ContentDigest = dossier::ContentDigest;

struct NewDocument {
  std::string case_id;
  std::string name;  // original file name or path inside the upload
  std::string kind;
  std::string category = "other";
  // The caller hashes the bytes itself (ingest's unpack workers do, on the other core): the
  // vault does not, and the writer must be committed with CommitWithDigest().
  bool digest_by_caller = false;
  // Non-empty: `category` was inferred (ingest/categorize.h), for this reason (our words).
  std::string category_reason;
  // Non-empty: the document is the clinic's reply to this request ("req_…", of the same
  // case; Vault::ReplyTarget). It is filed as `clinic-reply` (source `reply`, which ingest's
  // inference never overrides), linked to the request, and the request is marked answered
  // if it was not, with an `export.reply` event — all in the transaction that stores the
  // document. A duplicate of a document already in the case is not linked.
  std::string reply_to;
};

struct StoreOutcome {
  std::string doc_id;      // the stored document, or the one it duplicates
  bool duplicate = false;  // same bytes were already in the case: nothing new stored
  uint64_t size = 0;
};

// Streams one new document into the vault. Commit() makes the object durable, then records
// the catalog row and its audit event in one transaction. Destroying a writer that was not
// committed leaves nothing behind.
// The OCR check's result for one page of a document (doc/OCR.md).
struct PageRecord {
  int number = 0;         // 1-based
  std::string verdict;    // printed | mixed | handwritten | unreadable | blank
  double confidence = 0;  // 0–1
  int rotation = 0;       // how the page was turned, degrees clockwise
  std::string source;     // "text layer" | "ocr"
  std::string evidence;   // JSON object of the measurements behind the verdict: numbers only
  std::string text;       // the page's text (encrypted in the catalog); see GetPages
};

// A page whose text matches a search.
struct SearchHit {
  std::string doc_id;
  std::string name;  // the document's original file name
  int page = 0;
  std::string snippet;  // the match with some words around it, on one line
};

class DocumentWriter {
 public:
  virtual ~DocumentWriter() = default;
  virtual Status Write(std::span<const uint8_t> data) = 0;
  virtual Result<StoreOutcome> Commit() = 0;
  // For a writer begun with digest_by_caller: `digest` is ContentDigest of what was written.
  virtual Result<StoreOutcome> CommitWithDigest(const ContentDigest& digest) = 0;
};

// A stored DICOM document as ingest understood it (issue 5, doc/DICOM.md). The vault files it
// under its study and series, found by keyed MACs of the UIDs (no UID is stored in the
// clear); `summary` (dicom::ToJson) is sealed with the patient's field key.
struct DicomInstanceInfo {
  std::string study_uid, series_uid, instance_uid;
  int instance_number = 0;
  std::string summary;
  // Why the series may be another patient's ("" when nothing says so); our own words only,
  // never a name, since it is stored in the clear. Reasons are joined by " and "; the
  // series keeps every reason any of its instances gave (MergeReasons, common/text.h).
  std::string mismatch;
};

// One series of a case: the study and series come from the first instance filed under them.
struct DicomSeriesRecord {
  std::string id;        // "ser_…"
  std::string study_id;  // "stu_…"
  std::string summary;   // JSON of the series' first instance: patient, study and series
  std::string mismatch;  // as recorded at ingest
  bool has_preview = false;
  // Its instances, by instance number: document ids and their summaries (JSON).
  std::vector<std::string> doc_ids;
  std::vector<std::string> instance_summaries;
};

// What the caller, who reads DICOM, says about one instance of a series that moves to
// another patient: the vault keeps no UID in the clear and parses no DICOM, so it hands over
// the instance's summary (JSON, dicom::ToJson) and the new patient, and is told the UIDs
// (to file the series under that patient's UID-MAC key) and the wrong-patient check against
// that patient (dicom::PatientMismatch; "" when nothing says it is another patient's).
struct DicomRecheck {
  std::string study_uid, series_uid, instance_uid;
  std::string mismatch;
};
using DicomRecheckFn = std::function<Result<DicomRecheck>(const std::string& instance_summary,
                                                          const PatientInfo& to_patient)>;

struct MoveOutcome {
  std::string id;  // the document or series moved
  std::string from_case, to_case;
  std::string from_patient, to_patient;
  std::vector<std::string> doc_ids;  // every document that moved (a series' instances)
  bool series = false;
  std::string mismatch_before, mismatch;  // a series' wrong-patient flag before and after
};

struct RemoveOutcome {
  std::string id;  // the document or series removed
  std::string case_id, patient_id;
  std::vector<std::string> doc_ids;  // every document removed (a series' stored instances)
  bool series = false;
  std::string removed_at;
};

struct VerifyIssue {
  std::string doc_id;  // empty for orphans
  std::string object_id;
  std::string problem;  // missing | corrupt | size mismatch | orphan
  std::string detail;
};

struct VerifyReport {
  int64_t checked = 0;
  int64_t erased_skipped = 0;
  int64_t removed_skipped = 0;  // removed documents: their objects were deleted on purpose
  uint64_t bytes = 0;
  std::vector<VerifyIssue> issues;   // missing, corrupt, size mismatch
  std::vector<VerifyIssue> orphans;  // object files no catalog row refers to
  bool intact() const { return issues.empty(); }
};

using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

struct AuditCommitStats {
  uint64_t events = 0;   // events recorded alone and committed
  uint64_t commits = 0;  // transactions (each one fsync and one signed head) that held them
  uint64_t journaled_events = 0;  // events recorded alone beside a batch, into the journal
  uint64_t journal_writes = 0;    // the journal's writes (each one fdatasync) that held them
};

// The operator's settings (the company that coordinates the travel). Organisation data, not
// personal data: kept in the clear, covered by row MACs.
struct VaultSettings {
  std::string operator_name;     // the company, named in consents
  std::string operator_country;  // ISO 3166-1 alpha-2: a recipient elsewhere is cross-border
  std::string time_zone;         // IANA name; consent dates are calendar dates here
};

// A clinic: an organisation, not a person, so its fields are stored in the clear.
struct ClinicInfo {
  std::string name;     // unique, exact
  std::string country;  // ISO 3166-1 alpha-2, upper case
  std::string email;
  std::string note;
};
struct ClinicRecord {
  std::string id;  // "cli_…"
  std::string created_at;
  ClinicInfo info;
};

// A consent to process and transfer a patient's health data (152-FZ art. 9 part 4; HL7 FHIR
// R4 Consent). Never edited: revocation is recorded beside it.
struct NewConsent {
  std::string patient_id;
  std::string clinic_id;
  std::vector<Purpose> purposes;     // at least one
  std::vector<Category> categories;  // at least one
  std::string valid_from;            // YYYY-MM-DD, inclusive (default: today)
  std::string valid_until;           // YYYY-MM-DD, inclusive, not in the past
  std::string signed_how = "paper";  // paper | electronic
  std::string representative;        // "" : the patient signed; else with `authority`
  std::string authority;             // the document that authorises the representative
  std::vector<uint8_t> scan;         // the signed scan; empty: none
  std::string scan_kind;             // pdf | jpeg | png | tiff, with a scan
};
enum class ConsentState { kActive, kNotYetValid, kExpired, kRevoked };
std::string_view ToString(ConsentState s);
struct ConsentRecord {
  std::string id;  // "con_…"
  std::string patient_id, clinic_id;
  std::vector<Purpose> purposes;
  std::vector<Category> categories;
  std::string actions;  // "transfer,storage"
  std::string valid_from, valid_until, signed_how;
  std::string representative, authority;  // decrypted; empty when the patient signed
  bool has_scan = false;
  std::string scan_kind, scan_sha256_hex;
  uint64_t scan_size = 0;
  std::string recorded_by, recorded_at;
  std::string revoked_at, revocation_received, revocation_reason, destruction_due;
  // On `date` (YYYY-MM-DD): revoked wins, then the validity period.
  ConsentState StateOn(const std::string& date) const;
};

// One export to a clinic, in the request ledger (Clinic requests 2/3): what was sent, under
// which consent, and when the clinic's answer is due.
struct ExportPartRecord {
  std::string name;
  uint64_t size = 0;
  std::string sha256_hex;
};
struct ExportRequestRecord {
  std::string id;         // "req_…": what the clinic quotes
  std::string export_id;  // "exp_…": what the audit events of its reads name
  std::string case_id, patient_id, clinic_id, consent_id;
  Purpose purpose = Purpose::kSecondOpinion;
  bool urgent = false;
  bool inventory_only = false;
  std::vector<std::string> documents;  // ids sent
  std::vector<ExportPartRecord> parts;
  std::string actor, created_at;  // set by RecordExport
  // Set by RecordExport: 5 working days after the day sent (YYYY-MM-DD, vault time zone), or,
  // when urgent, 24 hours after (a UTC time).
  std::string due;
  // When the first reply was filed (UTC; "" until then), and that day in the vault's time
  // zone (computed when read, not stored). Later replies leave both as they are.
  std::string answered_at, answered_on;
  // The documents filed as the clinic's reply (NewDocument::reply_to), oldest first.
  std::vector<std::string> replies;
  // As of the end of `date` (YYYY-MM-DD, vault time zone) — for an urgent request, as of
  // `now` (UTC) when `date` is today: "answered" when answered on or before `date`, else
  // "overdue" once past its due date (time), else "sent". A request answered before it was
  // due is never overdue.
  std::string StateAsOf(const std::string& date, const std::string& today,
                        const std::string& now_utc) const;
};

// A document an export sent or a reply filed, as `export show` lists it: ids and plain
// catalog facts only, never a name (the catalog holds names sealed; `docs` shows them).
struct RequestDocumentRecord {
  std::string doc_id, kind, category;
  std::string status;     // stored | removed | erased
  std::string series_id;  // a DICOM instance's series ("ser_…"), else ""
  std::string filed_at;   // a reply: when it was filed (UTC)
};
struct ExportRequestDetail {
  ExportRequestRecord request;
  std::vector<RequestDocumentRecord> documents;  // sent, in the ledger's order
  std::vector<RequestDocumentRecord> replies;    // oldest first
};

// How a document's category was decided.
struct CategoryRecord {
  Category category = Category::kOther;
  std::string source;  // default | inferred | manager | reply (filed as a clinic's reply)
  std::string reason;  // our fixed words ("DICOM image", "first page says «выписной эпикриз»")
};

// --- Accounts (the people who log in to `dossier serve`; doc/FORMAT.md §Users) -------------
//
//   auto id = v->AddUser("anna@example.org", Role::kPatient, password, patient_id);
//   auto who = v->Authenticate("Anna@Example.org", typed);   // kAuthFailed, same for any miss
//   { ActingAs as(*v, {who->id, std::string(RoleName(who->role))}); v->ListCases(...); }
//
// A login name is personal data (it may be an e-mail address): the catalog keeps it sealed
// under a vault-wide key and finds it through a keyed MAC, never in the clear; errors and
// audit events name the user's id (usr_…), never the name. Names are compared byte for byte
// after lower-casing the ASCII letters A–Z (e-mail addresses are case-insensitive); no other
// folding. Passwords are hashed with Argon2id (crypto_pwhash_str, libsodium's INTERACTIVE
// cost: 2 passes, 64 MiB). At most two hashes (hashing or verifying) run at once in a process,
// whichever vault they are for: the others wait their turn, so a storm of logins costs at
// most 128 MiB, and waits rather than fails.
enum class Role { kPatient, kRepresentative, kManager, kCompliance, kAdmin };
// "patient", "representative", "manager", "compliance", "admin".
std::string_view RoleName(Role role);
// The role a name names; nullopt for anything else (case-sensitive).
std::optional<Role> ParseRole(std::string_view name);
// "patient|representative|manager|compliance|admin", for help and error messages.
std::string AllRoleNames();

// The rules AddUser checks, for the CLI to check before it unlocks (kInvalidArgument saying
// the rule, never repeating the value): a login name is 1 to 254 bytes of UTF-8 on one line,
// without control characters or a space at either end; a password has at least 12
// characters and at most 1024 bytes.
Status CheckUserName(const std::string& name);
Status CheckUserPassword(std::string_view password);

// What a representative may do for their one patient, as granted (each revocable).
struct Rights {
  bool view = false;     // see the patient's documents and verdicts
  bool upload = false;   // upload documents into the patient's cases
  bool replies = false;  // see the clinics' replies
  bool operator==(const Rights&) const = default;
};
// "view,upload,replies" (those granted, in that order), or "none".
std::string RightsText(const Rights& rights);
// The inverse: a comma-separated list of view, upload and replies, or "none"; nullopt for
// anything else (an unknown word, an empty list).
std::optional<Rights> ParseRights(std::string_view text);

struct UserRecord {
  std::string id;    // usr_…
  std::string name;  // login name, lower-cased as compared; "" once its patient was erased
  Role role = Role::kPatient;
  std::string patient_id;  // patient and representative: the one patient; else empty
  Rights rights;           // representative only
  bool disabled = false;
  std::string disabled_at;  // UTC, when disabled
  std::string created_at;
};

// How busy password hashing is in this process (for tests and monitoring).
struct PasswordHashLoad {
  int running = 0;  // hashes or verifications running now (at most 2)
  int waiting = 0;  // waiting for one of the two slots
  int peak = 0;     // the most that ever ran at once since the process started
};
PasswordHashLoad CurrentPasswordHashLoad();

class Vault {
 public:
  // Creates a new vault in `dir` (which must not exist or be empty).
  static Status Create(const fs::path& dir, std::string_view passphrase, const Actor& actor,
                       const VaultOptions& options = {});
  // Unlocks a vault. kAuthFailed on a wrong passphrase, with nothing in `dir` changed.
  // kCorrupt, before anything is read, when the folder or an entry in it is a symbolic link
  // or writable by group or others, or the folder belongs to another user.
  // Waits (saying so through on_wait) while another process holds the vault alone, and for
  // the other processes to close it when this open must upgrade the schema or settle an
  // interrupted rotation. Alone, it also sweeps what interrupted writes left (OpenMode).
  static Result<std::unique_ptr<Vault>> Open(const fs::path& dir, std::string_view passphrase,
                                             const Actor& actor, const VaultOptions& options = {},
                                             OpenMode mode = OpenMode::kNormal);
  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  const std::string& id() const;
  // Objects swept at open because no catalog row referred to them (interrupted ingests).
  const std::vector<std::string>& swept_orphans() const;

  // Records that the operator let analysis workers run unconfined this time
  // (`--allow-unconfined-workers`): audited as `worker.unconfined-allowed`, so a compliance
  // officer sees every run that weakened the confinement of hostile files.
  Status RecordUnconfinedWorkersAllowed();

  // Rotates the master key: a new random master key sealed under the new passphrase; every
  // patient key and every vault-wide secret rewrapped under it (never re-derived, so no
  // object, field or MAC changes), in one transaction with its `vault.passwd` event; then
  // vault.key is replaced. Afterwards neither the old passphrase nor an old copy of
  // vault.key opens the vault. A crash at any point leaves a vault that opens with exactly
  // one of the two passphrases (doc/FORMAT.md §Key rotation). kInvalidArgument for a
  // passphrase under 8 characters; kCorrupt if a wrapped key fails to open (nothing changed).
  // It runs alone: it waits (saying so through on_wait) until every other process has closed
  // the vault — another Vault open in this process too — and kRejected, nothing changed, if
  // another process changed the passphrase meanwhile.
  Status ChangePassphrase(std::string_view new_passphrase);

  // Adds a patient after checking every field (kInvalidArgument naming the field and its
  // rule) and looking for a live patient with the same name and birth date (names decrypted
  // in memory only), which `same` decides about. Audited as `patient.add` (objects: the new
  // id, then any same-looking patients' ids).
  Result<AddedPatient> AddPatient(const PatientInfo& info, SamePatient same);
  // The same without looking for the same patient (bulk loads, tests).
  Result<std::string> AddPatient(const PatientInfo& info);
  Result<std::vector<PatientRecord>> ListPatients();
  Result<PatientRecord> GetPatient(const std::string& patient_id);
  // Changes the given fields: each given value is checked (kInvalidArgument naming the
  // field), the changed ones are sealed again under the patient's key, and `patient.edit` is
  // recorded in the same transaction with purpose `changed=name,phone` (field names only).
  // Returns the fields whose value changed, in the order name, birth_date, phone, email;
  // empty when every given value equals the stored one, and then nothing is written or
  // recorded. kNotFound for an unknown id; kRejected when the patient was erased.
  Result<std::vector<std::string>> EditPatient(const std::string& patient_id,
                                               const PatientChanges& changes);
  // Erasure: destroys the patient's key, sets every sealed field, content MAC and UID MAC of
  // theirs to NULL and commits that with its audit event; then deletes every object file of
  // theirs and checkpoints the WAL. A crash after the commit leaves their files as orphans,
  // which the next open deletes. kIoError (the erasure itself done) if a file could not go.
  Status ErasePatient(const std::string& patient_id);

  Result<std::string> OpenCase(const std::string& patient_id, const std::string& goal,
                               const std::string& question = "");
  // kNotFound for an unknown patient.
  Result<std::vector<CaseRecord>> ListCases(const std::optional<std::string>& patient_id);
  Result<CaseRecord> GetCase(const std::string& case_id);
  // Goal and question, as EditPatient does for a patient: returns the changed fields ("goal",
  // "question"), empty when nothing changed (nothing recorded); audited as `case.edit` with
  // purpose `changed=goal`. A closed case can be edited; an erased one cannot (kRejected).
  Result<std::vector<std::string>> EditCase(const std::string& case_id, const CaseChanges& changes);
  // A closed case takes no new documents until it is reopened. Audited as `case.close` and
  // `case.reopen`. kRejected when it is already closed (open), or its patient was erased.
  Status CloseCase(const std::string& case_id);
  Status ReopenCase(const std::string& case_id);
  // Whether documents may be filed in the case now: kNotFound; kRejected when it is closed
  // (naming the command that reopens it) or its patient was erased. BeginDocument checks it.
  Status CheckCaseOpen(const std::string& case_id);

  // Group commit for many documents (a disc's 2,000 images). Between BeginBatch() and
  // CommitBatch(), committed DocumentWriters skip their own fsyncs and catalog commits; the
  // batch makes all objects durable with one filesystem sync and then commits every row and
  // audit event in one transaction (also done automatically every `batch_max_*`, and early
  // when another thread writes; reads beside it wait in the journal). A batch never committed
  // (crash, error, destruction) leaves only orphan objects, swept on the next open. Other
  // calls the opening thread makes during a batch join its transaction; events recorded
  // alone (reads, listings, refusals) never do. The batch belongs to the calling thread:
  // another thread's BeginBatch waits until it ends (vault.h §Threads). When an early commit
  // fails, the batch is rolled back: the owner's next write (a DocumentWriter's Commit) or
  // CommitBatch returns that error and ends the batch.
  //
  // kWhole: all or nothing (an upload ingested while its bytes still arrive, which must
  // store nothing unless it arrives whole). The batch never commits before CommitBatch;
  // another write — of another thread, another process, an event recorded alone whose
  // journal fails — does not wait for it: the batch gives way, rolled back with the objects
  // it wrote, and its owner's next write or CommitBatch returns kRejected (batch_gave_way()
  // tells at once). AbandonBatch rolls it back on purpose.
  enum class BatchMode { kCommitAsItGoes, kWhole };
  Status BeginBatch(BatchMode mode = BatchMode::kCommitAsItGoes);
  Status CommitBatch();
  // Rolls back what the calling thread's open batch has not committed, and ends it. For a
  // whole batch that is all of it, and the objects its documents wrote are deleted at once;
  // for another, earlier commits stay and the objects of the rest are orphans that the next
  // open sweeps.
  void AbandonBatch();
  // Whether the open batch is whole and has given way to another write (see above): any
  // thread may ask (the sources of an upload still arriving stop waiting).
  bool batch_gave_way() const;
  // Whether the calling thread has a batch open.
  bool in_batch() const;
  // How many batch commits have succeeded, automatic and early ones included: documents
  // stored while this was N are durable once it exceeds N, and lost if the batch fails first.
  uint64_t committed_batches() const;
  // Events recorded alone (reads, listings, refusals) and the transactions that committed
  // them, since the vault was opened: with group commit, fewer transactions than events
  // under concurrent load. For tests and benchmarks.
  AuditCommitStats audit_commit_stats() const;
  // How many times ListDocuments read a case's rows from the catalog (each row's MAC checked,
  // its name opened) since the vault was opened. A listing of a case in which nothing changed
  // since this open last read it — by any process — is given again from memory instead; only
  // its `document.list` event is new. For tests and benchmarks.
  uint64_t listings_read() const;

  Result<std::unique_ptr<DocumentWriter>> BeginDocument(const NewDocument& doc);
  // A case's documents, removed and erased ones included, each row's MAC checked and its name
  // opened; audited as `document.list` (objects [case]) before it is returned.
  Result<DocumentList> ListDocuments(const std::string& case_id);
  Result<DocumentRecord> GetDocument(const std::string& doc_id);
  // GetDocument for showing the record to someone (`docs show`, the server's document
  // route): audited as `document.show` (objects [document, case]) before it is returned.
  Result<DocumentRecord> ShowDocument(const std::string& doc_id);
  Status SetCategory(const std::string& doc_id, const std::string& category);

  // Corrections (issue 14; doc/FORMAT.md §Moves and removals).
  //
  // Moves a document ("doc_…"), or a DICOM series ("ser_…") with all its instances, to another
  // open case — of the same patient or of another. Whatever was bound to the old case or
  // patient is bound anew, in one transaction with its audit event (`document.move` or
  // `dicom.series_move`, objects [id, from case, to case], one event per patient involved):
  // data keys are rewrapped for the new case (the objects are not rewritten: their AD names
  // only the object); for another patient, every sealed field is resealed under their key,
  // the UID MACs are recomputed and the wrong-patient check runs again, both through
  // `recheck` (required when a series changes patient). A series joins the study of the same
  // UID in the new case, or takes its study along (a copy, when other series stay behind).
  // kInvalidArgument for an id that is neither; kNotFound for an unknown document, series or
  // case; kRejected, with nothing changed, for the same case, a case that is not open, a
  // removed or erased document, a single DICOM instance (move its series), content or a
  // series the new case already holds.
  Result<MoveOutcome> Move(const std::string& id, const std::string& to_case,
                           const DicomRecheckFn& recheck = nullptr);
  // Removes a document, or every stored instance of a series: the row stays with status
  // `removed` and `reason` sealed under the patient's key (so the audit trail still
  // resolves); its data key, file name, content MAC, page texts and DICOM summaries and UID
  // MACs are cleared in one transaction with its audit event (`document.remove` or
  // `dicom.series_remove`, objects [id, case]); then its object files are deleted and the WAL is
  // checkpointed, as for an erasure. kInvalidArgument for an empty reason or an id that is
  // neither; kNotFound for an unknown id; kRejected for what is already removed or erased.
  Result<RemoveOutcome> Remove(const std::string& id, const std::string& reason);

  // Records the OCR check of a stored document: its verdict, page count and pages (replacing
  // an earlier analysis). Audited as `document.analyse`.
  Status SetAnalysis(const std::string& doc_id, const std::string& verdict, int page_count,
                     const std::vector<PageRecord>& pages);
  // Keeps what an upload said about a stored document (the OCR check's advice, the
  // wrong-patient surname check, a text file named as another type …) so that `docs` shows
  // it later: sealed with the patient's field key, as personal as the document's name. Adds
  // to the warnings it has, each kept once. Audited as `document.warn`.
  Status AddWarnings(const std::string& doc_id, const std::vector<std::string>& warnings);
  // A document's analysed pages, in order; the text only when `with_text` (decrypted in
  // memory, audited as `document.read` with details.via = "text" before anything is
  // decrypted: if the event cannot be recorded, nothing is returned).
  Result<std::vector<PageRecord>> GetPages(const std::string& doc_id, bool with_text);
  // The analysed pages of every document of a case, without their text, by document id (a
  // document without pages has no entry): what GetPages(doc, false) gives for each, in one
  // read (a case's listing). Records nothing; kNotFound for an unknown case.
  Result<std::map<std::string, std::vector<PageRecord>>> GetCasePages(const std::string& case_id);
  // Pages of a case's documents whose text contains `query`: case-insensitive, Cyrillic
  // and Latin, ё = е, any white space matching any. Decrypts in memory only. Audited as
  // `document.search` — with the case, never the query (it may be a name) — before any text
  // is decrypted, and, when pages were found, as `document.read` of the documents whose text
  // the hits show (details.via = "search") before they are returned.
  Result<std::vector<SearchHit>> Search(const std::string& case_id, const std::string& query);
  // Files a stored DICOM document under its study and series (created as needed); returns
  // the series id. Joins the open batch like any other write.
  Result<std::string> AddDicomInstance(const std::string& doc_id, const DicomInstanceInfo& info);
  // The case's DICOM series in the order they were first stored, decrypted in memory. Audited
  // as `dicom.list`.
  Result<std::vector<DicomSeriesRecord>> ListDicomSeries(const std::string& case_id);

  // The series' preview (a PNG for the web portal), sealed with the patient's key; replaces
  // an earlier one. GetSeriesPreview is audited as `dicom.preview` before it is decrypted;
  // kNotFound if none.
  Status SetSeriesPreview(const std::string& series_id, std::span<const uint8_t> png);
  Result<std::vector<uint8_t>> GetSeriesPreview(const std::string& series_id);

  // Whose a record is, for an access check before anything is read (the server's role
  // table): the patient of a patient ("pat_"), case ("case_"), document ("doc_"), DICOM
  // series ("ser_"), consent ("con_"), request ("req_", or its "exp_") or user ("usr_") id, its
  // case, and for a document its category and status. Reads ids, categories and statuses only —
  // nothing personal is decrypted — and is not audited (the read that follows is). kNotFound for an
  // unknown id or another kind; kCorrupt when the rows fail their MACs.
  struct Owner {
    std::string patient_id;
    std::string case_id;   // empty for a patient
    std::string category;  // a document's; else empty
    std::string status;    // a document's (stored | removed | erased); a case's (open | closed)
    bool patient_erased = false;
    std::string role;  // a user's (usr_…); a staff account's patient_id is empty
  };
  Result<Owner> OwnerOf(const std::string& id);

  // The key from which an export's replacement UIDs are made (dicom::KeyedUidMap): derived
  // from the patient's key, so one UID always gets the same replacement, in one export and
  // across exports of the same study, and nobody without the vault can link the two. The map
  // is the key: nothing else is stored. It only maps UIDs, so it may be handed to the
  // confined export worker.
  Result<SecureBuffer> ExportUidKey(const std::string& case_id);

  // The operator's settings (defaults: empty names, the system's time zone); audited when set.
  Result<VaultSettings> GetSettings();
  Status SetSettings(const VaultSettings& settings);
  // Today's date in the vault's time zone (YYYY-MM-DD).
  Result<std::string> Today();

  // Clinics (Clinic requests 1/3). kRejected for a name already registered; kInvalidArgument
  // for a malformed country or e-mail, naming the field.
  Result<std::string> AddClinic(const ClinicInfo& info);
  Result<std::vector<ClinicRecord>> ListClinics();
  Status EditClinic(const std::string& clinic_id, const ClinicInfo& info);
  // A clinic by id or exact registered name; kNotFound naming up to three close matches.
  Result<ClinicRecord> FindClinic(const std::string& id_or_name);

  // Consents. AddConsent checks every field (kRejected naming it; nothing stored on error),
  // stores the scan sealed under the patient's key, and audits `consent.add`.
  Result<std::string> AddConsent(const NewConsent& consent);
  Result<std::vector<ConsentRecord>> ListConsents(const std::optional<std::string>& patient_id);
  Result<ConsentRecord> GetConsent(const std::string& consent_id);
  // Records a withdrawal received on `received` (YYYY-MM-DD; default today): blocks new
  // exports at once; destruction is due 30 days after receipt. kRejected if already revoked.
  Status RevokeConsent(const std::string& consent_id, const std::string& reason,
                       const std::string& received);

  // The request ledger. RecordExport stores an export that was written and verified, with
  // its `export.create` event, in one transaction, and returns it with `due` and
  // `created_at` set. RecordExportRefused audits a refusal (`export.refused`, outcome
  // refused, the reason in `purpose`: ids and dates only).
  Result<ExportRequestRecord> RecordExport(const ExportRequestRecord& request);
  Status RecordExportRefused(const std::string& case_id, const std::string& clinic_id,
                             const std::string& reason);
  // Every document an export reads is on record before the first byte: one `export.read`
  // event naming the export and all of them, committed first, with `details` (what is done to
  // them on the way out: `deidentify`, `jpeg_ls`). ReadDocumentForExport then decrypts one of
  // them without an event of its own (or its rendition, with DocumentCopy::kRendition: a HEIC
  // photo is sent as its JPEG copy); kInternal for a document not announced.
  Status AuditExportReads(const std::string& export_id, const std::string& patient_id,
                          const std::vector<std::string>& doc_ids,
                          const std::map<std::string, std::string>& details = {});
  Status ReadDocumentForExport(const std::string& export_id, const std::string& doc_id,
                               ByteSink& sink, DocumentCopy copy = DocumentCopy::kAsUploaded);
  // The ledger, oldest first; one case's requests when given. Audited as `export.list`.
  Result<std::vector<ExportRequestRecord>> ListRequests(const std::optional<std::string>& case_id);
  // One request, by its request id ("req_…") or export id ("exp_…"), with the documents it
  // sent and the replies filed to it. Audited as `export.show`. kNotFound naming the id.
  Result<ExportRequestDetail> ShowRequest(const std::string& request_or_export_id);
  // The request a reply filed in `case_id` answers (NewDocument::reply_to), by its request or
  // export id: its request id. Call it before storing anything. kNotFound for an id the ledger
  // does not hold, kRejected for a request sent from another case (naming that case); either
  // refusal is recorded as `export.reply`, refused.
  Result<std::string> ReplyTarget(const std::string& request_or_export_id,
                                  const std::string& case_id);
  // The current time (UTC), as the vault's clock tells it.
  std::string NowUtc() const;

  // A document's category and how it was decided.
  Result<CategoryRecord> GetCategory(const std::string& doc_id);
  // Ingest's inference: ignored (Ok) when a manager already chose, or the document was filed
  // as a clinic's reply.
  Status InferCategory(const std::string& doc_id, Category category, const std::string& reason);

  // Decrypts a document into `sink`, authenticating every chunk. Audited before the first
  // byte leaves: the `document.read` event is committed first (in its own transaction, never
  // an open batch's: group-committed with other threads' events), and if it cannot be, `sink`
  // receives nothing. A read that then fails adds a second event with outcome `failed`. kRejected
  // when its patient was erased; kCorrupt naming the document on any tampering.
  // With DocumentCopy::kRendition, the document's rendition instead (kNotFound when it has
  // none), on record the same way with details.copy = "rendition".
  Status ReadDocument(const std::string& doc_id, ByteSink& sink,
                      DocumentCopy copy = DocumentCopy::kAsUploaded);

  // Keeps `bytes` as the rendition of stored document `doc_id`: a copy in a form anyone can
  // open, made from it (a HEIC photo's JPEG, `kind` "jpeg"). A second sealed object of the
  // same document, with its own data key, durable before its row refers to it; it is moved,
  // removed and erased with the document, counted by Verify, and listings show it
  // (DocumentRecord::rendition). Joins the open batch like a document. Audited as
  // `document.render` (objects [document, case]). kRejected for a document that is not
  // stored or has a rendition already, kInvalidArgument for another kind or no bytes.
  Status StoreRendition(const std::string& doc_id, const std::string& kind,
                        std::span<const uint8_t> bytes);

  // `dossier get`: decrypts a document into `sink` as ReadDocument does, but on record as
  // `document.export_file`: a copy leaves the vault as a file. The file's name (personal
  // data: it may name the patient) is sealed under the patient's key in an audit note, which
  // the event names in details.name_note (doc/FORMAT.md §Audit log). An erased document is
  // refused, and a failed decryption recorded, under the same action.
  Status ExportDocumentToFile(const std::string& doc_id, const std::string& file_name,
                              ByteSink& sink, DocumentCopy copy = DocumentCopy::kAsUploaded);

  // An audit note's text, decrypted; audited as `audit.note.read`. kNotFound for an unknown
  // note, kRejected when its patient was erased.
  Result<std::string> ReadAuditNote(const std::string& note_id);
  // The audit log's events that `filter` selects (ReadAuditLog in audit.h, on this vault).
  Result<std::vector<AuditEvent>> ReadAudit(const AuditFilter& filter);
  // VerifyAuditLog and WriteCheckpoint (audit.h), on this vault.
  Result<AuditVerifyReport> VerifyAudit(const AuditAnchors& anchors);
  Result<std::string> AuditCheckpoint(const std::string& now);

  // `dossier dicom export`: puts the export of `series` (of `case_id`) on record as one
  // `dicom.export` event before any instance is decrypted: the series and the case as objects;
  // details: the pseudonym the clinic sees, `allow_mismatch` and `jpeg_ls` (yes/no), and with
  // allow_mismatch, `mismatch_override` naming the exported series flagged as possibly another
  // patient's (absent: the check had nothing to override). ReadExportedInstance then decrypts
  // their instances with no event of their own. kNotFound (nothing recorded) for a series that
  // is not the case's.
  struct DicomExportRequest {
    std::string case_id;
    std::vector<std::string> series;
    std::string pseudonym;
    bool allow_mismatch = false;
    bool jpeg_ls = false;
  };
  Status RecordDicomExport(const DicomExportRequest& request);
  // One instance of a series of a recorded DICOM export; kRejected for any other document.
  Status ReadExportedInstance(const std::string& doc_id, ByteSink& sink);

  // Puts on record that the act `action` on `objects` was refused or failed, with `why`'s
  // code as its reason ("kNotFound", doc/FORMAT.md §Audit log): outcome `refused` for
  // kInvalidArgument, kNotFound, kRejected and kLimitExceeded, `failed` for the others. An
  // object that is not a well-formed id (common/ids.h) is recorded as "(not an id)" — a
  // mistyped argument may hold a name; the patient is the owner of the first object that
  // has one. Records nothing when the last event this Vault recorded is already a refusal or
  // failure of `action` (the call that failed recorded it). The CLI calls it for every
  // command that fails after unlocking the vault.
  Status RecordFailure(const std::string& action, const std::vector<std::string>& objects,
                       const Status& why);

  // Decrypts and authenticates every object (quick: presence and sizes only). Audited.
  Result<VerifyReport> Verify(bool quick, const ProgressFn& progress = nullptr);

  // --- Accounts (see the section above Vault) ----------------------------------------------
  //
  // Adds an account; returns its id (usr_…). Checks, nothing stored on error:
  //   kInvalidArgument  a malformed name (1 to 254 bytes of UTF-8, one line, no control
  //                     characters, no white space at either end); a password under 12
  //                     characters ("the password is too short: use at least 12 characters")
  //                     or over 1024 bytes; a patient or representative without a patient
  //                     id, a staff account with one; rights for any role but representative
  //   kNotFound         no such patient
  //   kRejected         the patient was erased; "a user with that name already exists"
  // The password is hashed before the writer is taken. Audited as `user.add` (objects: the
  // id; patient: the linked patient; details.role).
  Result<std::string> AddUser(const std::string& name, Role role, const std::string& password,
                              const std::string& patient_id = "", Rights rights = {});
  // Every account, oldest first, names decrypted. Audited as `user.list`.
  Result<std::vector<UserRecord>> ListUsers();
  // One account by id (kNotFound "no user usr_…"); records nothing (the server asks on
  // every request; what is done for the user is audited by that call).
  Result<UserRecord> GetUser(const std::string& user_id);
  // Sets a new password (the same rules as AddUser). kNotFound "no user with that name";
  // kRejected for a disabled account. Audited as `user.passwd`.
  Status SetUserPassword(const std::string& name, const std::string& password);
  // Disables an account for good: it can no longer log in. kNotFound "no user with that
  // name"; kRejected when already disabled. Audited as `user.disable`. (Erasing a patient
  // disables the accounts linked to them, and forgets their login names, in the erasure's
  // transaction, each with its `user.disable` event, purpose "patient erased".)
  Status DisableUser(const std::string& name);
  // Grants and revokes what a representative may do: kNotFound for an unknown id; kRejected
  // for an account that is not a representative's, or disabled. Audited as `user.rights`
  // with details.before and details.after ("view,upload", "none"); the same rights again
  // change and record nothing.
  Status SetRights(const std::string& user_id, Rights rights);
  // Checks a login: the user's record, or kAuthFailed "wrong user name or password" for an
  // unknown name, a wrong password or a disabled account alike — the same message and the
  // same work (an unknown name verifies against a dummy hash). Records nothing itself (the
  // server records login events through RecordAccessEvent). kCorrupt when the account's row
  // was changed outside Dossier.
  Result<UserRecord> Authenticate(const std::string& name, std::string_view password);
  // Records an event about accounts and sessions that changes nothing else, group-committed
  // like other lone events: `action` begins with "session.", "access.", "server." or "audit."
  // (session.login, session.logout, session.login_failed, session.locked,
  // access.unauthenticated, access.refused, server.start, server.stop, server.integrity …),
  // audit.read, audit.report, audit.verify (the compliance officer reading the log), or is
  // export.download or export.expired (a kept export's part sent, or deleted once kept
  // long enough); kInvalidArgument otherwise; `objects` are ids (anything else is
  // recorded as "(not an id)"); `outcome` is ok, refused or failed; `reason` a code.
  Status RecordAccessEvent(const std::string& action, std::vector<std::string> objects,
                           const std::string& patient_id, const std::string& outcome,
                           const std::string& reason = "");

  class Impl;

 private:
  friend class ActingAs;
  explicit Vault(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Acting on behalf of a user (the server: one vault, many users, one thread per request).
// While it lives, the audit events the constructing thread records through `vault` carry
// `actor` (the user's id as the actor, their role name as the role) instead of the vault's
// own actor. Thread-local: other threads are not affected. Nests: the innermost one counts,
// and destroying it restores the one outside it (destroy them in reverse order, as scopes
// do). `actor.name` must pass CheckActorName (vault/audit.h); a user id does. The Vault must
// outlive it.
//
//   { ActingAs as(vault, {user.id, std::string(RoleName(user.role))}); vault.ListCases(pid); }
class ActingAs {
 public:
  ActingAs(const Vault& vault, Actor actor);
  ~ActingAs();
  ActingAs(const ActingAs&) = delete;
  ActingAs& operator=(const ActingAs&) = delete;

  // The actor of the innermost ActingAs of the calling thread for the vault `impl`, or null.
  static const Actor* Current(const Vault::Impl* impl);

 private:
  const Vault::Impl* impl_;
  Actor actor_;
  ActingAs* outer_;
};

}  // namespace dossier::vault
