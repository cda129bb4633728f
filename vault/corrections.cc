// Corrections (issue 14): moving what was filed under the wrong case or patient, and removing
// what should not be in the vault. doc/FORMAT.md §Moves and removals.
#include <fmt/format.h>

#include <map>
#include <tuple>

#include "common/encoding.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::RowTable;
using internal::Stmt;

namespace {

// Every sealed column of the rows a document or a series owns: a move to another patient
// reseals each of them under that patient's field key. A new sealed column of these tables
// belongs here too.
struct SealedColumn {
  const char* table;
  const char* key;     // the column naming the document or series
  const char* column;  // the sealed value
  const char* ad;      // the AD's `<table>.<column>` part (vault.cc SealField)
  const char* row_id;  // SQL for the AD's row id
};
constexpr SealedColumn kDocumentSealed[] = {
    {"documents", "id", "name_enc", "documents.name", "id"},
    {"pages", "doc_id", "text_enc", "pages.text", "doc_id || '/' || number"},
    {"document_removals", "doc_id", "reason_enc", "document_removals.reason", "doc_id"},
    {"document_warnings", "doc_id", "warnings_enc", "documents.warnings", "doc_id"},
    {"dicom_instances", "doc_id", "summary_enc", "dicom_instances.summary", "doc_id"},
};
constexpr SealedColumn kSeriesSealed[] = {
    {"dicom_series", "id", "summary_enc", "dicom_series.summary", "id"},
    {"dicom_series", "id", "preview_enc", "dicom_series.preview", "id"},
};
constexpr SealedColumn kStudySealed = {"dicom_studies", "id", "summary_enc",
                                       "dicom_studies.summary", "id"};

// Opens every non-NULL `c.column` of the rows whose `c.key` is `id` with `from`'s field key and
// seals it again, under the same AD, with `to`'s.
Status Reseal(Vault::Impl& v, const SealedColumn& c, const std::string& id, const std::string& from,
              const std::string& to) {
  std::vector<std::tuple<int64_t, std::string, Bytes>> rows;
  {
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s, v.Conn().Prepare(fmt::format("SELECT rowid, {}, {} FROM {} WHERE {} = ? AND {} IS "
                                             "NOT NULL",
                                             c.row_id, c.column, c.table, c.key, c.column)));
    s.Bind(1, id);
    for (;;) {
      DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      rows.emplace_back(s.Int(0), s.Text(1), s.Blob(2));
    }
  }
  for (const auto& [rowid, row_id, sealed] : rows) {
    DOSSIER_ASSIGN_OR_RETURN(std::string plain, v.OpenField(from, c.ad, row_id, sealed, true));
    DOSSIER_ASSIGN_OR_RETURN(Bytes again, v.SealField(to, c.ad, row_id, plain));
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt up,
        v.Conn().Prepare(fmt::format("UPDATE {} SET {} = ? WHERE rowid = ?", c.table, c.column)));
    up.BindBlob(1, again).Bind(2, rowid);
    DOSSIER_RETURN_IF_ERROR(up.Run());
  }
  return Status::Ok();
}

enum class Kind { kDocument, kSeries };

Result<Kind> KindOf(const std::string& id) {
  if (id.rfind("doc_", 0) == 0) return Kind::kDocument;
  if (id.rfind("ser_", 0) == 0) return Kind::kSeries;
  return InvalidArgument(id +
                         " is not a document or DICOM series id: give doc_… or ser_… (see "
                         "`dossier docs --case ID`)");
}

// One document as a move or removal needs it.
struct DocRow {
  std::string id, object_id, status, removed_at;
  uint64_t size = 0, stored_size = 0;
  Bytes wrapped, content_mac;
  // Its rendition (Vault::StoreRendition), when it has one: another object, another key.
  std::string rendition_object;
  uint64_t rendition_size = 0, rendition_stored_size = 0;
  Bytes rendition_wrapped;
};

