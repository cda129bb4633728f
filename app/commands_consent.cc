// dossier clinic add|list|show|edit, dossier consent add|list|show|revoke, dossier vault settings
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "common/clock.h"
#include "common/file_io.h"
#include "exporter/fhir.h"
#include "ingest/sniff.h"
#include "report/report.h"

namespace dossier::app {
namespace {

// "a,b" → codes, every unknown one named with the allowed list (exit 2).
template <typename E, typename P>
Result<std::vector<E>> ParseList(const std::string& option, const std::string& text, P parse,
                                 const std::string& allowed) {
  std::vector<E> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(start, end - start);
    if (!item.empty()) {
      auto e = parse(item);
      if (!e)
        return Rejected(
            fmt::format("{} {}: unknown; give one or more of {}", option, item, allowed));
      if (std::find(out.begin(), out.end(), *e) == out.end()) out.push_back(*e);
    }
    start = end + 1;
  }
  return out;
}

// The scan's kind from its first bytes: PDF or an image, nothing else.
Result<std::string> ScanKind(const std::vector<uint8_t>& b) {
  std::string kind = ingest::ConsentScanKind(b);
  if (!kind.empty()) return kind;
  return Rejected(
      "--scan is not a PDF or an image (JPEG, PNG, TIFF, HEIC): scan or photograph the signed "
      "consent");
}

struct ConsentArgs {
  std::string patient, recipient, purposes, categories, until, from, scan,
      signed_how = "paper", representative, authority;
};

Status AddConsent(const Context& ctx, const ConsentArgs& a) {
  DOSSIER_RETURN_IF_ERROR(ExpectId(a.patient, IdKind::kPatient, "--patient"));
  vault::NewConsent c;
  c.patient_id = a.patient;
  DOSSIER_ASSIGN_OR_RETURN(
      c.purposes, ParseList<Purpose>("--purpose", a.purposes, ParsePurpose, AllPurposeNames()));
  DOSSIER_ASSIGN_OR_RETURN(c.categories, ParseList<Category>("--categories", a.categories,
                                                             ParseCategory, AllCategoryNames()));
  if (!a.from.empty() && !ParseDate(a.from)) {
    return InvalidArgument("--from must be a date written YYYY-MM-DD");
  }
  if (!ParseDate(a.until)) return InvalidArgument("--until must be a date written YYYY-MM-DD");
  c.valid_from = a.from;
  c.valid_until = a.until;
  c.signed_how = a.signed_how;
  c.representative = a.representative;
  c.authority = a.authority;
  if (!a.scan.empty()) {
    DOSSIER_ASSIGN_OR_RETURN(std::string bytes, ReadSmallFile(a.scan, size_t{64} << 20));
    c.scan.assign(bytes.begin(), bytes.end());
    DOSSIER_ASSIGN_OR_RETURN(c.scan_kind, ScanKind(c.scan));
  }
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(vault::ClinicRecord clinic, v->FindClinic(a.recipient));
  c.clinic_id = clinic.id;
  DOSSIER_ASSIGN_OR_RETURN(std::string id, v->AddConsent(c));
  return PrintCreated(ctx, id);
}

Status ListConsents(const Context& ctx, const std::string& patient, const std::string& state) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(
      nlohmann::json shown,
      report::ConsentsJson(*v, patient.empty() ? std::nullopt : std::optional(patient), state));
  if (ctx.json) {
    PrintJson(shown);
    return Status::Ok();
  }
  std::printf("%-14s  %-14s  %-14s  %-10s  %-10s  %-13s  %s\n", "CONSENT", "PATIENT", "RECIPIENT",
              "FROM", "UNTIL", "STATE", "PURPOSES / CATEGORIES");
  for (const auto& c : shown) {
    std::string state_text = c["state"];
    const std::string due = c["destruction_due"];
    if (!due.empty()) state_text += ", destroy by " + due;
    std::printf(
        "%-14s  %-14s  %-14s  %-10s  %-10s  %-13s  %s / %s\n", c["id"].get<std::string>().c_str(),
        c["patient"].get<std::string>().c_str(), c["recipient"].get<std::string>().c_str(),
        c["from"].get<std::string>().c_str(), c["until"].get<std::string>().c_str(),
        state_text.c_str(),
        fmt::format("{}", fmt::join(c["purposes"].get<std::vector<std::string>>(), ",")).c_str(),
        fmt::format("{}", fmt::join(c["categories"].get<std::vector<std::string>>(), ",")).c_str());
  }
  return Status::Ok();
}

Status ShowConsent(const Context& ctx, const std::string& id, bool fhir) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  if (fhir) {
    DOSSIER_ASSIGN_OR_RETURN(nlohmann::json j, exporter::ConsentFhirJson(*v, id));
    PrintJson(j);
    return Status::Ok();
  }
  DOSSIER_ASSIGN_OR_RETURN(nlohmann::json j, report::ConsentDetailJson(*v, id));
  if (ctx.json) {
    PrintJson(j);
    return Status::Ok();
  }
  for (const auto& [key, value] : j.items()) {
    std::printf("%-20s %s\n", (key + ":").c_str(),
                value.is_string() ? value.get<std::string>().c_str() : value.dump().c_str());
  }
  return Status::Ok();
}

