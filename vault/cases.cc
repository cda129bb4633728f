// Cases: a patient's request to clinics. Goal and question are sealed under the patient's key;
// the status (open | closed | erased) is plain and covered by the row MAC.
#include <fmt/format.h>

#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::Stmt;

namespace {

constexpr const char* kOpen = "open";
constexpr const char* kClosed = "closed";
constexpr const char* kErased = "erased";

// Counted as `docs` shows them: DICOM instances apart (grouped there as series), removed
// documents not at all (`docs` counts them apart, "N removed").
constexpr const char* kCaseColumns =
    "SELECT c.id, c.patient_id, c.created_at, c.status, c.goal_enc, c.question_enc, "
    "(SELECT COUNT(*) FROM documents d WHERE d.case_id = c.id AND d.status != 'removed' AND "
    "NOT EXISTS (SELECT 1 FROM dicom_instances i WHERE i.doc_id = d.id)), "
    "(SELECT COUNT(*) FROM documents d JOIN dicom_instances i ON i.doc_id = d.id "
    "WHERE d.case_id = c.id AND d.status != 'removed') FROM cases c";

Status NoSuchCase(const std::string& case_id) {
  return NotFound("no case " + case_id + " (see `dossier case list`)");
}

Status ErasedCase(const std::string& case_id) {
  return Rejected("case " + case_id + " belongs to an erased patient");
}

Result<CaseRecord> ReadCaseRow(Vault::Impl& v, const Stmt& s) {
  CaseRecord c;
  c.id = s.Text(0);
  c.patient_id = s.Text(1);
  c.created_at = s.Text(2);
  c.status = s.Text(3);
  c.documents = s.Int(6);
  c.dicom_instances = s.Int(7);
  if (c.status == kErased) return c;
  DOSSIER_ASSIGN_OR_RETURN(c.goal, v.OpenField(c.patient_id, "cases.goal", c.id, s.Blob(4), true));
  DOSSIER_ASSIGN_OR_RETURN(c.question,
                           v.OpenField(c.patient_id, "cases.question", c.id, s.Blob(5)));
  return c;
}

// Sets a case's status from `from` to `to`, with its audit event.
Status ChangeStatus(Vault::Impl& v, const std::string& case_id, const char* from, const char* to,
                    const std::string& action, const std::string& already) {
  DOSSIER_ASSIGN_OR_RETURN(Vault::Impl::CaseRef c, v.FindCase(case_id));
  if (c.status == kErased) return ErasedCase(case_id);
  if (c.status != from) return Rejected(already);
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Vault::Impl::Tx::Begin(v));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, v.Conn().Prepare("UPDATE cases SET status = ? WHERE id = ?"));
  s.Bind(1, to).Bind(2, case_id);
  DOSSIER_RETURN_IF_ERROR(s.Run());
  DOSSIER_RETURN_IF_ERROR(v.SealRows(internal::RowTable::kCases, "id = ?1", {case_id}));
  DOSSIER_RETURN_IF_ERROR(v.Audit(action, {case_id}, c.patient_id));
  return tx.Commit();
}

}  // namespace

Result<std::string> Vault::OpenCase(const std::string& patient_id, const std::string& goal,
                                    const std::string& question) {
  auto writing = impl_->Write();
  if (goal.empty()) return InvalidArgument("the case goal is empty");
  DOSSIER_RETURN_IF_ERROR(impl_->Keys(patient_id).status());
  const std::string cid = RandomId("case");
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->Conn().Prepare("INSERT INTO cases(id, patient_id, created_at, goal_enc, "
                                    "question_enc) VALUES (?,?,?,?,?)"));
  s.Bind(1, cid).Bind(2, patient_id).Bind(3, impl_->Now());
  DOSSIER_RETURN_IF_ERROR(impl_->BindSealed(s, 4, patient_id, "cases.goal", cid, goal));
  DOSSIER_RETURN_IF_ERROR(impl_->BindSealed(s, 5, patient_id, "cases.question", cid, question));
  DOSSIER_RETURN_IF_ERROR(s.Run());
  DOSSIER_RETURN_IF_ERROR(impl_->SealRows(internal::RowTable::kCases, "id = ?1", {cid}));
  DOSSIER_RETURN_IF_ERROR(impl_->Audit("case.open", {cid}, patient_id));
  DOSSIER_RETURN_IF_ERROR(tx.Commit());
  return cid;
}