Result<DocRow> ReadDocRow(Vault::Impl& v, const std::string& doc_id) {
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, v.Conn().Prepare("SELECT d.object_id, d.status, d.size, d.stored_size, "
                               "d.wrapped_key, d.content_mac, (SELECT removed_at FROM "
                               "document_removals WHERE doc_id = d.id), r.object_id, r.size, "
                               "r.stored_size, r.wrapped_key FROM documents d LEFT JOIN "
                               "renditions r ON r.doc_id = d.id WHERE d.id = ?"));
  s.Bind(1, doc_id);
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("no document " + doc_id + " (see `dossier docs --case ID`)");
  DocRow d;
  d.id = doc_id;
  d.object_id = s.Text(0);
  d.status = s.Text(1);
  d.removed_at = s.Text(6);
  d.size = static_cast<uint64_t>(s.Int(2));
  d.stored_size = static_cast<uint64_t>(s.Int(3));
  d.wrapped = s.Blob(4);
  d.content_mac = s.Blob(5);
  d.rendition_object = s.Text(7);
  d.rendition_size = static_cast<uint64_t>(s.Int(8));
  d.rendition_stored_size = static_cast<uint64_t>(s.Int(9));
  d.rendition_wrapped = s.Blob(10);
  return d;
}

// What is moved or removed: one document, or a series with every instance filed under it.
struct Target {
  Kind kind = Kind::kDocument;
  std::string id, case_id, patient_id;
  std::string series_id;           // the series, or the series of an instance
  std::string study_id, mismatch;  // a series'
  std::vector<DocRow> docs;        // a series': every instance, removed ones too
  size_t stored = 0;               // how many of them are stored
  std::string removed_at;          // nothing stored: when the last one was removed
};

Result<Target> ReadTarget(Vault& vault, Vault::Impl& v, const std::string& id) {
  Target t;
  t.id = id;
  DOSSIER_ASSIGN_OR_RETURN(t.kind, KindOf(id));
  if (t.kind == Kind::kDocument) {
    DOSSIER_ASSIGN_OR_RETURN(DocumentRecord d, vault.GetDocument(id));  // checks its rows
    if (d.status == "erased") {
      return Rejected(
          fmt::format("document {} was erased together with patient {}", id, d.patient_id));
    }
    t.case_id = d.case_id;
    t.series_id = d.series_id;
    DOSSIER_ASSIGN_OR_RETURN(DocRow row, ReadDocRow(v, id));
    t.docs.push_back(std::move(row));
  } else {
    DOSSIER_RETURN_IF_ERROR(v.CheckRows(RowTable::kDicomSeries, "id = ?1", {id}));
    {
      DOSSIER_ASSIGN_OR_RETURN(
          Stmt s,
          v.Conn().Prepare("SELECT study_id, case_id, mismatch FROM dicom_series WHERE id = ?"));
      s.Bind(1, id);
      DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return NotFound("no DICOM series " + id + " (see `dossier docs --case ID`)");
      t.series_id = id;
      t.study_id = s.Text(0);
      t.case_id = s.Text(1);
      t.mismatch = s.Text(2);
    }
    DOSSIER_RETURN_IF_ERROR(v.CheckRows(RowTable::kDicomStudies, "id = ?1", {t.study_id}));
    const std::string instances = "(SELECT doc_id FROM dicom_instances WHERE series_id = ?1)";
    DOSSIER_RETURN_IF_ERROR(v.CheckRows(RowTable::kDicomInstances, "series_id = ?1", {id}));
    DOSSIER_RETURN_IF_ERROR(v.CheckRows(RowTable::kDocuments, "id IN " + instances, {id}));
    DOSSIER_RETURN_IF_ERROR(
        v.CheckRows(RowTable::kDocumentRemovals, "doc_id IN " + instances, {id}));
    std::vector<std::string> ids;
    {
      DOSSIER_ASSIGN_OR_RETURN(
          Stmt s, v.Conn().Prepare("SELECT i.doc_id FROM dicom_instances i JOIN documents d ON "
                                   "d.id = i.doc_id WHERE i.series_id = ? ORDER BY i.number, "
                                   "d.rowid"));
      s.Bind(1, id);
      for (;;) {
        DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        ids.push_back(s.Text(0));
      }
    }
    for (const std::string& doc_id : ids) {
      DOSSIER_ASSIGN_OR_RETURN(DocRow row, ReadDocRow(v, doc_id));
      t.docs.push_back(std::move(row));
    }
  }
  for (const DocRow& d : t.docs) {
    if (d.status == "stored") ++t.stored;
    if (d.status == "removed" && d.removed_at > t.removed_at) t.removed_at = d.removed_at;
  }
  DOSSIER_ASSIGN_OR_RETURN(Vault::Impl::CaseRef c, v.FindCase(t.case_id));
  if (c.status == "erased") {
    return Rejected(fmt::format("{} was erased together with patient {}", id, c.patient_id));
  }
  t.patient_id = c.patient_id;
  return t;
}

