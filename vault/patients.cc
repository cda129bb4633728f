// Patients and cases: encrypted fields, crypto-shredding.
#include <fmt/format.h>

#include "common/encoding.h"
#include "vault/internal/crypto.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::Stmt;
using internal::Transaction;

namespace {

Status CheckPatientInfo(const PatientInfo& info) {
  if (info.name.empty()) return InvalidArgument("the patient's name is empty");
  if (!ParseDate(info.birth_date)) {
    return InvalidArgument("the birth date must be a real date written YYYY-MM-DD");
  }
  return Status::Ok();
}

// Binds the sealed value of `text`, or NULL when it is empty.
Status BindSealed(Vault::Impl& v, Stmt& s, int index, const std::string& pid,
                  const std::string& where, const std::string& text) {
  if (text.empty()) {
    s.BindNull(index);
    return Status::Ok();
  }
  DOSSIER_ASSIGN_OR_RETURN(Bytes sealed, v.SealField(pid, where, pid, text));
  s.BindBlob(index, sealed);
  return Status::Ok();
}

}  // namespace

Result<std::string> Vault::AddPatient(const PatientInfo& info) {
  DOSSIER_RETURN_IF_ERROR(CheckPatientInfo(info));
  const std::string pid = RandomId("pat");
  SecureBuffer pk = SecureBuffer::Random(internal::kKeyBytes);
  const Bytes wrapped =
      internal::Seal(impl_->master_key_, pk.span(), "dossier-patient-key-v1:" + pid);
  impl_->patient_keys_.emplace(pid, Impl::PatientKeys::From(std::move(pk)));

  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->db_.Prepare("INSERT INTO patients(id, created_at, wrapped_key, name_enc, "
                                 "birth_date_enc, phone_enc, email_enc) VALUES (?,?,?,?,?,?,?)"));
  s.Bind(1, pid).Bind(2, impl_->Now()).BindBlob(3, wrapped);
  DOSSIER_RETURN_IF_ERROR(BindSealed(*impl_, s, 4, pid, "patients.name", info.name));
  DOSSIER_RETURN_IF_ERROR(BindSealed(*impl_, s, 5, pid, "patients.birth_date", info.birth_date));
  DOSSIER_RETURN_IF_ERROR(BindSealed(*impl_, s, 6, pid, "patients.phone", info.phone));
  DOSSIER_RETURN_IF_ERROR(BindSealed(*impl_, s, 7, pid, "patients.email", info.email));
  DOSSIER_RETURN_IF_ERROR(s.Run());
  DOSSIER_RETURN_IF_ERROR(impl_->SealRows(internal::RowTable::kPatients, "id = ?1", {pid}));
  DOSSIER_RETURN_IF_ERROR(impl_->Audit("patient.add", {pid}, pid));
  DOSSIER_RETURN_IF_ERROR(tx.Commit());
  return pid;
}

namespace {

constexpr const char* kPatientColumns =
    "SELECT id, created_at, erased_at, name_enc, birth_date_enc, phone_enc, email_enc "
    "FROM patients";

Result<PatientRecord> ReadPatientRow(Vault::Impl& v, const Stmt& s) {
  PatientRecord p;
  p.id = s.Text(0);
  p.created_at = s.Text(1);
  p.erased = !s.IsNull(2);
  p.erased_at = s.Text(2);
  if (p.erased) return p;
  DOSSIER_ASSIGN_OR_RETURN(p.info.name, v.OpenField(p.id, "patients.name", p.id, s.Blob(3), true));
  DOSSIER_ASSIGN_OR_RETURN(p.info.birth_date,
                           v.OpenField(p.id, "patients.birth_date", p.id, s.Blob(4), true));
  DOSSIER_ASSIGN_OR_RETURN(p.info.phone, v.OpenField(p.id, "patients.phone", p.id, s.Blob(5)));
  DOSSIER_ASSIGN_OR_RETURN(p.info.email, v.OpenField(p.id, "patients.email", p.id, s.Blob(6)));
  return p;
}

}  // namespace

Result<std::vector<PatientRecord>> Vault::ListPatients() {
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(internal::RowTable::kPatients, "1", {}));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->db_.Prepare(std::string(kPatientColumns) + " ORDER BY created_at, id"));
  DOSSIER_ASSIGN_OR_RETURN(auto out, s.Collect<PatientRecord>([&](const Stmt& row) {
    return ReadPatientRow(*impl_, row);
  }));
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("patient.list", {}, ""));
  return out;
}

