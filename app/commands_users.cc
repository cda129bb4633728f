// dossier user add|list|passwd|disable|rights: the accounts of `dossier serve`. The CLI is the
// operator's tool: it may create any account (who may create whom over HTTP is the server's
// role table). Passwords come from --password-file or the terminal, never from argv.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "report/report.h"

namespace dossier::app {
namespace {

struct UserArgs {
  std::string name, role, patient, rights, password_file, id;
};

Result<vault::Rights> RightsOption(const std::string& text) {
  auto rights = vault::ParseRights(text);
  if (!rights) {
    return InvalidArgument(
        "--rights: give one or more of view, upload and replies, comma-separated, or none");
  }
  return *rights;
}

Result<SecretString> NewPassword(const UserArgs& a) {
  DOSSIER_ASSIGN_OR_RETURN(SecretString password,
                           ReadPassword(a.password_file, "New password for the account: "));
  DOSSIER_RETURN_IF_ERROR(vault::CheckUserPassword(password.view()));
  return password;
}

Status AddUser(const Context& ctx, const UserArgs& a) {
  DOSSIER_RETURN_IF_ERROR(vault::CheckUserName(a.name));
  const auto role = vault::ParseRole(a.role);
  if (!role) return InvalidArgument("--role: give one of " + vault::AllRoleNames());
  if (!a.patient.empty())
    DOSSIER_RETURN_IF_ERROR(ExpectId(a.patient, IdKind::kPatient, "--patient"));
  vault::Rights rights;
  if (!a.rights.empty()) {
    DOSSIER_ASSIGN_OR_RETURN(rights, RightsOption(a.rights));
  }
  DOSSIER_ASSIGN_OR_RETURN(SecretString password, NewPassword(a));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(
      std::string id, v->AddUser(a.name, *role, std::string(password.view()), a.patient, rights));
  return PrintCreated(ctx, id);
}

Status ListUsers(const Context& ctx) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(auto users, v->ListUsers());
  if (ctx.json) {
    auto arr = nlohmann::json::array();
    for (const auto& u : users) arr.push_back(report::UserJson(u));
    PrintJson(arr);
    return Status::Ok();
  }
  std::printf("%-30s  %-14s  %-30s  %-19s  %-8s  %s\n", "USER", "ROLE", "PATIENT", "RIGHTS",
              "STATUS", "NAME");
  for (const auto& u : users) {
    const std::string rights =
        u.role == vault::Role::kRepresentative ? vault::RightsText(u.rights) : "-";
    std::printf("%-30s  %-14s  %-30s  %-19s  %-8s  %s\n", u.id.c_str(),
                std::string(vault::RoleName(u.role)).c_str(),
                u.patient_id.empty() ? "-" : u.patient_id.c_str(), rights.c_str(),
                u.disabled ? "disabled" : "active",
                u.name.empty() ? "(forgotten: patient erased)" : u.name.c_str());
  }
  return Status::Ok();
}

Status ChangePassword(const Context& ctx, const UserArgs& a) {
  DOSSIER_ASSIGN_OR_RETURN(SecretString password, NewPassword(a));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_RETURN_IF_ERROR(v->SetUserPassword(a.name, std::string(password.view())));
  std::printf("password changed\n");
  return Status::Ok();
}

Status Disable(const Context& ctx, const UserArgs& a) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_RETURN_IF_ERROR(v->DisableUser(a.name));
  std::printf("account disabled: it can no longer log in\n");
  return Status::Ok();
}

Status SetRights(const Context& ctx, const UserArgs& a) {
  DOSSIER_RETURN_IF_ERROR(ExpectId(a.id, IdKind::kUser));
  DOSSIER_ASSIGN_OR_RETURN(vault::Rights rights, RightsOption(a.rights));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(vault::UserRecord before, v->GetUser(a.id));
  DOSSIER_RETURN_IF_ERROR(v->SetRights(a.id, rights));
  std::printf("%s: %s (was %s)\n", a.id.c_str(), vault::RightsText(rights).c_str(),
              vault::RightsText(before.rights).c_str());
  return Status::Ok();
}

}  // namespace

void AddUserCommands(CLI::App& app, Context& ctx) {
  auto* user = app.add_subcommand(
      "user",
      "manage the accounts that log in to `dossier serve` (patients, representatives, staff)");
  user->require_subcommand(1);
  auto a = std::make_shared<UserArgs>();
  const std::string password_help =
      "file holding the new password (one line; at least 12 characters); without it the\n"
      "password is asked for twice on the terminal. Never given on the command line.";

  auto* add = user->add_subcommand(
      "add",
      "add an account; prints its id (usr_…). NAME is what they log in with (an e-mail\n"
      "address will do; compared with A-Z lower-cased) and is stored encrypted.\n"
      "Examples:\n"
      "  dossier user add anna@example.org --role patient --patient pat_…\n"
      "  dossier user add boris@example.org --role representative --patient pat_… \\\n"
      "      --rights view,replies --password-file boris.pw\n"
      "  dossier user add olga --role manager");
  add->add_option("NAME", a->name, "login name (personal data: never shown in the audit log)")
      ->required();
  add->add_option("--role", a->role, vault::AllRoleNames())->required();
  add->add_option("--patient", a->patient,
                  "the patient (pat_…) a patient or representative account belongs to");
  add->add_option("--rights", a->rights,
                  "a representative's rights: view, upload, replies (comma-separated) or none");
  add->add_option("--password-file", a->password_file, password_help);
  add->callback([&ctx, a] {
    ctx.act = {"user.add", {}};
    if (!a->patient.empty()) ctx.act.objects.push_back(a->patient);
    ctx.action = [&ctx, a] { return AddUser(ctx, *a); };
  });

  user->add_subcommand("list",
                       "list every account: id, role, patient, rights, status and login name\n"
                       "Example:\n"
                       "  dossier --json user list")
      ->callback([&ctx] { ctx.action = [&ctx] { return ListUsers(ctx); }; });

  auto* passwd =
      user->add_subcommand("passwd",
                           "set a new password for an account\n"
                           "Example:\n"
                           "  dossier user passwd anna@example.org --password-file new.pw");
  passwd->add_option("NAME", a->name, "login name")->required();
  passwd->add_option("--password-file", a->password_file, password_help);
  passwd->callback([&ctx, a] {
    ctx.act = {"user.passwd", {}};
    ctx.action = [&ctx, a] { return ChangePassword(ctx, *a); };
  });

  auto* disable = user->add_subcommand("disable",
                                       "disable an account for good: it can no longer log in\n"
                                       "Example:\n"
                                       "  dossier user disable anna@example.org");
  disable->add_option("NAME", a->name, "login name")->required();
  disable->callback([&ctx, a] {
    ctx.act = {"user.disable", {}};
    ctx.action = [&ctx, a] { return Disable(ctx, *a); };
  });

  auto* rights = user->add_subcommand(
      "rights",
      "grant or revoke what a representative may do for their patient (audited)\n"
      "Examples:\n"
      "  dossier user rights usr_… --rights view,upload,replies\n"
      "  dossier user rights usr_… --rights none");
  rights->add_option("ID", a->id, "the representative's user id (usr_…)")->required();
  rights
      ->add_option("--rights", a->rights,
                   "view (documents and verdicts), upload, replies (the clinics' answers),\n"
                   "comma-separated; none revokes them all")
      ->required();
  rights->callback([&ctx, a] {
    ctx.act = {"user.rights", {a->id}};
    ctx.action = [&ctx, a] { return SetRights(ctx, *a); };
  });
}

}  // namespace dossier::app
