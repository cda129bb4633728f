// Patients: encrypted fields, the same-patient check, corrections, crypto-shredding.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/encoding.h"
#include "common/text.h"
#include "vault/internal/crypto.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::Stmt;
using internal::Transaction;

namespace {

// The field's rule as a vault error; the CLI words its own for each option.
Status CheckField(std::string_view field, std::string_view value, std::string_view today) {
  const std::string rule = PatientFieldRule(field, value, today);
  if (rule.empty()) return Status::Ok();
  return InvalidArgument(fmt::format("field `{}` {}", field, rule));
}

Status CheckPatientInfo(const PatientInfo& info, std::string_view today) {
  DOSSIER_RETURN_IF_ERROR(CheckField("name", info.name, today));
  DOSSIER_RETURN_IF_ERROR(CheckField("birth_date", info.birth_date, today));
  DOSSIER_RETURN_IF_ERROR(CheckField("phone", info.phone, today));
  return CheckField("email", info.email, today);
}

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

// One patient's row, decrypted; nothing audited.
Result<PatientRecord> ReadPatient(Vault::Impl& v, const std::string& patient_id) {
  DOSSIER_RETURN_IF_ERROR(v.CheckRows(internal::RowTable::kPatients, "id = ?1", {patient_id}));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           v.Conn().Prepare(std::string(kPatientColumns) + " WHERE id = ?"));
  s.Bind(1, patient_id);
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("no patient " + patient_id + " (see `dossier patient list`)");
  return ReadPatientRow(v, s);
}

// A name as two people's names are compared: case, ё/е and runs of white space aside.
std::u32string SameNameKey(const std::string& name) {
  const std::u32string key = FoldForSearch(name);
  const size_t first = key.find_first_not_of(U' ');
  if (first == std::u32string::npos) return {};
  return key.substr(first, key.find_last_not_of(U' ') - first + 1);
}

// Live patients with the same name and birth date, decrypted in memory only.
Result<std::vector<std::string>> FindSamePatients(Vault::Impl& v, const PatientInfo& info) {
  DOSSIER_RETURN_IF_ERROR(v.CheckRows(internal::RowTable::kPatients, "erased_at IS NULL", {}));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           v.Conn().Prepare(std::string(kPatientColumns) +
                                            " WHERE erased_at IS NULL ORDER BY created_at, id"));
  const std::u32string key = SameNameKey(info.name);
  std::vector<std::string> same;
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    DOSSIER_ASSIGN_OR_RETURN(PatientRecord p, ReadPatientRow(v, s));
    if (p.info.birth_date == info.birth_date && SameNameKey(p.info.name) == key) {
      same.push_back(p.id);
    }
  }
  return same;
}

}  // namespace

Result<std::string> Vault::AddPatient(const PatientInfo& info) {
  auto writing = impl_->Write();
  DOSSIER_ASSIGN_OR_RETURN(const std::string today, Today());
  DOSSIER_RETURN_IF_ERROR(CheckPatientInfo(info, today));
  DOSSIER_ASSIGN_OR_RETURN(AddedPatient added, impl_->InsertPatient(info, {}));
  return added.id;
}

Result<AddedPatient> Vault::AddPatient(const PatientInfo& info, SamePatient same) {
  auto writing = impl_->Write();
  DOSSIER_ASSIGN_OR_RETURN(const std::string today, Today());
  DOSSIER_RETURN_IF_ERROR(CheckPatientInfo(info, today));
  DOSSIER_ASSIGN_OR_RETURN(std::vector<std::string> same_as, FindSamePatients(*impl_, info));
  if (!same_as.empty() && same == SamePatient::kRefuse) {
    return Rejected(fmt::format(
        "patient {0} has the same name and birth date (see `dossier patient show {0}`); if this "
        "is another person, add them with --duplicate-ok",
        same_as.front()));
  }
  return impl_->InsertPatient(info, std::move(same_as));
}