Result<PatientRecord> Vault::GetPatient(const std::string& patient_id) {
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(internal::RowTable::kPatients, "id = ?1", {patient_id}));
  PatientRecord p;
  {  // finish the statement before the audit write
    DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                             impl_->db_.Prepare(std::string(kPatientColumns) + " WHERE id = ?"));
    s.Bind(1, patient_id);
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return NotFound("no patient " + patient_id + " (see `dossier patient list`)");
    DOSSIER_ASSIGN_OR_RETURN(p, ReadPatientRow(*impl_, s));
  }
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("patient.read", {patient_id}, patient_id));
  return p;
}

Status Vault::ErasePatient(const std::string& patient_id) {
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(internal::RowTable::kPatients, "id = ?1", {patient_id}));
  {
    DOSSIER_ASSIGN_OR_RETURN(Stmt find,
                             impl_->db_.Prepare("SELECT erased_at FROM patients WHERE id = ?"));
    find.Bind(1, patient_id);
    DOSSIER_ASSIGN_OR_RETURN(bool row, find.Step());
    if (!row) return NotFound("no patient " + patient_id);
    if (!find.IsNull(0)) {
      return Rejected(fmt::format("patient {} was already erased on {}", patient_id, find.Text(0)));
    }
  }  // the statement must be finished before the WAL checkpoint below
  const std::string now = impl_->Now();
  DOSSIER_RETURN_IF_ERROR(CommitBatch());  // the erasure must be committed and checkpointed
  // Every object file of theirs, deleted once the erasure is committed.
  std::vector<std::string> objects;
  {
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s, impl_->db_.Prepare("SELECT object_id FROM documents WHERE patient_id = ?1 UNION "
                                   "SELECT scan_object_id FROM consents WHERE patient_id = ?1 "
                                   "AND scan_object_id IS NOT NULL"));
    s.Bind(1, patient_id);
    for (;;) {
      DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      objects.push_back(s.Text(0));
    }
  }
  {
    DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
    for (const char* sql :
         {"UPDATE patients SET wrapped_key = NULL, name_enc = NULL, birth_date_enc = NULL, "
          "phone_enc = NULL, email_enc = NULL, erased_at = ?2 WHERE id = ?1",
          "UPDATE consents SET representative_enc = NULL, authority_enc = NULL, "
          "scan_wrapped_key = NULL, scan_digest_enc = NULL, revocation_reason_enc = NULL "
          "WHERE patient_id = ?1",
          "UPDATE cases SET goal_enc = NULL, question_enc = NULL, status = 'erased' "
          "WHERE patient_id = ?1",
          "UPDATE documents SET name_enc = NULL, wrapped_key = NULL, content_mac = NULL, "
          "status = 'erased' WHERE patient_id = ?1",
          "UPDATE pages SET text_enc = NULL WHERE doc_id IN "
          "(SELECT id FROM documents WHERE patient_id = ?1)",
          "UPDATE dicom_studies SET uid_mac = NULL, summary_enc = NULL WHERE case_id IN "
          "(SELECT id FROM cases WHERE patient_id = ?1)",
          "UPDATE dicom_series SET uid_mac = NULL, summary_enc = NULL, preview_enc = NULL "
          "WHERE case_id IN "
          "(SELECT id FROM cases WHERE patient_id = ?1)",
          "UPDATE dicom_instances SET uid_mac = NULL, summary_enc = NULL WHERE doc_id IN "
          "(SELECT id FROM documents WHERE patient_id = ?1)",
          "UPDATE audit_notes SET text_enc = NULL WHERE patient_id = ?1"}) {
      DOSSIER_ASSIGN_OR_RETURN(Stmt s, impl_->db_.Prepare(sql));
      s.Bind(1, patient_id);
      if (std::string_view(sql).find("?2") != std::string_view::npos) s.Bind(2, now);
      DOSSIER_RETURN_IF_ERROR(s.Run());
    }
    DOSSIER_RETURN_IF_ERROR(impl_->SealPatientRows(patient_id));
    DOSSIER_RETURN_IF_ERROR(impl_->Audit("patient.erase", {patient_id}, patient_id));
    DOSSIER_RETURN_IF_ERROR(tx.Commit());
  }
  impl_->patient_keys_.erase(patient_id);  // sodium_free zeroes it
  // Their object files go too. A crash before this leaves files that no live row names: the
  // next open sweeps them as orphans (SweepOrphans skips erased rows).
  Status removed = Status::Ok();
  for (const auto& id : objects) {
    if (Status st = impl_->objects_.Remove(id, false); !st.ok() && removed.ok()) removed = st;
  }
  if (Status st = impl_->objects_.Flush(); !st.ok() && removed.ok()) removed = st;
  if (!objects.empty()) {
    if (Status st = impl_->dir_.SyncFilesystem(); !st.ok() && removed.ok()) removed = st;
  }
  // Move the erased rows out of the WAL into the (secure_delete) main file.
  DOSSIER_RETURN_IF_ERROR(impl_->CheckpointWal(30000));
  if (!removed.ok()) {
    return removed.WithContext(fmt::format(
        "patient {} is erased, but some of their object files could not be deleted yet (the "
        "next dossier command deletes them)",
        patient_id));
  }
  return Status::Ok();
}