// Binds `blob`, or NULL when it is empty (a key or UID MAC an erasure or removal cleared).
void BindMac(Stmt& s, int index, const Bytes& blob) {
  if (blob.empty()) {
    s.BindNull(index);
  } else {
    s.BindBlob(index, blob);
  }
}

Result<std::string> FindByMac(Vault::Impl& v, const char* table, const std::string& case_id,
                              const Bytes& mac) {
  if (mac.empty()) return std::string();
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s,
      v.Conn().Prepare(fmt::format("SELECT id FROM {} WHERE case_id = ? AND uid_mac = ?", table)));
  s.Bind(1, case_id).BindBlob(2, mac);
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Text(0) : std::string();
}

Result<Bytes> UidMacOf(Vault::Impl& v, const char* table, const char* key, const std::string& id) {
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, v.Conn().Prepare(fmt::format("SELECT uid_mac FROM {} WHERE {} = ?", table, key)));
  s.Bind(1, id);
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Blob(0) : Bytes();
}

Status Run(Vault::Impl& v, const std::string& sql, const std::vector<std::string>& args) {
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, v.Conn().Prepare(sql));
  for (size_t i = 0; i < args.size(); ++i) s.Bind(static_cast<int>(i + 1), args[i]);
  return s.Run();
}

// A series' place under the patient it moves to: its UID MACs under their key and what the
// wrong-patient check says against them.
struct DicomPlace {
  Bytes study_mac, series_mac;
  std::map<std::string, Bytes> instance_macs;  // by document; stored instances only
  std::string mismatch;
};

Result<DicomPlace> PlaceSeries(Vault::Impl& v, const Target& t, const std::string& to_patient,
                               const DicomRecheckFn& recheck) {
  DicomPlace p;
  if (to_patient == t.patient_id) {  // the same UID-MAC key: nothing to recompute
    DOSSIER_ASSIGN_OR_RETURN(p.study_mac, UidMacOf(v, "dicom_studies", "id", t.study_id));
    DOSSIER_ASSIGN_OR_RETURN(p.series_mac, UidMacOf(v, "dicom_series", "id", t.id));
    p.mismatch = t.mismatch;
    return p;
  }
  if (!recheck) return Internal("moving a DICOM series to another patient needs its UIDs");
  PatientInfo to;
  {
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s, v.Conn().Prepare("SELECT name_enc, birth_date_enc FROM patients WHERE id = ?"));
    s.Bind(1, to_patient);
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return NotFound("no patient " + to_patient);
    DOSSIER_ASSIGN_OR_RETURN(to.name,
                             v.OpenField(to_patient, "patients.name", to_patient, s.Blob(0), true));
    DOSSIER_ASSIGN_OR_RETURN(
        to.birth_date, v.OpenField(to_patient, "patients.birth_date", to_patient, s.Blob(1), true));
  }
  for (const DocRow& d : t.docs) {
    if (d.status != "stored") continue;
    Bytes sealed;
    {
      DOSSIER_ASSIGN_OR_RETURN(
          Stmt s, v.Conn().Prepare("SELECT summary_enc FROM dicom_instances WHERE doc_id = ?"));
      s.Bind(1, d.id);
      DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
      if (row) sealed = s.Blob(0);
    }
    DOSSIER_ASSIGN_OR_RETURN(
        std::string summary,
        v.OpenField(t.patient_id, "dicom_instances.summary", d.id, sealed, true));
    DOSSIER_ASSIGN_OR_RETURN(DicomRecheck r, recheck(summary, to));
    if (p.series_mac.empty()) {  // the series is filed by its first instance's UIDs
      DOSSIER_ASSIGN_OR_RETURN(p.study_mac, v.UidMac(to_patient, "study", r.study_uid));
      DOSSIER_ASSIGN_OR_RETURN(p.series_mac,
                               v.UidMac(to_patient, "series", r.study_uid + '\0' + r.series_uid));
    }
    DOSSIER_ASSIGN_OR_RETURN(p.instance_macs[d.id],
                             v.UidMac(to_patient, "instance", r.instance_uid));
    if (p.mismatch.empty()) p.mismatch = r.mismatch;
  }
  return p;
}