Result<AddedPatient> Vault::Impl::InsertPatient(const PatientInfo& info,
                                                std::vector<std::string> same_as) {
  const std::string pid = RandomId("pat");
  SecureBuffer pk = SecureBuffer::Random(internal::kKeyBytes);
  const Bytes wrapped = internal::Seal(master_key_, pk.span(), "dossier-patient-key-v1:" + pid);
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Tx::Begin(*this));
  // Current as of this transaction, which no other connection can commit into (Keys).
  DOSSIER_ASSIGN_OR_RETURN(int64_t version, db_.QueryInt("PRAGMA data_version"));
  CacheKeys(pid, PatientKeys::From(std::move(pk)), db_, version);
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, db_.Prepare("INSERT INTO patients(id, created_at, wrapped_key, name_enc, "
                          "birth_date_enc, phone_enc, email_enc) VALUES (?,?,?,?,?,?,?)"));
  s.Bind(1, pid).Bind(2, Now()).BindBlob(3, wrapped);
  DOSSIER_RETURN_IF_ERROR(BindSealed(s, 4, pid, "patients.name", pid, info.name));
  DOSSIER_RETURN_IF_ERROR(BindSealed(s, 5, pid, "patients.birth_date", pid, info.birth_date));
  DOSSIER_RETURN_IF_ERROR(BindSealed(s, 6, pid, "patients.phone", pid, info.phone));
  DOSSIER_RETURN_IF_ERROR(BindSealed(s, 7, pid, "patients.email", pid, info.email));
  DOSSIER_RETURN_IF_ERROR(s.Run());
  DOSSIER_RETURN_IF_ERROR(SealRows(internal::RowTable::kPatients, "id = ?1", {pid}));
  std::vector<std::string> objects = {pid};
  objects.insert(objects.end(), same_as.begin(), same_as.end());
  DOSSIER_RETURN_IF_ERROR(Audit("patient.add", std::move(objects), pid, "ok",
                                same_as.empty() ? "" : "same name and birth date allowed"));
  DOSSIER_RETURN_IF_ERROR(tx.Commit());
  return AddedPatient{pid, std::move(same_as)};
}

Result<std::vector<std::string>> Vault::EditPatient(const std::string& patient_id,
                                                    const PatientChanges& changes) {
  auto writing = impl_->Write();
  DOSSIER_ASSIGN_OR_RETURN(PatientRecord p, ReadPatient(*impl_, patient_id));
  if (p.erased) {
    return Rejected(fmt::format("patient {} was erased on {}: there is nothing to edit", patient_id,
                                p.erased_at));
  }
  DOSSIER_ASSIGN_OR_RETURN(const std::string today, Today());
  const std::vector<Impl::FieldEdit> fields = {
      {"name", changes.name, p.info.name},
      {"birth_date", changes.birth_date, p.info.birth_date},
      {"phone", changes.phone, p.info.phone},
      {"email", changes.email, p.info.email}};
  for (const auto& f : fields) {
    if (f.given) DOSSIER_RETURN_IF_ERROR(CheckField(f.name, *f.given, today));
  }
  return impl_->EditSealedFields(internal::RowTable::kPatients, "patients", patient_id, patient_id,
                                 fields, "patient.edit");
}

Status Vault::Impl::BindSealed(Stmt& s, int index, const std::string& patient_id,
                               const std::string& where, const std::string& row_id,
                               const std::string& text) {
  if (text.empty()) {
    s.BindNull(index);
    return Status::Ok();
  }
  DOSSIER_ASSIGN_OR_RETURN(Bytes sealed, SealField(patient_id, where, row_id, text));
  s.BindBlob(index, sealed);
  return Status::Ok();
}

Result<std::vector<std::string>> Vault::Impl::EditSealedFields(internal::RowTable table,
                                                               const std::string& table_name,
                                                               const std::string& row_id,
                                                               const std::string& patient_id,
                                                               const std::vector<FieldEdit>& fields,
                                                               const std::string& action) {
  std::vector<std::string> changed;
  for (const auto& f : fields) {
    if (f.given && *f.given != f.stored) changed.emplace_back(f.name);
  }
  if (changed.empty()) return changed;
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Tx::Begin(*this));
  for (const auto& f : fields) {
    if (!f.given || *f.given == f.stored) continue;
    // Table and column are our fixed names, never input.
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s,
        db_.Prepare(fmt::format("UPDATE {} SET {}_enc = ? WHERE id = ?", table_name, f.name)));
    DOSSIER_RETURN_IF_ERROR(
        BindSealed(s, 1, patient_id, table_name + "." + f.name, row_id, *f.given));
    s.Bind(2, row_id);
    DOSSIER_RETURN_IF_ERROR(s.Run());
  }
  DOSSIER_RETURN_IF_ERROR(SealRows(table, "id = ?1", {row_id}));
  DOSSIER_RETURN_IF_ERROR(Audit(action, {row_id}, patient_id, "ok",
                                fmt::format("changed={}", fmt::join(changed, ","))));
  DOSSIER_RETURN_IF_ERROR(tx.Commit());
  return changed;
}