Status AddClinic(const Context& ctx, const vault::ClinicInfo& info) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(std::string id, v->AddClinic(info));
  return PrintCreated(ctx, id);
}

Status ListClinics(const Context& ctx) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(auto all, v->ListClinics());
  if (ctx.json) {
    auto arr = nlohmann::json::array();
    for (const auto& c : all) arr.push_back(report::ClinicJson(c));
    PrintJson(arr);
    return Status::Ok();
  }
  std::printf("%-14s  %-7s  %-30s  %s\n", "CLINIC", "COUNTRY", "E-MAIL", "NAME");
  for (const auto& c : all) {
    std::printf("%-14s  %-7s  %-30s  %s\n", c.id.c_str(), c.info.country.c_str(),
                c.info.email.c_str(), c.info.name.c_str());
  }
  return Status::Ok();
}

Status ShowClinic(const Context& ctx, const std::string& id) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(vault::ClinicRecord c, v->FindClinic(id));
  const nlohmann::json j = report::ClinicJson(c);
  if (ctx.json) {
    PrintJson(j);
    return Status::Ok();
  }
  for (const auto& [key, value] : j.items()) {
    std::printf("%-9s %s\n", (key + ":").c_str(), value.get<std::string>().c_str());
  }
  return Status::Ok();
}

Status Settings(const Context& ctx, const vault::VaultSettings& wanted) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  if (!wanted.operator_name.empty() || !wanted.operator_country.empty() ||
      !wanted.time_zone.empty()) {
    DOSSIER_RETURN_IF_ERROR(v->SetSettings(wanted));
  }
  DOSSIER_ASSIGN_OR_RETURN(vault::VaultSettings s, v->GetSettings());
  const nlohmann::json j = {
      {"operator", s.operator_name}, {"country", s.operator_country}, {"time_zone", s.time_zone}};
  if (ctx.json) {
    PrintJson(j);
  } else {
    for (const auto& [key, value] : j.items()) {
      std::printf("%-10s %s\n", (key + ":").c_str(), value.get<std::string>().c_str());
    }
  }
  return Status::Ok();
}

}  // namespace

