// The request ledger (Clinic requests 2/3, doc/FORMAT.md §Requests): one row per export sent
// to a clinic, the events of its reads, and when the clinic's answer is due.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::Stmt;
using internal::Transaction;
using nlohmann::json;

std::string ExportRequestRecord::StateAsOf(const std::string& date, const std::string& today,
                                           const std::string& now_utc) const {
  if (!answered_at.empty()) return "answered";
  if (urgent) {
    // Due at a moment: today, the moment is now; a later date counts to its end.
    const bool late = date == today ? now_utc > due : date > today ? due.substr(0, 10) <= date
                                                                  : due.substr(0, 10) < date;
    return late ? "overdue" : "sent";
  }
  return date > due ? "overdue" : "sent";
}

std::string Vault::NowUtc() const { return impl_->Now(); }

Result<ExportRequestRecord> Vault::RecordExport(const ExportRequestRecord& given) {
  ExportRequestRecord r = given;
  r.actor = impl_->actor_.name;
  r.created_at = impl_->Now();
  DOSSIER_ASSIGN_OR_RETURN(std::string today, Today());
  if (r.urgent) {
    const Clock& c = impl_->options_.clock ? *impl_->options_.clock : Clock::System();
    r.due = FormatUtc(c.Now() + std::chrono::hours(24));
  } else {
    r.due = AddWorkingDays(today, 5);
  }
  json parts = json::array();
  for (const auto& p : r.parts) {
    parts.push_back({{"name", p.name}, {"size", p.size}, {"sha256", p.sha256_hex}});
  }
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(impl_->db_));
  {
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s, impl_->db_.Prepare(
                    "INSERT INTO requests (id, export_id, case_id, patient_id, clinic_id, "
                    "consent_id, purpose, urgent, inventory_only, documents, parts, actor, "
                    "created_at, due) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    s.Bind(1, r.id)
        .Bind(2, r.export_id)
        .Bind(3, r.case_id)
        .Bind(4, r.patient_id)
        .Bind(5, r.clinic_id)
        .Bind(6, r.consent_id)
        .Bind(7, std::string(ToString(r.purpose)))
        .Bind(8, int64_t{r.urgent})
        .Bind(9, int64_t{r.inventory_only})
        .Bind(10, json(r.documents).dump())
        .Bind(11, parts.dump())
        .Bind(12, r.actor)
        .Bind(13, r.created_at)
        .Bind(14, r.due);
    DOSSIER_RETURN_IF_ERROR(s.Run());
  }
  DOSSIER_RETURN_IF_ERROR(impl_->SealRows(internal::RowTable::kRequests, "id = ?1", {r.id}));
  DOSSIER_RETURN_IF_ERROR(impl_->Audit(
      r.inventory_only ? "export.inventory" : "export.create",
      {r.id, r.export_id, r.case_id, r.clinic_id, r.consent_id}, r.patient_id, "ok",
      std::string(ToString(r.purpose))));
  DOSSIER_RETURN_IF_ERROR(tx->Commit());
  impl_->export_reads_.erase(r.export_id);
  return r;
}

Status Vault::RecordExportRefused(const std::string& case_id, const std::string& clinic_id,
                                  const std::string& reason) {
  DOSSIER_ASSIGN_OR_RETURN(CaseRecord c, GetCase(case_id));
  return impl_->AuditAlone("export.refused", {case_id, clinic_id}, c.patient_id, "refused", reason);
}

Status Vault::AuditExportReads(const std::string& export_id, const std::string& patient_id,
                               const std::vector<std::string>& doc_ids,
                               const std::map<std::string, std::string>& details) {
  AuditEvent e;
  e.action = "export.read";
  e.objects = {export_id};
  e.objects.insert(e.objects.end(), doc_ids.begin(), doc_ids.end());
  e.patient = patient_id;
  e.details = details;
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone(std::move(e)));
  impl_->export_reads_[export_id].insert(doc_ids.begin(), doc_ids.end());
  return Status::Ok();
}

Status Vault::ReadDocumentForExport(const std::string& export_id, const std::string& doc_id,
                                    ByteSink& sink) {
  auto it = impl_->export_reads_.find(export_id);
  if (it == impl_->export_reads_.end() || it->second.count(doc_id) == 0) {
    return Internal(fmt::format("document {} was not announced for export {}", doc_id, export_id));
  }
  // Announced and audited by AuditExportReads: no event of its own (a failure still is).
  return impl_->DecryptDocument(doc_id, sink, "export.read", nullptr);
}

Result<std::vector<ExportRequestRecord>> Vault::ListRequests(
    const std::optional<std::string>& case_id) {
  const std::string where = case_id ? "case_id = ?1" : "1";
  std::vector<std::string> args;
  if (case_id) args.push_back(*case_id);
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(internal::RowTable::kRequests, where, args));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->db_.Prepare("SELECT id, export_id, case_id, patient_id, clinic_id, "
                                 "consent_id, purpose, urgent, inventory_only, documents, parts, "
                                 "actor, created_at, due, answered_at FROM requests WHERE " +
                                 where + " ORDER BY created_at, rowid"));
  if (case_id) s.Bind(1, *case_id);
  std::vector<ExportRequestRecord> out;
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ExportRequestRecord r;
    r.id = s.Text(0);
    r.export_id = s.Text(1);
    r.case_id = s.Text(2);
    r.patient_id = s.Text(3);
    r.clinic_id = s.Text(4);
    r.consent_id = s.Text(5);
    r.purpose = ParsePurpose(s.Text(6)).value_or(Purpose::kSecondOpinion);
    r.urgent = s.Int(7) != 0;
    r.inventory_only = s.Int(8) != 0;
    try {
      r.documents = json::parse(s.Text(9)).get<std::vector<std::string>>();
      for (const auto& p : json::parse(s.Text(10))) {
        r.parts.push_back({p.at("name").get<std::string>(), p.at("size").get<uint64_t>(),
                           p.at("sha256").get<std::string>()});
      }
    } catch (const json::exception&) {
      return Corrupt("request " + r.id + " has a malformed list of documents or parts");
    }
    r.actor = s.Text(11);
    r.created_at = s.Text(12);
    r.due = s.Text(13);
    r.answered_at = s.Text(14);
    out.push_back(std::move(r));
  }
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone(
      "export.list", {case_id.value_or("all")}, "", "ok"));
  return out;
}

}  // namespace dossier::vault
