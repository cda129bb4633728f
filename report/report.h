// One JSON for the CLI and the server: what `dossier … --json` prints and what `dossier serve`
// answers for the same thing, built in one place (doc/CLI.md §JSON shapes).
//
//   auto v = vault::Vault::Open(dir, passphrase, actor);
//   DOSSIER_ASSIGN_OR_RETURN(nlohmann::json docs, report::CaseDocumentsJson(**v, case_id));
//   std::cout << docs.dump(2);   // what `dossier docs --case ID --json` prints
//
// Why nlohmann::json is in this public header: JSON is the product of this library, and both
// of its callers (app/, server/) already speak nlohmann::json; an own value type would only be
// converted into it again at each edge. No other third-party type appears here.
//
// Two layers:
//  - Serializers (PatientJson, DocumentJson, SeriesJson …): pure functions of records the
//    caller already holds. They read no vault and record nothing.
//  - Assemblers taking a vault::Vault& (CaseDocumentsJson, DocumentDetailJson …): they make
//    the vault calls a listing needs, always the same calls in the same order, so the CLI and
//    the server record the same audit events for the same answer. Errors are the vault's
//    (ids, never personal data), plus those said on each function.
//
// What these print is personal data where the CLI already prints it (names, birth dates,
// document names, snippets): the caller decides who may see it (the server's role table).
// Thread-safety: the serializers are pure; the assemblers are as thread-safe as the Vault.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "dicom/dicom.h"
#include "ingest/ingest.h"
#include "vault/vault.h"