// Files the series under the new case's study of the same UID, or takes its study along (a
// copy when other series of it stay behind); returns the study it is now under.
Result<std::string> MoveStudy(Vault::Impl& v, const Target& t, const std::string& to_case,
                              const std::string& to_patient, const DicomPlace& p) {
  DOSSIER_ASSIGN_OR_RETURN(std::string there, FindByMac(v, "dicom_studies", to_case, p.study_mac));
  bool alone = false;
  {
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt others,
        v.Conn().Prepare("SELECT COUNT(*) FROM dicom_series WHERE study_id = ? AND id != ?"));
    others.Bind(1, t.study_id).Bind(2, t.id);
    DOSSIER_RETURN_IF_ERROR(others.Step().status());
    alone = others.Int(0) == 0;
  }
  if (!there.empty()) {
    if (alone) {  // nothing else is filed under it: it would only keep the old summary
      DOSSIER_RETURN_IF_ERROR(
          Run(v, "UPDATE dicom_series SET study_id = ?2 WHERE id = ?1", {t.id, there}));
      DOSSIER_RETURN_IF_ERROR(Run(v, "DELETE FROM dicom_studies WHERE id = ?1", {t.study_id}));
    }
    return there;
  }
  std::string study = t.study_id;
  if (alone) {
    DOSSIER_RETURN_IF_ERROR(
        Run(v, "UPDATE dicom_studies SET case_id = ?2 WHERE id = ?1", {study, to_case}));
    if (to_patient != t.patient_id) {
      DOSSIER_RETURN_IF_ERROR(Reseal(v, kStudySealed, study, t.patient_id, to_patient));
    }
  } else {
    study = RandomId("stu");
    Bytes sealed;
    {
      DOSSIER_ASSIGN_OR_RETURN(
          Stmt s, v.Conn().Prepare("SELECT summary_enc FROM dicom_studies WHERE id = ?"));
      s.Bind(1, t.study_id);
      DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
      if (row) sealed = s.Blob(0);
    }
    DOSSIER_ASSIGN_OR_RETURN(std::string summary, v.OpenField(t.patient_id, "dicom_studies.summary",
                                                              t.study_id, sealed, true));
    DOSSIER_ASSIGN_OR_RETURN(Bytes again,
                             v.SealField(to_patient, "dicom_studies.summary", study, summary));
    DOSSIER_ASSIGN_OR_RETURN(Stmt ins,
                             v.Conn().Prepare("INSERT INTO dicom_studies(id, case_id, summary_enc) "
                                              "VALUES (?,?,?)"));
    ins.Bind(1, study).Bind(2, to_case).BindBlob(3, again);
    DOSSIER_RETURN_IF_ERROR(ins.Run());
  }
  DOSSIER_ASSIGN_OR_RETURN(Stmt mac,
                           v.Conn().Prepare("UPDATE dicom_studies SET uid_mac = ? WHERE id = ?"));
  BindMac(mac, 1, p.study_mac);
  mac.Bind(2, study);
  DOSSIER_RETURN_IF_ERROR(mac.Run());
  DOSSIER_RETURN_IF_ERROR(v.SealRows(RowTable::kDicomStudies, "id = ?1", {study}));
  return study;
}

}  // namespace