Result<std::string> Vault::OpenCase(const std::string& patient_id, const std::string& goal,
                                    const std::string& question) {
  if (goal.empty()) return InvalidArgument("the case goal is empty");
  DOSSIER_RETURN_IF_ERROR(impl_->PatientKey(patient_id).status());
  const std::string cid = RandomId("case");
  DOSSIER_ASSIGN_OR_RETURN(Bytes goal_enc, impl_->SealField(patient_id, "cases.goal", cid, goal));
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->db_.Prepare("INSERT INTO cases(id, patient_id, created_at, goal_enc, "
                                 "question_enc) VALUES (?,?,?,?,?)"));
  s.Bind(1, cid).Bind(2, patient_id).Bind(3, impl_->Now()).BindBlob(4, goal_enc);
  if (question.empty()) {
    s.BindNull(5);
  } else {
    DOSSIER_ASSIGN_OR_RETURN(Bytes q,
                             impl_->SealField(patient_id, "cases.question", cid, question));
    s.BindBlob(5, q);
  }
  DOSSIER_RETURN_IF_ERROR(s.Run());
  DOSSIER_RETURN_IF_ERROR(impl_->SealRows(internal::RowTable::kCases, "id = ?1", {cid}));
  DOSSIER_RETURN_IF_ERROR(impl_->Audit("case.open", {cid}, patient_id));
  DOSSIER_RETURN_IF_ERROR(tx.Commit());
  return cid;
}

namespace {

constexpr const char* kCaseColumns =
    "SELECT c.id, c.patient_id, c.created_at, c.status, c.goal_enc, c.question_enc, "
    "(SELECT COUNT(*) FROM documents d WHERE d.case_id = c.id) FROM cases c";

Status NoSuchCase(const std::string& case_id) {
  return NotFound("no case " + case_id + " (see `dossier case list`)");
}

Result<CaseRecord> ReadCaseRow(Vault::Impl& v, const Stmt& s) {
  CaseRecord c;
  c.id = s.Text(0);
  c.patient_id = s.Text(1);
  c.created_at = s.Text(2);
  c.status = s.Text(3);
  c.documents = s.Int(6);
  if (c.status == "erased") return c;
  DOSSIER_ASSIGN_OR_RETURN(c.goal, v.OpenField(c.patient_id, "cases.goal", c.id, s.Blob(4), true));
  DOSSIER_ASSIGN_OR_RETURN(c.question,
                           v.OpenField(c.patient_id, "cases.question", c.id, s.Blob(5)));
  return c;
}

}  // namespace

Result<std::vector<CaseRecord>> Vault::ListCases(const std::optional<std::string>& patient_id) {
  DOSSIER_RETURN_IF_ERROR(
      patient_id ? impl_->CheckRows(internal::RowTable::kCases, "patient_id = ?1", {*patient_id})
                 : impl_->CheckRows(internal::RowTable::kCases, "1", {}));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s,
      impl_->db_.Prepare(std::string(kCaseColumns) + (patient_id ? " WHERE c.patient_id = ?" : "") +
                         " ORDER BY c.created_at, c.id"));
  if (patient_id) s.Bind(1, *patient_id);
  DOSSIER_ASSIGN_OR_RETURN(
      auto out, s.Collect<CaseRecord>([&](const Stmt& row) { return ReadCaseRow(*impl_, row); }));
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("case.list", {}, patient_id.value_or("")));
  return out;
}

Result<CaseRecord> Vault::GetCase(const std::string& case_id) {
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(internal::RowTable::kCases, "id = ?1", {case_id}));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           impl_->db_.Prepare(std::string(kCaseColumns) + " WHERE c.id = ?"));
  s.Bind(1, case_id);
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NoSuchCase(case_id);
  return ReadCaseRow(*impl_, s);
}

Result<Vault::Impl::CaseRef> Vault::Impl::FindCase(const std::string& case_id) {
  DOSSIER_RETURN_IF_ERROR(CheckRows(internal::RowTable::kCases, "id = ?1", {case_id}));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           db_.Prepare("SELECT patient_id, status FROM cases WHERE id = ?"));
  s.Bind(1, case_id);
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NoSuchCase(case_id);
  return CaseRef{s.Text(0), s.Text(1)};
}

}  // namespace dossier::vault
