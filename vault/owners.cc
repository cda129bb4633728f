// Vault::OwnerOf: whose a record is, reading ids only (vault.h).
#include <fmt/format.h>

#include "common/ids.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::RowTable;
using internal::Stmt;

Result<Vault::Owner> Vault::OwnerOf(const std::string& id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  Owner owner;
  std::string case_id;
  switch (KindOfId(id)) {
    case IdKind::kPatient:
      owner.patient_id = id;
      break;
    case IdKind::kCase:
      case_id = id;
      break;
    case IdKind::kDocument: {
      DOSSIER_ASSIGN_OR_RETURN(DocumentRecord d, GetDocument(id));
      case_id = d.case_id;
      owner.category = d.category;
      owner.status = d.status;
      break;
    }
    case IdKind::kSeries: {
      DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(RowTable::kDicomSeries, "id = ?1", {id}));
      DOSSIER_ASSIGN_OR_RETURN(
          Stmt s, impl_->Conn().Prepare("SELECT case_id FROM dicom_series WHERE id = ?"));
      s.Bind(1, id);
      DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return NotFound("no DICOM series " + id);
      case_id = s.Text(0);
      break;
    }
    case IdKind::kConsent:
    case IdKind::kUser: {
      const bool consent = KindOfId(id) == IdKind::kConsent;
      DOSSIER_RETURN_IF_ERROR(
          impl_->CheckRows(consent ? RowTable::kConsents : RowTable::kUsers, "id = ?1", {id}));
      DOSSIER_ASSIGN_OR_RETURN(
          Stmt s,
          impl_->Conn().Prepare(consent ? "SELECT patient_id, '' FROM consents WHERE id = ?"
                                        : "SELECT patient_id, role FROM users WHERE id = ?"));
      s.Bind(1, id);
      DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return NotFound(fmt::format("no {} {}", IdKindName(KindOfId(id)), id));
      owner.patient_id = s.IsNull(0) ? "" : s.Text(0);
      owner.role = s.Text(1);
      if (owner.patient_id.empty()) return owner;  // a staff account: nobody's
      break;
    }
    case IdKind::kRequest:
    case IdKind::kExport: {
      DOSSIER_RETURN_IF_ERROR(
          impl_->CheckRows(RowTable::kRequests,
                           KindOfId(id) == IdKind::kRequest ? "id = ?1" : "export_id = ?1", {id}));
      DOSSIER_ASSIGN_OR_RETURN(
          Stmt s, impl_->Conn().Prepare("SELECT case_id FROM requests WHERE id = ?1 OR "
                                        "export_id = ?1"));
      s.Bind(1, id);
      DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return NotFound(fmt::format("no {} {}", IdKindName(KindOfId(id)), id));
      case_id = s.Text(0);
      break;
    }
    default:
      return NotFound("no record " + (IsWellFormedId(id) ? id : std::string("with that id")));
  }
  if (!case_id.empty()) {
    DOSSIER_ASSIGN_OR_RETURN(Impl::CaseRef c, impl_->FindCase(case_id));
    owner.patient_id = c.patient_id;
    owner.case_id = case_id;
    if (owner.status.empty()) owner.status = c.status;
  }
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(RowTable::kPatients, "id = ?1", {owner.patient_id}));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt p, impl_->Conn().Prepare("SELECT erased_at IS NOT NULL FROM patients WHERE id = ?"));
  p.Bind(1, owner.patient_id);
  DOSSIER_ASSIGN_OR_RETURN(bool found, p.Step());
  if (!found) return NotFound("no patient " + owner.patient_id);
  owner.patient_erased = p.Int(0) != 0;
  return owner;
}

}  // namespace dossier::vault