Result<MoveOutcome> Vault::Move(const std::string& id, const std::string& to_case,
                                const DicomRecheckFn& recheck) {
  auto writing = impl_->Write();
  Impl& v = *impl_;
  DOSSIER_ASSIGN_OR_RETURN(Target t, ReadTarget(*this, v, id));
  if (t.stored == 0) {
    return Rejected(fmt::format("{} was removed on {}: nothing of it is left to move", id,
                                t.removed_at.substr(0, 10)));
  }
  if (t.kind == Kind::kDocument && !t.series_id.empty()) {
    return Rejected(fmt::format(
        "{} is one instance of DICOM series {}: move the whole series (`dossier docs move {} "
        "--to-case CASE`)",
        id, t.series_id, t.series_id));
  }
  DOSSIER_ASSIGN_OR_RETURN(Impl::CaseRef to, v.FindCase(to_case));
  if (to_case == t.case_id) return Rejected(fmt::format("{} is already in case {}", id, to_case));
  if (to.status == "erased") {
    return Rejected(fmt::format("case {} belongs to an erased patient", to_case));
  }
  if (to.status != "open") {
    return Rejected(fmt::format("case {} is {}: reopen it first (`dossier case reopen {}`)",
                                to_case, to.status, to_case));
  }
  DOSSIER_RETURN_IF_ERROR(v.Keys(to.patient_id).status());
  const bool other_patient = to.patient_id != t.patient_id;
  // A case holds one copy of a content and of a series (ingest keeps it so).
  for (const DocRow& d : t.docs) {
    if (d.status != "stored" || d.content_mac.empty()) continue;
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt dup, v.Conn().Prepare("SELECT id FROM documents WHERE case_id = ? AND content_mac = ? "
                                   "AND status = 'stored' LIMIT 1"));
    dup.Bind(1, to_case).BindBlob(2, d.content_mac);
    DOSSIER_ASSIGN_OR_RETURN(bool found, dup.Step());
    if (found) {
      return Rejected(fmt::format(
          "{}{} has the same content as {}, already in case {}: remove one of the two instead "
          "(`dossier docs remove ID --reason TEXT`)",
          t.kind == Kind::kSeries ? "instance " + d.id + " of " : "", id, dup.Text(0), to_case));
    }
  }
  DicomPlace place;
  if (t.kind == Kind::kSeries) {
    DOSSIER_ASSIGN_OR_RETURN(place, PlaceSeries(v, t, to.patient_id, recheck));
    DOSSIER_ASSIGN_OR_RETURN(std::string there,
                             FindByMac(v, "dicom_series", to_case, place.series_mac));
    if (!there.empty()) {
      return Rejected(fmt::format(
          "case {} already holds this series as {}: remove one of the two first (`dossier docs "
          "remove ID --reason TEXT`)",
          to_case, there));
    }
  }

  // An object's data key, bound to the document's old case and patient, wrapped for the new.
  auto rewrap = [&](const DocRow& d, const std::string& object, uint64_t size, uint64_t stored,
                    const Bytes& wrapped) -> Result<Bytes> {
    const Impl::ObjectBinding from{t.patient_id, object, d.id, t.case_id, size, stored};
    Impl::ObjectBinding now = from;
    now.patient_id = to.patient_id;
    now.case_id = to_case;
    DOSSIER_ASSIGN_OR_RETURN(SecureBuffer key, v.UnwrapObjectKey(from, wrapped));
    return v.WrapObjectKey(now, key);
  };
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(v));
  for (const DocRow& d : t.docs) {
    Bytes wrapped;  // a removed document has no key left
    if (d.status == "stored") {
      DOSSIER_ASSIGN_OR_RETURN(wrapped, rewrap(d, d.object_id, d.size, d.stored_size, d.wrapped));
    }
    if (!d.rendition_object.empty()) {  // bound to the case and patient as the document is
      DOSSIER_ASSIGN_OR_RETURN(
          Bytes rewrapped, rewrap(d, d.rendition_object, d.rendition_size, d.rendition_stored_size,
                                  d.rendition_wrapped));
      DOSSIER_ASSIGN_OR_RETURN(
          Stmt re, v.Conn().Prepare("UPDATE renditions SET wrapped_key = ? WHERE doc_id = ?"));
      re.BindBlob(1, rewrapped).Bind(2, d.id);
      DOSSIER_RETURN_IF_ERROR(re.Run());
    }
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt up,
        v.Conn().Prepare("UPDATE documents SET case_id = ?, patient_id = ?, wrapped_key = ? "
                         "WHERE id = ?"));
    up.Bind(1, to_case).Bind(2, to.patient_id).Bind(4, d.id);
    BindMac(up, 3, wrapped);
    DOSSIER_RETURN_IF_ERROR(up.Run());
    if (other_patient) {
      for (const SealedColumn& c : kDocumentSealed) {
        DOSSIER_RETURN_IF_ERROR(Reseal(v, c, d.id, t.patient_id, to.patient_id));
      }
    }
    if (auto mac = place.instance_macs.find(d.id); mac != place.instance_macs.end()) {
      DOSSIER_ASSIGN_OR_RETURN(
          Stmt im, v.Conn().Prepare("UPDATE dicom_instances SET uid_mac = ? WHERE doc_id = ?"));
      im.BindBlob(1, mac->second).Bind(2, d.id);
      DOSSIER_RETURN_IF_ERROR(im.Run());
    }
  }
  std::string where = "id = ?1";
  if (t.kind == Kind::kSeries) {
    DOSSIER_ASSIGN_OR_RETURN(std::string study, MoveStudy(v, t, to_case, to.patient_id, place));
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt up, v.Conn().Prepare("UPDATE dicom_series SET case_id = ?, study_id = ?, uid_mac = ?, "
                                  "mismatch = ? WHERE id = ?"));
    up.Bind(1, to_case).Bind(2, study).Bind(4, place.mismatch).Bind(5, id);
    BindMac(up, 3, place.series_mac);
    DOSSIER_RETURN_IF_ERROR(up.Run());
    if (other_patient) {
      for (const SealedColumn& c : kSeriesSealed) {
        DOSSIER_RETURN_IF_ERROR(Reseal(v, c, id, t.patient_id, to.patient_id));
      }
    }
    DOSSIER_RETURN_IF_ERROR(v.SealRows(RowTable::kDicomSeries, "id = ?1", {id}));
    where = "id IN (SELECT doc_id FROM dicom_instances WHERE series_id = ?1)";
  }
  DOSSIER_RETURN_IF_ERROR(v.SealRows(RowTable::kDocuments, where, {id}));
  const std::string doc_where = "doc_id IN (SELECT id FROM documents WHERE " + where + ")";
  DOSSIER_RETURN_IF_ERROR(v.SealRows(RowTable::kPages, doc_where, {id}));
  DOSSIER_RETURN_IF_ERROR(v.SealRows(RowTable::kDicomInstances, doc_where, {id}));
  const std::string action = t.kind == Kind::kSeries ? "dicom.series_move" : "document.move";
  DOSSIER_RETURN_IF_ERROR(v.Audit(action, {id, t.case_id, to_case}, t.patient_id));
  if (other_patient) {  // each patient's log shows it
    DOSSIER_RETURN_IF_ERROR(v.Audit(action, {id, t.case_id, to_case}, to.patient_id));
  }
  DOSSIER_RETURN_IF_ERROR(tx.Commit());

  MoveOutcome out;
  out.id = id;
  out.from_case = t.case_id;
  out.to_case = to_case;
  out.from_patient = t.patient_id;
  out.to_patient = to.patient_id;
  out.series = t.kind == Kind::kSeries;
  for (const DocRow& d : t.docs) out.doc_ids.push_back(d.id);
  out.mismatch_before = t.mismatch;
  out.mismatch = place.mismatch;
  return out;
}

