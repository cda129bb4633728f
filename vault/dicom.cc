// DICOM studies, series and instances in the catalog (schema 003): grouped by keyed MACs of
// their UIDs, every descriptive field sealed with the patient's field key.
#include <algorithm>
#include <map>

#include "common/encoding.h"
#include "common/text.h"
#include "vault/internal/crypto.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::Stmt;

namespace {

// The row with `uid_mac` in `table` of the case, or "" when there is none.
Result<std::string> FindByMac(internal::Db& db, const char* sql, const std::string& scope,
                              const Bytes& mac) {
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, db.Prepare(sql));
  s.Bind(1, scope).BindBlob(2, mac);
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Text(0) : std::string();
}

}  // namespace

Result<std::string> Vault::AddDicomInstance(const std::string& doc_id,
                                            const DicomInstanceInfo& info) {
  auto writing = impl_->Write();
  DOSSIER_ASSIGN_OR_RETURN(DocumentRecord d, GetDocument(doc_id));
  if (d.status != "stored") return Rejected("document " + doc_id + " was erased");
  const std::string& pid = d.patient_id;
  auto& db = impl_->db_;
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_ASSIGN_OR_RETURN(Bytes study_mac, impl_->UidMac(pid, "study", info.study_uid));
  DOSSIER_ASSIGN_OR_RETURN(
      std::string study_id,
      FindByMac(db, "SELECT id FROM dicom_studies WHERE case_id = ? AND uid_mac = ?", d.case_id,
                study_mac));
  if (study_id.empty()) {
    study_id = RandomId("stu");
    DOSSIER_ASSIGN_OR_RETURN(
        Bytes sealed, impl_->SealField(pid, "dicom_studies.summary", study_id, info.summary));
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt ins, db.Prepare("INSERT INTO dicom_studies(id, case_id, uid_mac, summary_enc) "
                             "VALUES (?,?,?,?)"));
    ins.Bind(1, study_id).Bind(2, d.case_id).BindBlob(3, study_mac).BindBlob(4, sealed);
    DOSSIER_RETURN_IF_ERROR(ins.Run());
    DOSSIER_RETURN_IF_ERROR(
        impl_->SealRows(internal::RowTable::kDicomStudies, "id = ?1", {study_id}));
  }
  // A series belongs to its study: the same series UID under another study is another series.
  DOSSIER_ASSIGN_OR_RETURN(Bytes series_mac,
                           impl_->UidMac(pid, "series", info.study_uid + '\0' + info.series_uid));
  DOSSIER_ASSIGN_OR_RETURN(
      std::string series_id,
      FindByMac(db, "SELECT id FROM dicom_series WHERE case_id = ? AND uid_mac = ?", d.case_id,
                series_mac));
  if (series_id.empty()) {
    series_id = RandomId("ser");
    DOSSIER_ASSIGN_OR_RETURN(
        Bytes sealed, impl_->SealField(pid, "dicom_series.summary", series_id, info.summary));
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt ins,
        db.Prepare("INSERT INTO dicom_series(id, study_id, case_id, uid_mac, summary_enc, "
                   "mismatch) VALUES (?,?,?,?,?,?)"));
    ins.Bind(1, series_id).Bind(2, study_id).Bind(3, d.case_id).BindBlob(4, series_mac);
    ins.BindBlob(5, sealed).Bind(6, info.mismatch);
    DOSSIER_RETURN_IF_ERROR(ins.Run());
    DOSSIER_RETURN_IF_ERROR(
        impl_->SealRows(internal::RowTable::kDicomSeries, "id = ?1", {series_id}));
  } else if (!info.mismatch.empty()) {
    // Any instance of another patient flags its series, not just the first one filed, and
    // every reason given is kept.
    std::string merged;
    {  // a row changed outside Dossier is reported, never sealed anew
      DOSSIER_RETURN_IF_ERROR(
          impl_->CheckRows(internal::RowTable::kDicomSeries, "id = ?1", {series_id}));
      DOSSIER_ASSIGN_OR_RETURN(Stmt cur,
                               db.Prepare("SELECT mismatch FROM dicom_series WHERE id = ?"));
      cur.Bind(1, series_id);
      DOSSIER_ASSIGN_OR_RETURN(bool row, cur.Step());
      const std::string now = row ? cur.Text(0) : std::string();
      merged = MergeReasons(now, info.mismatch);
      if (merged == now) merged.clear();
    }
    if (!merged.empty()) {
      DOSSIER_ASSIGN_OR_RETURN(Stmt up,
                               db.Prepare("UPDATE dicom_series SET mismatch = ? WHERE id = ?"));
      up.Bind(1, merged).Bind(2, series_id);
      DOSSIER_RETURN_IF_ERROR(up.Run());
      DOSSIER_RETURN_IF_ERROR(
          impl_->SealRows(internal::RowTable::kDicomSeries, "id = ?1", {series_id}));
    }
  }
  DOSSIER_ASSIGN_OR_RETURN(Bytes instance_mac, impl_->UidMac(pid, "instance", info.instance_uid));
  DOSSIER_ASSIGN_OR_RETURN(Bytes sealed,
                           impl_->SealField(pid, "dicom_instances.summary", doc_id, info.summary));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt ins, db.Prepare("INSERT OR REPLACE INTO dicom_instances(doc_id, series_id, uid_mac, "
                           "number, summary_enc) VALUES (?,?,?,?,?)"));
  ins.Bind(1, doc_id).Bind(2, series_id).BindBlob(3, instance_mac).Bind(4, info.instance_number);
  ins.BindBlob(5, sealed);
  DOSSIER_RETURN_IF_ERROR(ins.Run());
  DOSSIER_RETURN_IF_ERROR(
      impl_->SealRows(internal::RowTable::kDicomInstances, "doc_id = ?1", {doc_id}));
  // Not audited on its own: the document's `document.store` event, in the same batch,
  // already records that this data entered the vault (a disc would log 2,000 more events).
  DOSSIER_RETURN_IF_ERROR(tx.Commit());
  return series_id;
}

