// What the audit log records beyond one call's own event: refusals and failures of whole
// acts, audit notes (personal details sealed beside an event), and DICOM exports.
#include <fmt/format.h>

#include "common/encoding.h"
#include "common/ids.h"
#include "vault/internal/crypto.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::Stmt;

namespace {

constexpr const char* kNoteField = "audit_notes.text";

// The patient an id belongs to, for a failure's event; "" when the id names nothing known.
// Read without the row MAC check: this only labels an event that records a failure.
Result<std::string> PatientOfId(Vault::Impl& v, const std::string& id) {
  const char* sql = nullptr;
  switch (KindOfId(id)) {
    case IdKind::kPatient:
      sql = "SELECT id FROM patients WHERE id = ?";
      break;
    case IdKind::kCase:
      sql = "SELECT patient_id FROM cases WHERE id = ?";
      break;
    case IdKind::kDocument:
      sql = "SELECT patient_id FROM documents WHERE id = ?";
      break;
    case IdKind::kSeries:
      sql =
          "SELECT c.patient_id FROM dicom_series s JOIN cases c ON c.id = s.case_id "
          "WHERE s.id = ?";
      break;
    case IdKind::kStudy:
      sql =
          "SELECT c.patient_id FROM dicom_studies s JOIN cases c ON c.id = s.case_id "
          "WHERE s.id = ?";
      break;
    case IdKind::kConsent:
      sql = "SELECT patient_id FROM consents WHERE id = ?";
      break;
    case IdKind::kNote:
      sql = "SELECT patient_id FROM audit_notes WHERE id = ?";
      break;
    case IdKind::kRequest:
      sql = "SELECT patient_id FROM requests WHERE id = ?";
      break;
    case IdKind::kExport:
      sql = "SELECT patient_id FROM requests WHERE export_id = ?";
      break;
    case IdKind::kUser:
      sql = "SELECT coalesce(patient_id, '') FROM users WHERE id = ?";
      break;
    default:
      return std::string();
  }
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, v.Conn().Prepare(sql));
  s.Bind(1, id);
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Text(0) : std::string();
}

}  // namespace

Result<std::string> Vault::Impl::AddAuditNote(const std::string& patient_id,
                                              const std::string& text) {
  const std::string id = RandomId("note");
  DOSSIER_ASSIGN_OR_RETURN(Bytes sealed, SealField(patient_id, kNoteField, id, text));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, db_.Prepare("INSERT INTO audit_notes(id, patient_id, "
                                               "created_at, text_enc) VALUES (?, ?, ?, ?)"));
  s.Bind(1, id).Bind(2, patient_id).Bind(3, Now()).BindBlob(4, sealed);
  DOSSIER_RETURN_IF_ERROR(s.Run());
  return id;
}

Result<std::vector<AuditEvent>> Vault::ReadAudit(const AuditFilter& filter) {
  return ReadAuditLog(impl_->dir_.path(), filter);
}

Result<AuditVerifyReport> Vault::VerifyAudit(const AuditAnchors& anchors) {
  return VerifyAuditLog(impl_->dir_.path(), anchors);
}

Result<std::string> Vault::AuditCheckpoint(const std::string& now) {
  return WriteCheckpoint(impl_->dir_.path(), now);
}

Result<std::string> Vault::ReadAuditNote(const std::string& note_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  std::string patient;
  Bytes sealed;
  {
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s, impl_->Conn().Prepare("SELECT patient_id, text_enc FROM audit_notes WHERE id = ?"));
    s.Bind(1, note_id);
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return NotFound("no audit note " + note_id + " (see `dossier audit log`)");
    patient = s.Text(0);
    sealed = s.Blob(1);
  }
  if (sealed.empty()) {
    return Rejected(
        fmt::format("audit note {} was erased together with patient {}", note_id, patient));
  }
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("audit.note.read", {note_id}, patient));
  return impl_->OpenField(patient, kNoteField, note_id, sealed, true);
}

Status Vault::RecordDicomExport(const DicomExportRequest& request) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(Impl::CaseRef c, impl_->FindCase(request.case_id));
  if (c.status == "erased") {
    return Rejected("case " + request.case_id + " belongs to an erased patient");
  }
  std::vector<std::string> overridden;
  std::set<std::string> docs;
  for (const auto& series : request.series) {
    DOSSIER_RETURN_IF_ERROR(
        impl_->CheckRows(internal::RowTable::kDicomSeries, "id = ?1", {series}));
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s,
        impl_->Conn().Prepare("SELECT mismatch FROM dicom_series WHERE id = ? AND case_id = ?"));
    s.Bind(1, series).Bind(2, request.case_id);
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return NotFound("case " + request.case_id + " has no DICOM series " + series);
    if (!s.Text(0).empty()) overridden.push_back(series);
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt i, impl_->Conn().Prepare("SELECT doc_id FROM dicom_instances WHERE series_id = ?"));
    i.Bind(1, series);
    for (;;) {
      DOSSIER_ASSIGN_OR_RETURN(bool more, i.Step());
      if (!more) break;
      docs.insert(i.Text(0));
    }
  }
  if (!request.allow_mismatch && !overridden.empty()) {
    return Rejected(fmt::format("series {} may belong to another patient", overridden.front()));
  }
  AuditEvent e;
  e.action = "dicom.export";
  e.objects = request.series;
  e.objects.push_back(request.case_id);
  e.patient = c.patient_id;
  e.details["pseudonym"] = request.pseudonym;
  e.details["allow_mismatch"] = request.allow_mismatch ? "yes" : "no";
  e.details["jpeg_ls"] = request.jpeg_ls ? "yes" : "no";
  if (!overridden.empty()) {
    std::string list;
    for (const auto& id : overridden) list += (list.empty() ? "" : ",") + id;
    e.details["mismatch_override"] = list;
  }
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone(std::move(e)));
  std::lock_guard<std::mutex> lock(impl_->state_mu_);
  impl_->exportable_.insert(docs.begin(), docs.end());
  return Status::Ok();
}

Status Vault::RecordFailure(const std::string& action, const std::vector<std::string>& objects,
                            const Status& why) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  if (why.ok()) return Status::Ok();
  const Impl::LastEvent last = impl_->LastEventOfThread();
  if (last.action == action && last.outcome != "ok") return Status::Ok();
  std::vector<std::string> shown;
  std::string patient;
  for (const auto& id : objects) {
    if (!IsWellFormedId(id)) {
      shown.push_back("(not an id)");
      continue;
    }
    shown.push_back(id);
    if (patient.empty()) {
      DOSSIER_ASSIGN_OR_RETURN(patient, PatientOfId(*impl_, id));
    }
  }
  return impl_->AuditAlone(Impl::FailureEvent(action, std::move(shown), patient, why));
}

}  // namespace dossier::vault
