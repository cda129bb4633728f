// dossier patient add|list|show|erase, dossier case open|list
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "common/clock.h"
#include "common/file_io.h"

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

constexpr size_t kMaxPatientJson = 64 << 10;

// Standard input, whole, up to `max` bytes.
Result<std::string> ReadStdin(size_t max) {
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(0, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot read", "standard input", errno);
    }
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max) {
      return LimitExceeded("standard input is larger than " + std::to_string(max) + " bytes");
    }
  }
}

// The fields of `patient add --from`: a JSON object of strings with exactly the keys below.
// Messages name the field, never its value (it is personal data).
Result<vault::PatientInfo> ReadPatientJson(const std::string& from) {
  const std::string where = "--from " + (from == "-" ? std::string("-") : from);
  std::string text;
  if (from == "-") {
    DOSSIER_ASSIGN_OR_RETURN(text, ReadStdin(kMaxPatientJson));
  } else {
    DOSSIER_ASSIGN_OR_RETURN(text, ReadSmallFile(from, kMaxPatientJson));
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return InvalidArgument(fmt::format("{}: not valid JSON (at byte {})", where, e.byte));
  }
  constexpr const char* kFields = "name, birth_date, phone and email";
  if (!j.is_object()) {
    return InvalidArgument(
        fmt::format("{}: expected a JSON object with the fields {}", where, kFields));
  }
  vault::PatientInfo info;
  const std::map<std::string, std::string*> fields = {{"name", &info.name},
                                                      {"birth_date", &info.birth_date},
                                                      {"phone", &info.phone},
                                                      {"email", &info.email}};
  for (const auto& [key, value] : j.items()) {
    const auto it = fields.find(key);
    if (it == fields.end()) {
      // A key is shown only when it looks like a field name: it could be a name typed there.
      const bool plain =
          key.size() <= 32 && !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
          });
      return InvalidArgument(fmt::format("{}: {} is not a field of a patient (use {})", where,
                                         plain ? "`" + key + "`" : "a key", kFields));
    }
    if (!value.is_string()) {
      return InvalidArgument(fmt::format("{}: field `{}` must be a string", where, key));
    }
    *it->second = value.get<std::string>();
  }
  for (const char* required : {"name", "birth_date"}) {
    if (!j.contains(required)) {
      return InvalidArgument(fmt::format("{}: field `{}` is missing", where, required));
    }
  }
  if (info.name.empty()) return InvalidArgument(where + ": field `name` is empty");
  if (!ParseDate(info.birth_date)) {
    return InvalidArgument(where + ": field `birth_date` must be a real date written YYYY-MM-DD");
  }
  return info;
}

struct AddPatientArgs {
  vault::PatientInfo info;
  std::string from;
  bool from_given = false;
  bool name_given = false;
  bool birth_date_given = false;
  bool other_given = false;  // --phone or --email
};

Status AddPatient(const Context& ctx, const AddPatientArgs& args) {
  vault::PatientInfo info = args.info;
  if (args.from_given) {
    if (args.name_given || args.birth_date_given || args.other_given) {
      return InvalidArgument(
          "--from cannot be combined with --name, --birth-date, --phone or --email: put every "
          "field in the JSON");
    }
    DOSSIER_ASSIGN_OR_RETURN(info, ReadPatientJson(args.from));
  } else {
    if (!args.name_given) {
      return InvalidArgument(
          "--name is required, or the fields as JSON with --from FILE|- (see --help)");
    }
    if (!args.birth_date_given) return InvalidArgument("--birth-date is required");
    if (!ParseDate(info.birth_date)) {
      return InvalidArgument("--birth-date must be a real date written YYYY-MM-DD");
    }
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
  DOSSIER_RETURN_IF_ERROR(ExpectId(id, IdKind::kPatient));
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
  DOSSIER_RETURN_IF_ERROR(ExpectId(id, IdKind::kPatient));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_RETURN_IF_ERROR(v->ErasePatient(id));
  std::printf(
      "erased patient %s: their key, personal data and document files are deleted; backups "
      "taken before now still hold them until rotated out\n",
      id.c_str());
  return Status::Ok();
}

Status OpenCase(const Context& ctx, const std::string& patient, const std::string& goal,
                const std::string& question) {
  DOSSIER_RETURN_IF_ERROR(ExpectId(patient, IdKind::kPatient, "--patient"));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(std::string id, v->OpenCase(patient, goal, question));
  std::printf("%s\n", id.c_str());
  return Status::Ok();
}

Status ListCases(const Context& ctx, const std::string& patient) {
  if (!patient.empty()) DOSSIER_RETURN_IF_ERROR(ExpectId(patient, IdKind::kPatient, "--patient"));
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

  auto args = std::make_shared<AddPatientArgs>();
  auto* add = patient->add_subcommand(
      "add",
      "add a patient; prints the new patient id. Prefer --from: what is typed as --name is\n"
      "visible to every local user in /proc/*/cmdline (ps) and stays in the shell's history\n"
      "  e.g. dossier patient add --from patient.json\n"
      "       dossier patient add --from - < patient.json");
  auto* name =
      add->add_option("--name", args->info.name, "full name, any script (stored encrypted)");
  auto* birth = add->add_option("--birth-date", args->info.birth_date, "YYYY-MM-DD");
  auto* phone = add->add_option("--phone", args->info.phone, "contact phone");
  auto* email = add->add_option("--email", args->info.email, "contact e-mail");
  auto* from = add->add_option(
      "--from", args->from,
      "the fields as JSON from FILE, or from standard input with -:\n"
      "{\"name\": \"…\", \"birth_date\": \"YYYY-MM-DD\", \"phone\": \"…\", \"email\": \"…\"}\n"
      "(phone and email optional); keeps the name off the command line");
  add->callback([&ctx, args, name, birth, phone, email, from] {
    args->name_given = name->count() > 0;
    args->birth_date_given = birth->count() > 0;
    args->other_given = phone->count() > 0 || email->count() > 0;
    args->from_given = from->count() > 0;
    ctx.action = [&ctx, args] { return AddPatient(ctx, *args); };
  });

  auto* list = patient->add_subcommand("list", "list patients");
  list->callback([&ctx] { ctx.action = [&ctx] { return ListPatients(ctx); }; });

  auto id = std::make_shared<std::string>();
  auto* show = patient->add_subcommand("show", "show one patient and their cases");
  show->add_option("ID", *id, "patient id")->required();
  show->callback([&ctx, id] {
    ctx.act = {"patient.read", {*id}};
    ctx.action = [&ctx, id] { return ShowPatient(ctx, *id); };
  });

  auto erase_id = std::make_shared<std::string>();
  auto confirm = std::make_shared<bool>(false);
  auto* erase = patient->add_subcommand(
      "erase",
      "erase a patient: destroy their key, their personal data and their document files\n"
      "(ids, sizes, dates, verdicts and audit events remain; see doc/SECURITY.md on backups)");
  erase->add_option("ID", *erase_id, "patient id")->required();
  erase->add_flag("--confirm", *confirm, "yes, destroy it for good");
  erase->callback([&ctx, erase_id, confirm] {
    ctx.act = {"patient.erase", {*erase_id}};
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
