// The request ledger (Clinic requests 2/3 and 3/3, doc/FORMAT.md §Requests): one row per
// export sent to a clinic, the events of its reads, when the clinic's answer is due, and the
// documents filed as that answer.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/ids.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::Stmt;
using internal::Transaction;
using nlohmann::json;

std::string ExportRequestRecord::StateAsOf(const std::string& date, const std::string& today,
                                           const std::string& now_utc) const {
  if (!answered_at.empty() && answered_on <= date) return "answered";
  if (urgent) {
    // Due at a moment: today, the moment is now; a later date counts to its end.
    const bool late = date == today  ? now_utc > due
                      : date > today ? due.substr(0, 10) <= date
                                     : due.substr(0, 10) < date;
    return late ? "overdue" : "sent";
  }
  return date > due ? "overdue" : "sent";
}

std::string Vault::NowUtc() const { return impl_->Now(); }

Result<ExportRequestRecord> Vault::RecordExport(const ExportRequestRecord& given) {
  auto writing = impl_->Write();
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
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  {
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s, impl_->Conn().Prepare(
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
  DOSSIER_RETURN_IF_ERROR(impl_->Audit(r.inventory_only ? "export.inventory" : "export.create",
                                       {r.id, r.export_id, r.case_id, r.clinic_id, r.consent_id},
                                       r.patient_id, "ok", std::string(ToString(r.purpose))));
  DOSSIER_RETURN_IF_ERROR(tx.Commit());
  std::lock_guard<std::mutex> lock(impl_->state_mu_);
  impl_->export_reads_.erase(r.export_id);
  return r;
}

Status Vault::RecordExportRefused(const std::string& case_id, const std::string& clinic_id,
                                  const std::string& reason) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(CaseRecord c, GetCase(case_id));
  return impl_->AuditAlone("export.refused", {case_id, clinic_id}, c.patient_id, "refused", reason);
}

Status Vault::AuditExportReads(const std::string& export_id, const std::string& patient_id,
                               const std::vector<std::string>& doc_ids,
                               const std::map<std::string, std::string>& details) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  AuditEvent e;
  e.action = "export.read";
  e.objects = {export_id};
  e.objects.insert(e.objects.end(), doc_ids.begin(), doc_ids.end());
  e.patient = patient_id;
  e.details = details;
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone(std::move(e)));
  std::lock_guard<std::mutex> lock(impl_->state_mu_);
  impl_->export_reads_[export_id].insert(doc_ids.begin(), doc_ids.end());
  return Status::Ok();
}

Status Vault::ReadDocumentForExport(const std::string& export_id, const std::string& doc_id,
                                    ByteSink& sink, DocumentCopy copy) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  bool announced = false;
  {
    std::lock_guard<std::mutex> lock(impl_->state_mu_);
    auto it = impl_->export_reads_.find(export_id);
    announced = it != impl_->export_reads_.end() && it->second.count(doc_id) != 0;
  }
  if (!announced) {
    return Internal(fmt::format("document {} was not announced for export {}", doc_id, export_id));
  }
  // Announced and audited by AuditExportReads: no event of its own (a failure still is).
  return impl_->DecryptDocument(doc_id, sink, "export.read", nullptr, copy);
}