namespace {

// The case and patient a series belongs to: kNotFound for an unknown id.
Result<std::pair<std::string, std::string>> SeriesOwner(Vault::Impl& v,
                                                        const std::string& series_id) {
  DOSSIER_RETURN_IF_ERROR(v.CheckRows(internal::RowTable::kDicomSeries, "id = ?1", {series_id}));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, v.Conn().Prepare("SELECT case_id FROM dicom_series "
                                                    "WHERE id = ?"));
  s.Bind(1, series_id);
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("no DICOM series " + series_id + " (see `dossier docs --case ID`)");
  const std::string case_id = s.Text(0);
  DOSSIER_ASSIGN_OR_RETURN(Vault::Impl::CaseRef c, v.FindCase(case_id));
  if (c.status == "erased")
    return Rejected("series " + series_id + " belongs to an erased patient");
  return std::pair{case_id, c.patient_id};
}

}  // namespace

Status Vault::SetSeriesPreview(const std::string& series_id, std::span<const uint8_t> png) {
  auto writing = impl_->Write();
  DOSSIER_ASSIGN_OR_RETURN(auto owner, SeriesOwner(*impl_, series_id));
  DOSSIER_ASSIGN_OR_RETURN(
      Bytes sealed,
      impl_->SealField(owner.second, "dicom_series.preview", series_id,
                       std::string(reinterpret_cast<const char*>(png.data()), png.size())));
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt up, impl_->Conn().Prepare("UPDATE dicom_series SET preview_enc = ? WHERE id = ?"));
  up.BindBlob(1, sealed).Bind(2, series_id);
  DOSSIER_RETURN_IF_ERROR(up.Run());
  DOSSIER_RETURN_IF_ERROR(
      impl_->SealRows(internal::RowTable::kDicomSeries, "id = ?1", {series_id}));
  return tx.Commit();
}

Result<std::vector<uint8_t>> Vault::GetSeriesPreview(const std::string& series_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(auto owner, SeriesOwner(*impl_, series_id));
  Bytes sealed;
  {  // copy the ciphertext and finish the statement before the audit write
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s, impl_->Conn().Prepare("SELECT preview_enc FROM dicom_series WHERE id = ?"));
    s.Bind(1, series_id);
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row || s.IsNull(0)) return NotFound("series " + series_id + " has no preview");
    sealed = s.Blob(0);
  }
  // On record before it is decrypted.
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("dicom.preview", {series_id}, owner.second));
  DOSSIER_ASSIGN_OR_RETURN(std::string png, impl_->OpenField(owner.second, "dicom_series.preview",
                                                             series_id, sealed, true));
  return std::vector<uint8_t>(png.begin(), png.end());
}