Result<std::vector<PatientRecord>> Vault::ListPatients() {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(internal::RowTable::kPatients, "1", {}));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->Conn().Prepare(std::string(kPatientColumns) + " ORDER BY created_at, id"));
  DOSSIER_ASSIGN_OR_RETURN(auto out, s.Collect<PatientRecord>([&](const Stmt& row) {
    return ReadPatientRow(*impl_, row);
  }));
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("patient.list", {}, ""));
  return out;
}

Result<PatientRecord> Vault::GetPatient(const std::string& patient_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(PatientRecord p, ReadPatient(*impl_, patient_id));
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("patient.read", {patient_id}, patient_id));
  return p;
}

Status Vault::ErasePatient(const std::string& patient_id) {
  auto writing = impl_->Write();
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(internal::RowTable::kPatients, "id = ?1", {patient_id}));
  {
    DOSSIER_ASSIGN_OR_RETURN(Stmt find,
                             impl_->Conn().Prepare("SELECT erased_at FROM patients WHERE id = ?"));
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
        Stmt s, impl_->Conn().Prepare("SELECT object_id FROM documents WHERE patient_id = ?1 UNION "
                                      "SELECT scan_object_id FROM consents WHERE patient_id = ?1 "
                                      "AND scan_object_id IS NOT NULL UNION "
                                      "SELECT object_id FROM renditions WHERE doc_id IN "
                                      "(SELECT id FROM documents WHERE patient_id = ?1)"));
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
          "UPDATE document_removals SET reason_enc = NULL WHERE doc_id IN "
          "(SELECT id FROM documents WHERE patient_id = ?1)",
          "UPDATE document_warnings SET warnings_enc = NULL WHERE doc_id IN "
          "(SELECT id FROM documents WHERE patient_id = ?1)",
          "UPDATE dicom_studies SET uid_mac = NULL, summary_enc = NULL WHERE case_id IN "
          "(SELECT id FROM cases WHERE patient_id = ?1)",
          "UPDATE dicom_series SET uid_mac = NULL, summary_enc = NULL, preview_enc = NULL "
          "WHERE case_id IN "
          "(SELECT id FROM cases WHERE patient_id = ?1)",
          "UPDATE dicom_instances SET uid_mac = NULL, summary_enc = NULL WHERE doc_id IN "
          "(SELECT id FROM documents WHERE patient_id = ?1)",
          "UPDATE audit_notes SET text_enc = NULL WHERE patient_id = ?1",
          // A rendition's row holds its data key: it goes whole (its object below).
          "DELETE FROM renditions WHERE doc_id IN "
          "(SELECT id FROM documents WHERE patient_id = ?1)"}) {
      DOSSIER_ASSIGN_OR_RETURN(Stmt s, impl_->Conn().Prepare(sql));
      s.Bind(1, patient_id);
      if (std::string_view(sql).find("?2") != std::string_view::npos) s.Bind(2, now);
      DOSSIER_RETURN_IF_ERROR(s.Run());
    }
    DOSSIER_RETURN_IF_ERROR(impl_->SealPatientRows(patient_id));
    DOSSIER_RETURN_IF_ERROR(impl_->DisablePatientAccounts(patient_id));
    DOSSIER_RETURN_IF_ERROR(impl_->Audit("patient.erase", {patient_id}, patient_id));
    DOSSIER_RETURN_IF_ERROR(tx.Commit());
  }
  impl_->ForgetKeys(patient_id);
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

}  // namespace dossier::vault