void AddConsentCommands(CLI::App& app, Context& ctx) {
  // clinic
  auto* clinic = app.add_subcommand(
      "clinic", "register the clinics that receive dossiers (organisations: stored in the clear)");
  clinic->require_subcommand(1);
  auto info = std::make_shared<vault::ClinicInfo>();
  auto* add = clinic->add_subcommand("add", "register a clinic; prints its id (cli_…)");
  add->add_option("NAME", info->name, "the clinic's name, exactly as it will be referred to")
      ->required();
  add->add_option("--country", info->country, "ISO 3166-1 two-letter code (DE, IL, TR, KR …)")
      ->required();
  add->add_option("--email", info->email, "the clinic's address for requests");
  add->add_option("--note", info->note, "anything the managers should know (no patient data)");
  add->callback([&ctx, info] { ctx.action = [&ctx, info] { return AddClinic(ctx, *info); }; });
  clinic->add_subcommand("list", "list registered clinics")->callback([&ctx] {
    ctx.action = [&ctx] { return ListClinics(ctx); };
  });
  auto clinic_id = std::make_shared<std::string>();
  auto* show = clinic->add_subcommand("show", "show one clinic");
  show->add_option("CLINIC", *clinic_id, "clinic id or exact name")->required();
  show->callback([&ctx, clinic_id] {
    ctx.action = [&ctx, clinic_id] { return ShowClinic(ctx, *clinic_id); };
  });
  auto edit_info = std::make_shared<vault::ClinicInfo>();
  auto* edit = clinic->add_subcommand("edit", "change a clinic's name, country, e-mail or note");
  edit->add_option("CLINIC", *clinic_id, "clinic id or exact name")->required();
  edit->add_option("--name", edit_info->name, "new name");
  edit->add_option("--country", edit_info->country, "new country code");
  edit->add_option("--email", edit_info->email, "new e-mail");
  edit->add_option("--note", edit_info->note, "new note");
  edit->callback([&ctx, clinic_id, edit_info] {
    ctx.act = {"clinic.edit", {*clinic_id}};
    ctx.action = [&ctx, clinic_id, edit_info]() -> Status {
      DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
      DOSSIER_ASSIGN_OR_RETURN(vault::ClinicRecord c, v->FindClinic(*clinic_id));
      vault::ClinicInfo next = c.info;
      if (!edit_info->name.empty()) next.name = edit_info->name;
      if (!edit_info->country.empty()) next.country = edit_info->country;
      if (!edit_info->email.empty()) next.email = edit_info->email;
      if (!edit_info->note.empty()) next.note = edit_info->note;
      DOSSIER_RETURN_IF_ERROR(v->EditClinic(c.id, next));
      std::printf("%s\n", c.id.c_str());
      return Status::Ok();
    };
  });

  // consent
  auto* consent = app.add_subcommand(
      "consent", "record, list, show and revoke patients' consents to transfer their data");
  consent->require_subcommand(1);
  auto a = std::make_shared<ConsentArgs>();
  auto* cadd = consent->add_subcommand(
      "add",
      "record a signed consent; prints its id (con_…). Records are never edited:\n"
      "a withdrawal is recorded with `consent revoke`.");
  cadd->add_option("--patient", a->patient, "patient id (pat_…)")->required();
  cadd->add_option("--recipient", a->recipient, "clinic id or exact registered name")->required();
  cadd->add_option("--purpose", a->purposes, "one or more, comma-separated: " + AllPurposeNames())
      ->required();
  cadd->add_option("--categories", a->categories,
                   "document categories it covers, comma-separated: " + AllCategoryNames())
      ->required();
  cadd->add_option("--until", a->until, "last day it is valid (YYYY-MM-DD, inclusive)")->required();
  cadd->add_option("--from", a->from, "first day it is valid (default: today)");
  cadd->add_option("--scan", a->scan,
                   "the signed consent, scanned or photographed (PDF, JPEG, PNG, TIFF or HEIC)");
  cadd->add_option("--signed", a->signed_how, "paper (default) or electronic");
  cadd->add_option("--representative", a->representative,
                   "who signed for the patient (with --authority)");
  cadd->add_option("--authority", a->authority,
                   "the document that lets them (a power of attorney, a guardianship decision)");
  cadd->callback([&ctx, a] {
    ctx.act = {"consent.add", {a->patient}};
    ctx.action = [&ctx, a] { return AddConsent(ctx, *a); };
  });

  auto list_patient = std::make_shared<std::string>();
  auto list_state = std::make_shared<std::string>();
  auto* clist = consent->add_subcommand("list", "list consents and their state today");
  clist->add_option("--patient", *list_patient, "only this patient's");
  auto* g = clist->add_option_group("state", "which consents");
  for (const char* s : {"active", "expired", "revoked", "destruction-due"}) {
    g->add_flag_callback(
        std::string("--") + s, [list_state, s] { *list_state = s; },
        std::string("only ") + s + " ones" +
            (std::string(s) == "destruction-due"
                 ? " (revoked 30 days ago or more: erase the patient's data)"
                 : ""));
  }
  g->require_option(0, 1);
  clist->callback([&ctx, list_patient, list_state] {
    ctx.action = [&ctx, list_patient, list_state] {
      return ListConsents(ctx, *list_patient, *list_state);
    };
  });

  auto consent_id = std::make_shared<std::string>();
  auto fhir = std::make_shared<bool>(false);
  auto* cshow = consent->add_subcommand("show", "show one consent");
  cshow->add_option("CONSENT", *consent_id, "consent id (con_…)")->required();
  cshow->add_flag("--fhir", *fhir, "print it as an HL7 FHIR R4 Consent resource");
  cshow->callback([&ctx, consent_id, fhir] {
    ctx.act = {"consent.read", {*consent_id}};
    ctx.action = [&ctx, consent_id, fhir] { return ShowConsent(ctx, *consent_id, *fhir); };
  });

  auto reason = std::make_shared<std::string>();
  auto received = std::make_shared<std::string>();
  auto* revoke = consent->add_subcommand(
      "revoke",
      "record that the patient withdrew a consent: new exports under it are refused at once,\n"
      "and the patient's data is due for destruction 30 days after the withdrawal was received");
  revoke->add_option("CONSENT", *consent_id, "consent id (con_…)")->required();
  revoke->add_option("--reason", *reason, "why, as the patient said it")->required();
  revoke->add_option("--received", *received,
                     "the day the withdrawal reached you (YYYY-MM-DD; default today)");
  revoke->callback([&ctx, consent_id, reason, received] {
    ctx.act = {"consent.revoke", {*consent_id}};
    ctx.action = [&ctx, consent_id, reason, received]() -> Status {
      DOSSIER_RETURN_IF_ERROR(ExpectId(*consent_id, IdKind::kConsent));
      DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
      DOSSIER_RETURN_IF_ERROR(v->RevokeConsent(*consent_id, *reason, *received));
      DOSSIER_ASSIGN_OR_RETURN(vault::ConsentRecord c, v->GetConsent(*consent_id));
      std::printf("%s revoked; new exports under it are refused; destruction due by %s\n",
                  c.id.c_str(), c.destruction_due.c_str());
      return Status::Ok();
    };
  });
}

void AddSettingsCommand(CLI::App& vault_cmd, Context& ctx) {
  auto s = std::make_shared<vault::VaultSettings>();
  auto* settings = vault_cmd.add_subcommand(
      "settings", "show or set the operator's name and country and the vault's time zone");
  settings->add_option("--operator", s->operator_name, "the company, as named in consents");
  settings->add_option("--country", s->operator_country,
                       "its ISO 3166-1 code: a clinic elsewhere is a cross-border transfer");
  settings->add_option("--time-zone", s->time_zone,
                       "IANA name (Europe/Moscow): consent dates are calendar dates there");
  settings->callback([&ctx, s] { ctx.action = [&ctx, s] { return Settings(ctx, *s); }; });
}

}  // namespace dossier::app
