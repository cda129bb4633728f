// dossier patient add|list|show|erase, dossier case open|list
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "common/clock.h"

namespace dossier::app {
namespace {

nlohmann::json PatientJson(const vault::PatientRecord& p) {
  return {{"id", p.id},
          {"name", p.info.name},
          {"birth_date", p.info.birth_date},
          {"phone", p.info.phone},
          {"email", p.info.email},
          {"created", p.created_at},
          {"erased", p.erased},
          {"erased_at", p.erased_at}};
}

Status AddPatient(const Context& ctx, const vault::PatientInfo& info) {
  if (!ParseDate(info.birth_date)) {
    return InvalidArgument("--birth-date must be a real date written YYYY-MM-DD");
  }
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(std::string id, v->AddPatient(info));
  std::printf("%s\n", id.c_str());
  return Status::Ok();
}

Status ListPatients(const Context& ctx) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(auto patients, v->ListPatients());
  if (ctx.json) {
    auto arr = nlohmann::json::array();
    for (const auto& p : patients) arr.push_back(PatientJson(p));
    PrintJson(arr);
    return Status::Ok();
  }
  std::printf("%-16s %-10s %-20s %s\n", "ID", "BORN", "CREATED", "NAME");
  for (const auto& p : patients) {
    std::printf("%-16s %-10s %-20s %s\n", p.id.c_str(), p.erased ? "-" : p.info.birth_date.c_str(),
                p.created_at.c_str(), p.erased ? "(erased)" : p.info.name.c_str());
  }
  return Status::Ok();
}

Status ShowPatient(const Context& ctx, const std::string& id) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(auto p, v->GetPatient(id));
  DOSSIER_ASSIGN_OR_RETURN(auto cases, v->ListCases(id));
  if (ctx.json) {
    auto j = PatientJson(p);
    j["cases"] = nlohmann::json::array();
    for (const auto& c : cases) j["cases"].push_back(c.id);
    PrintJson(j);
    return Status::Ok();
  }
  if (p.erased) {
    std::printf("id:       %s\nerased:   %s\n", p.id.c_str(), p.erased_at.c_str());
    return Status::Ok();
  }
  std::printf(
      "id:       %s\nname:     %s\nborn:     %s\nphone:    %s\nemail:    %s\ncreated:  %s\n",
      p.id.c_str(), p.info.name.c_str(), p.info.birth_date.c_str(), p.info.phone.c_str(),
      p.info.email.c_str(), p.created_at.c_str());
  for (const auto& c : cases) {
    std::printf("case:     %s  %lld document(s)  %s\n", c.id.c_str(),
                static_cast<long long>(c.documents), c.goal.c_str());
  }
  return Status::Ok();
}

Status ErasePatient(const Context& ctx, const std::string& id, bool confirm) {
  if (!confirm) {
    return InvalidArgument(
        "erasing destroys the patient's key and every document of theirs "
        "for good; add --confirm to do it");
  }
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_RETURN_IF_ERROR(v->ErasePatient(id));
  std::printf("erased patient %s: their key is destroyed and their documents are unreadable\n",
              id.c_str());
  return Status::Ok();
}

Status OpenCase(const Context& ctx, const std::string& patient, const std::string& goal,
                const std::string& question) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(std::string id, v->OpenCase(patient, goal, question));
  std::printf("%s\n", id.c_str());
  return Status::Ok();
}

Status ListCases(const Context& ctx, const std::string& patient) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(auto cases,
                           v->ListCases(patient.empty() ? std::nullopt : std::optional(patient)));
  if (ctx.json) {
    auto arr = nlohmann::json::array();
    for (const auto& c : cases) {
      arr.push_back({{"id", c.id},
                     {"patient", c.patient_id},
                     {"status", c.status},
                     {"goal", c.goal},
                     {"question", c.question},
                     {"documents", c.documents},
                     {"created", c.created_at}});
    }
    PrintJson(arr);
    return Status::Ok();
  }
  std::printf("%-17s %-16s %-7s %5s  %-20s %s\n", "ID", "PATIENT", "STATUS", "DOCS", "CREATED",
              "GOAL");
  for (const auto& c : cases) {
    std::printf("%-17s %-16s %-7s %5lld  %-20s %s\n", c.id.c_str(), c.patient_id.c_str(),
                c.status.c_str(), static_cast<long long>(c.documents), c.created_at.c_str(),
                c.goal.c_str());
  }
  return Status::Ok();
}

}  // namespace

void AddPeopleCommands(CLI::App& app, Context& ctx) {
  auto* patient = app.add_subcommand("patient", "add, list, show or erase patients");
  patient->require_subcommand(1);

  auto info = std::make_shared<vault::PatientInfo>();
  auto* add = patient->add_subcommand("add", "add a patient; prints the new patient id");
  add->add_option("--name", info->name, "full name, any script (stored encrypted)")->required();
  add->add_option("--birth-date", info->birth_date, "YYYY-MM-DD")->required();
  add->add_option("--phone", info->phone, "contact phone");
  add->add_option("--email", info->email, "contact e-mail");
  add->callback([&ctx, info] { ctx.action = [&ctx, info] { return AddPatient(ctx, *info); }; });

  auto* list = patient->add_subcommand("list", "list patients");
  list->callback([&ctx] { ctx.action = [&ctx] { return ListPatients(ctx); }; });

  auto id = std::make_shared<std::string>();
  auto* show = patient->add_subcommand("show", "show one patient and their cases");
  show->add_option("ID", *id, "patient id")->required();
  show->callback([&ctx, id] { ctx.action = [&ctx, id] { return ShowPatient(ctx, *id); }; });

  auto erase_id = std::make_shared<std::string>();
  auto confirm = std::make_shared<bool>(false);
  auto* erase = patient->add_subcommand(
      "erase", "crypto-shred a patient: destroy their key; their documents become unreadable");
  erase->add_option("ID", *erase_id, "patient id")->required();
  erase->add_flag("--confirm", *confirm, "yes, destroy it for good");
  erase->callback([&ctx, erase_id, confirm] {
    ctx.action = [&ctx, erase_id, confirm] { return ErasePatient(ctx, *erase_id, *confirm); };
  });

  auto* kase = app.add_subcommand("case", "open or list cases (a patient's request to clinics)");
  kase->require_subcommand(1);
  auto c = std::make_shared<std::array<std::string, 3>>();
  auto* open = kase->add_subcommand("open", "open a case for a patient; prints the case id");
  open->add_option("--patient", (*c)[0], "patient id")->required();
  open->add_option("--goal", (*c)[1], "what the patient seeks (stored encrypted)")->required();
  open->add_option("--question", (*c)[2], "the question for the clinic (stored encrypted)");
  open->callback(
      [&ctx, c] { ctx.action = [&ctx, c] { return OpenCase(ctx, (*c)[0], (*c)[1], (*c)[2]); }; });
  auto filter = std::make_shared<std::string>();
  auto* clist = kase->add_subcommand("list", "list cases");
  clist->add_option("--patient", *filter, "only this patient's cases");
  clist->callback(
      [&ctx, filter] { ctx.action = [&ctx, filter] { return ListCases(ctx, *filter); }; });
}

}  // namespace dossier::app