Result<RemoveOutcome> Vault::Remove(const std::string& id, const std::string& reason) {
  auto writing = impl_->Write();
  Impl& v = *impl_;
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument("say why " + id + " is removed (--reason TEXT)");
  }
  DOSSIER_ASSIGN_OR_RETURN(Target t, ReadTarget(*this, v, id));
  if (t.stored == 0) {
    return Rejected(fmt::format("{} was already removed on {} (see `dossier docs --case {} --all`)",
                                id, t.removed_at.substr(0, 10), t.case_id));
  }
  DOSSIER_RETURN_IF_ERROR(CommitBatch());  // committed and checkpointed on its own, as erasure
  RemoveOutcome out;
  out.id = id;
  out.case_id = t.case_id;
  out.patient_id = t.patient_id;
  out.series = t.kind == Kind::kSeries;
  out.removed_at = v.Now();
  std::vector<std::string> objects;
  {
    DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(v));
    for (const DocRow& d : t.docs) {
      if (d.status != "stored") continue;
      DOSSIER_ASSIGN_OR_RETURN(Bytes sealed,
                               v.SealField(t.patient_id, "document_removals.reason", d.id, reason));
      DOSSIER_ASSIGN_OR_RETURN(
          Stmt ins,
          v.Conn().Prepare("INSERT INTO document_removals(doc_id, removed_at, reason_enc) "
                           "VALUES (?,?,?)"));
      ins.Bind(1, d.id).Bind(2, out.removed_at).BindBlob(3, sealed);
      DOSSIER_RETURN_IF_ERROR(ins.Run());
      for (const char* sql :
           {"UPDATE documents SET status = 'removed', wrapped_key = NULL, content_mac = NULL, "
            "name_enc = NULL WHERE id = ?1",
            "DELETE FROM pages WHERE doc_id = ?1",
            "UPDATE document_warnings SET warnings_enc = NULL WHERE doc_id = ?1",
            "UPDATE dicom_instances SET uid_mac = NULL, summary_enc = NULL WHERE doc_id = ?1",
            "DELETE FROM renditions WHERE doc_id = ?1"}) {
        DOSSIER_RETURN_IF_ERROR(Run(v, sql, {d.id}));
      }
      if (!d.rendition_object.empty()) objects.push_back(d.rendition_object);
      DOSSIER_RETURN_IF_ERROR(v.SealRows(RowTable::kDocuments, "id = ?1", {d.id}));
      DOSSIER_RETURN_IF_ERROR(v.SealRows(RowTable::kDocumentWarnings, "doc_id = ?1", {d.id}));
      DOSSIER_RETURN_IF_ERROR(v.SealRows(RowTable::kDocumentRemovals, "doc_id = ?1", {d.id}));
      out.doc_ids.push_back(d.id);
      objects.push_back(d.object_id);
    }
    if (!t.series_id.empty()) {
      // The preview may show a removed image; a series or study with nothing stored left
      // keeps no summary and no UID MAC (the same disc ingested again files anew).
      constexpr const char* kNothingStored =
          "NOT EXISTS (SELECT 1 FROM dicom_instances i JOIN documents d ON d.id = i.doc_id "
          "WHERE i.series_id = dicom_series.id AND d.status = 'stored')";
      DOSSIER_RETURN_IF_ERROR(
          Run(v, "UPDATE dicom_series SET preview_enc = NULL WHERE id = ?1", {t.series_id}));
      DOSSIER_RETURN_IF_ERROR(
          Run(v,
              std::string("UPDATE dicom_series SET uid_mac = NULL, summary_enc = NULL WHERE "
                          "id = ?1 AND ") +
                  kNothingStored,
              {t.series_id}));
      DOSSIER_RETURN_IF_ERROR(
          Run(v,
              std::string("UPDATE dicom_studies SET uid_mac = NULL, summary_enc = NULL WHERE id = "
                          "(SELECT study_id FROM dicom_series WHERE id = ?1) AND NOT EXISTS "
                          "(SELECT 1 FROM dicom_series WHERE study_id = dicom_studies.id AND "
                          "NOT ") +
                  kNothingStored + ")",
              {t.series_id}));
      DOSSIER_RETURN_IF_ERROR(v.SealRows(RowTable::kDicomSeries, "id = ?1", {t.series_id}));
    }
    DOSSIER_RETURN_IF_ERROR(
        v.Audit(t.kind == Kind::kSeries ? "dicom.series_remove" : "document.remove",
                {id, t.case_id}, t.patient_id));
    DOSSIER_RETURN_IF_ERROR(tx.Commit());
  }
  // The objects go once the removal is committed; a crash before leaves them to the next
  // open's sweep of orphans (only stored documents' objects are known).
  Status removed = Status::Ok();
  for (const auto& object : objects) {
    if (Status st = v.objects_.Remove(object, false); !st.ok() && removed.ok()) removed = st;
  }
  if (Status st = v.objects_.Flush(); !st.ok() && removed.ok()) removed = st;
  if (Status st = v.dir_.SyncFilesystem(); !st.ok() && removed.ok()) removed = st;
  // Move the cleared key out of the WAL into the (secure_delete) main file.
  DOSSIER_RETURN_IF_ERROR(v.CheckpointWal(30000));
  if (!removed.ok()) {
    return removed.WithContext(fmt::format(
        "{} is removed, but some of its object files could not be deleted yet (the next "
        "dossier command deletes them)",
        id));
  }
  return out;
}

}  // namespace dossier::vault