namespace dossier::report {

// ---- People -------------------------------------------------------------------------------

// One patient, as an element of `patient list --json`: id, name, birth_date, phone, email,
// created, erased, erased_at (an erased patient's fields are "").
nlohmann::json PatientJson(const vault::PatientRecord& patient);
// One case, as an element of `case list --json`: id, patient, status, goal, question,
// documents, dicom_instances, created.
nlohmann::json CaseJson(const vault::CaseRecord& c);
// `patient list --json`, `case list --json`: arrays of the above, in the order given.
nlohmann::json PatientsJson(const std::vector<vault::PatientRecord>& patients);
nlohmann::json CasesJson(const std::vector<vault::CaseRecord>& cases);
// `patient show ID --json`: PatientJson with "cases": CasesJson.
nlohmann::json PatientDetailJson(const vault::PatientRecord& patient,
                                 const std::vector<vault::CaseRecord>& cases);
// The same, read from the vault: GetPatient (audited `patient.read`), then ListCases
// (`case.list`).
Result<nlohmann::json> PatientDetailJson(vault::Vault& v, const std::string& patient_id);

// ---- Audit --------------------------------------------------------------------------------

// One audit event, as an element of `audit log --json`: seq, at, actor, os_user, role,
// action, objects, patient, outcome, reason, purpose, details, encoding.
nlohmann::json AuditEventJson(const vault::AuditEvent& e);
// `audit verify --json`: intact, events, root, public_key, anchored, problems, and
// checkpoint_size when a checkpoint was checked.
nlohmann::json AuditVerifyJson(const vault::AuditVerifyReport& r);

// ---- Documents ----------------------------------------------------------------------------

// One analysed page, without its text: page, verdict, confidence, rotation, source, evidence
// (the measurements behind the verdict, an object; null if the stored evidence is not JSON).
nlohmann::json PageJson(const vault::PageRecord& page);

// One document (not a DICOM instance, not removed) as an element of `docs --case ID --json`:
// id, name, kind, size, category, category_source, category_reason, status, added, case,
// verdict (null when not analysed), pages, pages_detail (PageJson of each of `pages`: give
// none for a document without a verdict), warnings.
nlohmann::json DocumentJson(const vault::DocumentRecord& doc,
                            const std::vector<vault::PageRecord>& pages);

// A case's DICOM series as `docs` shows it: one entry per series, its instances counted.
struct SeriesView {
  vault::DicomSeriesRecord record;
  dicom::InstanceSummary first;       // the summary of its first instance
  std::vector<std::string> problems;  // its problems and its instances' upload warnings
  std::vector<std::string> on_disc;   // the patients its instances name, each once
  std::string mismatch_facts;         // with a mismatch: who is on the disc, who is the patient
  uint64_t size = 0;                  // its instances' bytes
  std::string added;                  // when its first instance was stored
};

// A document removed (`docs --all`): one entry each; a series' removed instances are one entry
// per series and reason.
struct RemovedView {
  std::string id, kind, category, added, removed_at, reason;
  uint64_t size = 0;
  std::vector<std::string> doc_ids;  // a series' removed instances; empty for a document
};

// Everything `docs --case ID` shows, read once (LoadCaseDocuments).
struct CaseDocuments {
  std::string case_id;
  std::vector<vault::DocumentRecord> documents;  // every row, in the order stored
  // The analysed pages (no text) of each listed document that has a verdict, by document id.
  std::map<std::string, std::vector<vault::PageRecord>> pages;
  std::vector<SeriesView> series;
  std::vector<RemovedView> removed;  // every removed entry (listed with --all)
  std::set<std::string> in_series;   // the documents shown as their series, not one by one
  // Whether a document is listed on its own: not an instance of a series, not removed.
  bool Listed(const vault::DocumentRecord& doc) const;
};

// "CT, 24 instances, 2004-01-19, Chest": one line for a series, as `docs` and `ingest`
// name it (`date` is DICOM's YYYYMMDD; the object kind is said unless it is "image").
std::string SeriesLine(const std::string& modality, int instances, const std::string& date,
                       const std::string& description, const std::string& object_kind);

// One series as an element of `docs --json` and of `dicom list --json` (kind "dicom-series").
nlohmann::json SeriesJson(const SeriesView& series, const std::string& case_id);
// One removed entry as an element of `docs --all --json`.
nlohmann::json RemovedJson(const RemovedView& removed, const std::string& case_id);
// `docs --case ID --json`: DocumentJson of each listed document, then SeriesJson of each
// series, then (with `with_removed`, i.e. --all) RemovedJson of each removed entry.
nlohmann::json DocumentsJson(const CaseDocuments& listing, bool with_removed);

// Reads what `docs` shows, with these vault calls in this order: ListDocuments
// (`document.list`), ListDicomSeries (`dicom.list`); when a series may be another patient's,
// GetCase and GetPatient (`patient.read`) for the facts to resolve it; then GetCasePages (the
// pages without text of every document, in one read; not audited). kCorrupt when a stored DICOM
// summary does not parse.
Result<CaseDocuments> LoadCaseDocuments(vault::Vault& v, const std::string& case_id);
// A case's listing (`docs --case ID --json`) kept as its entries' JSON text, for a server that
// answers it whole or a part at a time, to many readers: each entry as a manager is shown it,
// and as a patient or representative is (mismatch_facts emptied), with whether it is a
// clinic's reply (a representative sees those with the `replies` right, the rest with
// `view`). Get makes the same vault calls, recorded the same way, as LoadCaseDocuments; while
// the vault gives the listing it keeps (DocumentList::identity: nothing in the case changed),
// the entries are not built again. Not kept: a listing with a series that may be another
// patient's (its facts name the patient, who may be renamed), or over `max_entries` in all
// (least recently asked for dropped first; 50,000 entries are about 60 MB, as many as the
// vault keeps records of). Names and verdicts are personal data: this is memory only, as
// the vault's own kept listings are. Thread-safe.
struct ListingEntry {
  std::string full;          // the entry's JSON
  std::string patient_side;  // the same, as a patient or representative is shown it
  bool reply = false;
};
class ListingCache {
 public:
  explicit ListingCache(size_t max_entries = 50'000) : max_entries_(max_entries) {}
  Result<std::shared_ptr<const std::vector<ListingEntry>>> Get(vault::Vault& v,
                                                               const std::string& case_id);
  uint64_t built() const;  // listings built, not found kept (tests)

 private:
  struct Kept {
    vault::DocumentList documents;  // held, so that its identity stays its own
    std::shared_ptr<const std::vector<ListingEntry>> entries;
    uint64_t used = 0;
  };
  const size_t max_entries_;
  mutable std::mutex mu_;
  std::map<std::string, Kept> kept_;
  size_t kept_entries_ = 0;
  uint64_t tick_ = 0, built_ = 0;
};

// LoadCaseDocuments, then DocumentsJson: what `docs --case ID [--all] --json` prints.
Result<nlohmann::json> CaseDocumentsJson(vault::Vault& v, const std::string& case_id,
                                         bool with_removed = false);
// LoadCaseDocuments, then a JSON array of SeriesJson: what `dicom list --case ID --json`
// prints (the server's /api/cases/{id}/series).
Result<nlohmann::json> CaseSeriesJson(vault::Vault& v, const std::string& case_id);

// One document in full, as `docs show DOC --json` prints it: DocumentJson (pages_detail
// holds every analysed page, verdicts and evidence) and, for any document, "series" (the
// series of a DICOM instance, else null), "removed" and "removal_reason" (null unless removed).
nlohmann::json DocumentDetailJson(const vault::DocumentRecord& doc,
                                  const std::vector<vault::PageRecord>& pages);
// The same, read from the vault: ShowDocument (`document.show`), then GetPages without text
// when it has a verdict.
Result<nlohmann::json> DocumentDetailJson(vault::Vault& v, const std::string& doc_id);

// ---- Text and search ------------------------------------------------------------------------

// `search --case ID TEXT --json`: [{id, name, page, snippet}] in the vault's order.
nlohmann::json SearchJson(const std::vector<vault::SearchHit>& hits);
// Search (audited `document.search`, then `document.read` of the documents hit), then
// SearchJson.
Result<nlohmann::json> CaseSearchJson(vault::Vault& v, const std::string& case_id,
                                      const std::string& query);

// A document's text as `text DOC` reads it: its record and its pages with their text.
struct DocumentText {
  vault::DocumentRecord doc;
  std::vector<vault::PageRecord> pages;  // every page; the caller picks one
};
// GetDocument, then GetPages with text (audited `document.read`, via "text"). kRejected for a
// removed document (vault::DocumentRemoved); kNotFound for one without checked pages, or
// when `page` (1-based; 0 for all) is past its last page.
Result<DocumentText> LoadDocumentText(vault::Vault& v, const std::string& doc_id, int page);
// `text DOC [--page N] --json`: [{page, verdict, text}] of every page, or of page `page`.
nlohmann::json TextJson(const std::vector<vault::PageRecord>& pages, int page);

// ---- Corrections -----------------------------------------------------------------------------

// The wrong-patient check of ingest (dicom::PatientMismatch), run again for a DICOM instance
// whose series moves to another patient, with the UIDs the vault files it by: the
// vault::DicomRecheckFn of `docs move` (the CLI's and the server's).
Result<vault::DicomRecheck> RecheckInstance(const std::string& summary,
                                            const vault::PatientInfo& patient);
// `docs move --json`: {id, kind (document | dicom-series), from_case, to_case, from_patient,
// to_patient, documents, and for a series mismatch (our words: why its disc may be another
// patient's than its new case's, "" when nothing says so)}.
nlohmann::json MoveOutcomeJson(const vault::MoveOutcome& m);
// `docs remove --json`: {id, kind, case, removed, documents}.
nlohmann::json RemoveOutcomeJson(const vault::RemoveOutcome& r);

// ---- Clinics, consents, requests, accounts ------------------------------------------------

// `clinic list --json` element: {id, name, country, email, note, created}.
nlohmann::json ClinicJson(const vault::ClinicRecord& c);
// `consent list --json` element, its state on `today`: {id, patient, recipient, purposes,
// categories, actions, from, until, signed, representative, authority, scan: {kind, size,
// sha256} | null, recorded_by, recorded_at, state, revoked_at, revocation_received,
// revocation_reason, destruction_due}.
nlohmann::json ConsentJson(const vault::ConsentRecord& c, const std::string& today);
// `consent list [--patient ID] [--state S] --json`. `state` is "", active, expired, revoked
// or destruction-due (the caller checks it).
Result<nlohmann::json> ConsentsJson(vault::Vault& v, const std::optional<std::string>& patient,
                                    const std::string& state);
// `consent show ID --json`: ConsentJson and the recipient's name and country, whether the
// transfer crosses a border, the operator, and how to withdraw.
Result<nlohmann::json> ConsentDetailJson(vault::Vault& v, const std::string& consent_id);

// What `export list --json` and `export show --json` both say of a request: {request_id,
// export_id, case_id, clinic_id, consent_id, purpose, urgent, inventory_only, sent_at, due,
// state, answered_at}.
nlohmann::json RequestJson(const vault::ExportRequestRecord& r, const std::string& state);
// `export list [--case ID] [--overdue] [--as-of DATE] --json`: RequestJson with the counts of
// documents, parts and replies. `as_of` "" is today; `patient`, when given, keeps only that
// patient's requests (a patient's own view).
struct RequestQuery {
  std::optional<std::string> case_id, patient_id;
  bool overdue = false;
  std::string as_of;
};
Result<nlohmann::json> RequestsJson(vault::Vault& v, const RequestQuery& q);
// `export show ID --json` (a req_ or its exp_ id): RequestJson with the clinic's name, who sent
// it, the parts, the documents sent and the replies filed.
Result<nlohmann::json> RequestDetailJson(vault::Vault& v, const std::string& id);

// `user list --json` element: {id, name, role, patient, rights, status, disabled_at, created}.
nlohmann::json UserJson(const vault::UserRecord& u);

// `ingest --json`: one object per item of the upload ({path, kind, size, status, reason, id,
// verdict, pages, advice, series, rendition, page_checks: [{page, verdict, from_sample,
// verdict_seconds, text_seconds, analysis_seconds}]}), in report order.
nlohmann::json IngestItemsJson(const ingest::IngestReport& r);
// The whole report, as a server job's result: {items: IngestItemsJson, series: [{id,
// modality, description, date, object_kind, instances, mismatch, problems}], counts: {stored,
// duplicate, skipped, rejected, missing}, worker_crashes}. A series' mismatch_facts (the
// names on another patient's disc) are left out: a manager sees them in the case's listing.
nlohmann::json IngestJson(const ingest::IngestReport& r);

}  // namespace dossier::report