namespace {

// The ledger's rows matching `where` (SQL over `requests`, ?1 … bound to `args`), checked
// against their row MACs, with their replies; `answered_on` in the vault's time zone `tz`.
Result<std::vector<ExportRequestRecord>> ReadRequests(Vault::Impl& v, const std::string& where,
                                                      const std::vector<std::string>& args,
                                                      const std::string& tz) {
  DOSSIER_RETURN_IF_ERROR(v.CheckRows(internal::RowTable::kRequests, where, args));
  DOSSIER_RETURN_IF_ERROR(v.CheckRows(internal::RowTable::kRequestReplies,
                                      "request_id IN (SELECT id FROM requests WHERE " + where + ")",
                                      args));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, v.Conn().Prepare("SELECT id, export_id, case_id, patient_id, clinic_id, "
                               "consent_id, purpose, urgent, inventory_only, documents, parts, "
                               "actor, created_at, due, answered_at FROM requests WHERE " +
                               where + " ORDER BY created_at, rowid"));
  for (size_t i = 0; i < args.size(); ++i) s.Bind(static_cast<int>(i + 1), args[i]);
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
    if (!r.answered_at.empty()) {
      const auto at = ParseUtc(r.answered_at);
      if (!at) return Corrupt("request " + r.id + " has a malformed answer time");
      r.answered_on = FormatLocalDate(*at, tz);
    }
    out.push_back(std::move(r));
  }
  for (auto& r : out) {
    DOSSIER_ASSIGN_OR_RETURN(Stmt rs, v.Conn().Prepare("SELECT doc_id FROM request_replies WHERE "
                                                       "request_id = ? ORDER BY filed_at, rowid"));
    rs.Bind(1, r.id);
    for (;;) {
      DOSSIER_ASSIGN_OR_RETURN(bool row, rs.Step());
      if (!row) break;
      r.replies.push_back(rs.Text(0));
    }
  }
  return out;
}

// The row of a request or export id; kNotFound naming it (only when it is an id: a mistyped
// argument may be a name).
Result<ExportRequestRecord> FindRequest(Vault::Impl& v, const std::string& id,
                                        const std::string& tz, const std::string& listed_by) {
  const bool by_export = KindOfId(id) == IdKind::kExport;
  DOSSIER_ASSIGN_OR_RETURN(auto found,
                           ReadRequests(v, by_export ? "export_id = ?1" : "id = ?1", {id}, tz));
  if (found.empty()) {
    return NotFound(fmt::format("no export request {} in the ledger: {}",
                                IsWellFormedId(id) ? id : "of the id given", listed_by));
  }
  return std::move(found.front());
}

// The sent documents or replies selected by `from_where` ("FROM … WHERE …" over `documents
// d`, then ORDER BY; ?1 bound to `arg`), as `export show` lists them.
Result<std::vector<RequestDocumentRecord>> ReadRequestDocuments(Vault::Impl& v,
                                                                const std::string& ids_sql,
                                                                const std::string& select_sql,
                                                                const std::string& arg) {
  DOSSIER_RETURN_IF_ERROR(
      v.CheckRows(internal::RowTable::kDocuments, "id IN (" + ids_sql + ")", {arg}));
  DOSSIER_RETURN_IF_ERROR(
      v.CheckRows(internal::RowTable::kDicomInstances, "doc_id IN (" + ids_sql + ")", {arg}));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, v.Conn().Prepare(select_sql));
  s.Bind(1, arg);
  std::vector<RequestDocumentRecord> out;
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    if (s.IsNull(1)) {
      return Corrupt("the ledger names document " + s.Text(0) +
                     ", which the catalog does not hold: restore the vault from a backup");
    }
    out.push_back({s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5)});
  }
}

}  // namespace

Result<std::vector<ExportRequestRecord>> Vault::ListRequests(
    const std::optional<std::string>& case_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(VaultSettings settings, GetSettings());
  DOSSIER_ASSIGN_OR_RETURN(
      auto out, case_id ? ReadRequests(*impl_, "case_id = ?1", {*case_id}, settings.time_zone)
                        : ReadRequests(*impl_, "1", {}, settings.time_zone));
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("export.list", {case_id.value_or("all")}, "", "ok"));
  return out;
}