Result<SecureBuffer> Vault::ExportUidKey(const std::string& case_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(Impl::CaseRef c, impl_->FindCase(case_id));
  if (c.status == "erased") return Rejected("case " + case_id + " belongs to an erased patient");
  DOSSIER_ASSIGN_OR_RETURN(auto keys, impl_->Keys(c.patient_id));
  // Derived from the patient key, which is random and only rewrapped by a key rotation: the
  // export UIDs of a patient stay the same across `vault passwd` (doc/FORMAT.md).
  return internal::DeriveSubkey(keys->uid, 1, "dsexport");
}

Result<std::vector<DicomSeriesRecord>> Vault::ListDicomSeries(const std::string& case_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(Impl::CaseRef c, impl_->FindCase(case_id));
  if (c.status == "erased") return Rejected("case " + case_id + " belongs to an erased patient");
  using internal::RowTable;
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(RowTable::kDicomStudies, "case_id = ?1", {case_id}));
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(RowTable::kDicomSeries, "case_id = ?1", {case_id}));
  DOSSIER_RETURN_IF_ERROR(
      impl_->CheckRows(RowTable::kDicomInstances,
                       "series_id IN (SELECT id FROM dicom_series WHERE case_id = ?1)", {case_id}));
  // The rows of the instances' documents, whose status the query reads: not the case's every
  // document (a case of 10,000 letters has no series to check them for).
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(
      RowTable::kDocuments,
      "id IN (SELECT i.doc_id FROM dicom_instances i JOIN dicom_series s ON s.id = i.series_id "
      "WHERE s.case_id = ?1)",
      {case_id}));
  // A series whose every instance was removed has no summary left (vault/corrections.cc).
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->Conn().Prepare(
                  "SELECT id, study_id, summary_enc, mismatch, preview_enc IS NOT NULL FROM "
                  "dicom_series s WHERE case_id = ? AND EXISTS (SELECT 1 FROM dicom_instances i "
                  "JOIN documents d ON d.id = i.doc_id WHERE i.series_id = s.id AND "
                  "d.status = 'stored') ORDER BY rowid"));
  s.Bind(1, case_id);
  std::vector<DicomSeriesRecord> out;
  std::map<std::string, size_t> index;
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    DicomSeriesRecord r;
    r.id = s.Text(0);
    r.study_id = s.Text(1);
    DOSSIER_ASSIGN_OR_RETURN(
        r.summary, impl_->OpenField(c.patient_id, "dicom_series.summary", r.id, s.Blob(2), true));
    r.mismatch = s.Text(3);
    r.has_preview = s.Int(4) != 0;
    index[r.id] = out.size();
    out.push_back(std::move(r));
  }
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt i, impl_->Conn().Prepare(
                  "SELECT i.doc_id, i.series_id, i.summary_enc FROM dicom_instances i "
                  "JOIN dicom_series s ON s.id = i.series_id JOIN documents d ON d.id = i.doc_id "
                  "WHERE s.case_id = ? AND d.status = 'stored' ORDER BY i.number, d.rowid"));
  i.Bind(1, case_id);
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool row, i.Step());
    if (!row) break;
    const auto it = index.find(i.Text(1));
    if (it == index.end()) continue;
    DicomSeriesRecord& r = out[it->second];
    r.doc_ids.push_back(i.Text(0));
    DOSSIER_ASSIGN_OR_RETURN(std::string summary,
                             impl_->OpenField(c.patient_id, "dicom_instances.summary",
                                              r.doc_ids.back(), i.Blob(2), true));
    r.instance_summaries.push_back(std::move(summary));
  }
  std::erase_if(out, [](const DicomSeriesRecord& r) { return r.doc_ids.empty(); });
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("dicom.list", {case_id}, c.patient_id));
  return out;
}

}  // namespace dossier::vault