Result<std::vector<CaseRecord>> Vault::ListCases(const std::optional<std::string>& patient_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  if (patient_id) {
    DOSSIER_RETURN_IF_ERROR(
        impl_->CheckRows(internal::RowTable::kPatients, "id = ?1", {*patient_id}));
    DOSSIER_ASSIGN_OR_RETURN(Stmt s, impl_->Conn().Prepare("SELECT 1 FROM patients WHERE id = ?"));
    s.Bind(1, *patient_id);
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return NotFound("no patient " + *patient_id + " (see `dossier patient list`)");
  }
  DOSSIER_RETURN_IF_ERROR(
      patient_id ? impl_->CheckRows(internal::RowTable::kCases, "patient_id = ?1", {*patient_id})
                 : impl_->CheckRows(internal::RowTable::kCases, "1", {}));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           impl_->Conn().Prepare(std::string(kCaseColumns) +
                                                 (patient_id ? " WHERE c.patient_id = ?" : "") +
                                                 " ORDER BY c.created_at, c.id"));
  if (patient_id) s.Bind(1, *patient_id);
  DOSSIER_ASSIGN_OR_RETURN(
      auto out, s.Collect<CaseRecord>([&](const Stmt& row) { return ReadCaseRow(*impl_, row); }));
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("case.list", {}, patient_id.value_or("")));
  return out;
}

Result<CaseRecord> Vault::GetCase(const std::string& case_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(internal::RowTable::kCases, "id = ?1", {case_id}));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           impl_->Conn().Prepare(std::string(kCaseColumns) + " WHERE c.id = ?"));
  s.Bind(1, case_id);
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NoSuchCase(case_id);
  return ReadCaseRow(*impl_, s);
}

Result<std::vector<std::string>> Vault::EditCase(const std::string& case_id,
                                                 const CaseChanges& changes) {
  auto writing = impl_->Write();
  DOSSIER_ASSIGN_OR_RETURN(CaseRecord c, GetCase(case_id));
  if (c.status == kErased) return ErasedCase(case_id);
  if (changes.goal && changes.goal->empty()) return InvalidArgument("the case goal is empty");
  return impl_->EditSealedFields(
      internal::RowTable::kCases, "cases", case_id, c.patient_id,
      {{"goal", changes.goal, c.goal}, {"question", changes.question, c.question}}, "case.edit");
}

Status Vault::CloseCase(const std::string& case_id) {
  auto writing = impl_->Write();
  return ChangeStatus(*impl_, case_id, kOpen, kClosed, "case.close",
                      fmt::format("case {0} is already closed (`dossier case reopen {0}` opens "
                                  "it again)",
                                  case_id));
}

Status Vault::ReopenCase(const std::string& case_id) {
  auto writing = impl_->Write();
  return ChangeStatus(*impl_, case_id, kClosed, kOpen, "case.reopen",
                      fmt::format("case {} is already open", case_id));
}

Status Vault::CheckCaseOpen(const std::string& case_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(Impl::CaseRef c, impl_->FindCase(case_id));
  return Impl::CheckTakesDocuments(case_id, c);
}

Status Vault::Impl::CheckTakesDocuments(const std::string& case_id, const CaseRef& c) {
  if (c.status == kErased) return ErasedCase(case_id);
  if (c.status == kClosed) {
    return Rejected(fmt::format(
        "case {0} is closed: nothing can be added to it (`dossier case reopen {0}` opens it "
        "again)",
        case_id));
  }
  return Status::Ok();
}

Result<Vault::Impl::CaseRef> Vault::Impl::FindCase(const std::string& case_id) {
  DOSSIER_RETURN_IF_ERROR(CheckRows(internal::RowTable::kCases, "id = ?1", {case_id}));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           Conn().Prepare("SELECT patient_id, status FROM cases WHERE id = ?"));
  s.Bind(1, case_id);
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NoSuchCase(case_id);
  return CaseRef{s.Text(0), s.Text(1)};
}

}  // namespace dossier::vault