Result<ExportRequestDetail> Vault::ShowRequest(const std::string& id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(VaultSettings settings, GetSettings());
  ExportRequestDetail out;
  DOSSIER_ASSIGN_OR_RETURN(out.request, FindRequest(*impl_, id, settings.time_zone,
                                                    "`dossier export list` shows the requests"));
  const ExportRequestRecord& r = out.request;
  constexpr const char* kColumns =
      "d.kind, d.category, d.status, (SELECT series_id FROM dicom_instances WHERE doc_id = "
      "j.value), ";
  // Sent: the ledger's JSON list, in its order; a document missing from the catalog is named.
  DOSSIER_ASSIGN_OR_RETURN(
      out.documents,
      ReadRequestDocuments(*impl_, "SELECT value FROM json_each(?1)",
                           std::string("SELECT j.value, ") + kColumns +
                               "'' FROM json_each(?1) j LEFT JOIN documents d ON d.id = j.value "
                               "ORDER BY j.key",
                           json(r.documents).dump()));
  DOSSIER_ASSIGN_OR_RETURN(
      out.replies,
      ReadRequestDocuments(*impl_, "SELECT doc_id FROM request_replies WHERE request_id = ?1",
                           std::string("SELECT j.value, ") + kColumns +
                               "j.filed_at FROM (SELECT doc_id AS value, filed_at, rowid AS n "
                               "FROM request_replies WHERE request_id = ?1) j LEFT JOIN "
                               "documents d ON d.id = j.value ORDER BY j.filed_at, j.n",
                           r.id));
  DOSSIER_RETURN_IF_ERROR(
      impl_->AuditAlone("export.show", {r.id, r.export_id, r.case_id}, r.patient_id));
  return out;
}

Result<std::string> Vault::ReplyTarget(const std::string& id, const std::string& case_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(Impl::CaseRef c, impl_->FindCase(case_id));
  DOSSIER_ASSIGN_OR_RETURN(VaultSettings settings, GetSettings());
  auto refuse = [&](Status why) -> Status {
    DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone(Impl::FailureEvent(
        "export.reply", {IsWellFormedId(id) ? id : "(not an id)", case_id}, c.patient_id, why)));
    return why;
  };
  auto found =
      FindRequest(*impl_, id, settings.time_zone,
                  "`dossier export list --case " + case_id + "` shows the case's requests");
  if (!found.ok()) {
    if (found.status().code() != StatusCode::kNotFound) return found.status();
    return refuse(found.status());
  }
  if (found->case_id != case_id) {
    const std::string named =
        id == found->id ? "request " + id : "export " + id + " (request " + found->id + ")";
    return refuse(Rejected(fmt::format(
        "{} was sent from case {}, not {}: file the clinic's reply in its case (`dossier ingest "
        "--case {} --reply-to {} FILE…`)",
        named, found->case_id, case_id, found->case_id, id)));
  }
  return found->id;
}

Status Vault::Impl::FileReply(const std::string& request_id, const std::string& doc_id,
                              const std::string& case_id, const std::string& patient_id) {
  DOSSIER_RETURN_IF_ERROR(CheckRows(internal::RowTable::kRequests, "id = ?1", {request_id}));
  std::string export_id, answered_at;
  {
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s, db_.Prepare("SELECT export_id, case_id, answered_at FROM requests WHERE id = ?"));
    s.Bind(1, request_id);
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return NotFound("no export request " + request_id + " in the ledger");
    if (s.Text(1) != case_id) {
      return Rejected("request " + request_id + " was sent from case " + s.Text(1) + ", not " +
                      case_id);
    }
    export_id = s.Text(0);
    answered_at = s.Text(2);
  }
  const std::string now = Now();
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt ins,
      db_.Prepare("INSERT INTO request_replies(doc_id, request_id, filed_at) VALUES (?, ?, ?)"));
  ins.Bind(1, doc_id).Bind(2, request_id).Bind(3, now);
  DOSSIER_RETURN_IF_ERROR(ins.Run());
  DOSSIER_RETURN_IF_ERROR(SealRows(internal::RowTable::kRequestReplies, "doc_id = ?1", {doc_id}));
  if (answered_at.empty()) {  // the first reply answers the request; later ones keep its time
    DOSSIER_ASSIGN_OR_RETURN(Stmt up,
                             db_.Prepare("UPDATE requests SET answered_at = ? WHERE id = ?"));
    up.Bind(1, now).Bind(2, request_id);
    DOSSIER_RETURN_IF_ERROR(up.Run());
    DOSSIER_RETURN_IF_ERROR(SealRows(internal::RowTable::kRequests, "id = ?1", {request_id}));
  }
  AuditEvent e;
  e.action = "export.reply";
  e.objects = {request_id, export_id, doc_id, case_id};
  e.patient = patient_id;
  e.details["first_reply"] = answered_at.empty() ? "yes" : "no";
  return Audit(std::move(e));
}

}  // namespace dossier::vault
