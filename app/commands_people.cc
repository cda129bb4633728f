// dossier patient add|edit|list|show|erase, dossier case open|edit|close|reopen|list
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "common/clock.h"
#include "common/file_io.h"
#include "report/report.h"

namespace dossier::app {
namespace {

constexpr size_t kMaxPatientJson = 64 << 10;
constexpr const char* kFieldList = "name, birth_date, phone and email";

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

// The patient fields given by `--from FILE|-`: a JSON object of strings with the keys below,
// each optional here. Messages name the field, never its value (it is personal data).
Result<vault::PatientChanges> ReadPatientJson(const std::string& from) {
  const std::string where = "--from " + from;
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
  if (!j.is_object()) {
    return InvalidArgument(
        fmt::format("{}: expected a JSON object with the fields {}", where, kFieldList));
  }
  vault::PatientChanges given;
  const std::map<std::string, std::optional<std::string>*> fields = {
      {"name", &given.name},
      {"birth_date", &given.birth_date},
      {"phone", &given.phone},
      {"email", &given.email}};
  for (const auto& [key, value] : j.items()) {
    const auto it = fields.find(key);
    if (it == fields.end()) {
      // A key is shown only when it looks like a field name: it could be a name typed there.
      const bool plain =
          key.size() <= 32 && !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
          });
      return InvalidArgument(fmt::format("{}: {} is not a field of a patient (use {})", where,
                                         plain ? "`" + key + "`" : "a key", kFieldList));
    }
    if (!value.is_string()) {
      return InvalidArgument(fmt::format("{}: field `{}` must be a string", where, key));
    }
    *it->second = value.get<std::string>();
  }
  return given;
}

// Today as the operator's machine sees it, for checking before the vault is unlocked (the
// vault checks again with its own time zone).
std::string LocalToday() {
  return FormatLocalDate(std::chrono::system_clock::now(), SystemTimeZone());
}

// Checks each given field against its rule (vault::PatientFieldRule), naming it as the user
// gave it: `--birth-date`, or `--from F: field `birth_date``.
Status CheckPatientFields(const vault::PatientChanges& c, const std::string& from) {
  const std::string today = LocalToday();
  const std::pair<const char*, const std::optional<std::string>*> fields[] = {
      {"name", &c.name}, {"birth_date", &c.birth_date}, {"phone", &c.phone}, {"email", &c.email}};
  for (const auto& [field, value] : fields) {
    if (!*value) continue;
    const std::string rule = vault::PatientFieldRule(field, **value, today);
    if (rule.empty()) continue;
    std::string label;
    if (from.empty()) {
      label = std::string("--") + field;
      std::replace(label.begin(), label.end(), '_', '-');
    } else {
      label = fmt::format("--from {}: field `{}`", from, field);
    }
    return InvalidArgument(label + " " + rule);
  }
  return Status::Ok();
}

// The options `patient add` and `patient edit` share.
struct PatientArgs {
  std::array<std::string, 4> raw;  // what CLI11 parsed into --name, --birth-date, --phone, --email
  vault::PatientChanges flags;     // those of them given
  std::string from;                // --from FILE|-, or ""
  bool duplicate_ok = false;       // add only
};

// Adds the four field options and --from to `cmd`; the function returned, called after
// parsing, fills in `args->flags` with those given.
std::function<void()> AddPatientOptions(CLI::App* cmd, std::shared_ptr<PatientArgs> args,
                                        bool edit) {
  auto& raw = args->raw;
  const char* empty_note = edit ? " ('' removes it)" : "";
  auto* name = cmd->add_option("--name", raw[0], "full name, any script (stored encrypted)");
  auto* birth = cmd->add_option("--birth-date", raw[1], "YYYY-MM-DD, from 1900-01-01 to today");
  auto* phone = cmd->add_option("--phone", raw[2],
                                fmt::format("contact phone: an optional +, then 7 to 15 digits;\n"
                                            "spaces, hyphens and parentheses may group them{}",
                                            empty_note));
  auto* email = cmd->add_option("--email", raw[3], fmt::format("contact e-mail{}", empty_note));
  cmd->add_option("--from", args->from,
                  std::string("the fields as JSON from FILE, or from standard input with -:\n"
                              "{\"name\": \"…\", \"birth_date\": \"YYYY-MM-DD\", \"phone\": "
                              "\"…\", \"email\": \"…\"}\n") +
                      (edit ? "(only the fields to change); keeps the name off the command line"
                            : "(phone and email optional); keeps the name off the command line"));
  return [args, name, birth, phone, email] {
    CLI::Option* options[] = {name, birth, phone, email};
    std::optional<std::string>* fields[] = {&args->flags.name, &args->flags.birth_date,
                                            &args->flags.phone, &args->flags.email};
    for (int i = 0; i < 4; ++i) {
      if (options[i]->count() > 0) *fields[i] = args->raw[i];
    }
  };
}

bool AnyFlag(const vault::PatientChanges& c) {
  return c.name || c.birth_date || c.phone || c.email;
}

// The fields of `add` or `edit`, from the flags or from --from, checked against their rules.
Result<vault::PatientChanges> GivenFields(const PatientArgs& args) {
  if (args.from.empty()) {
    DOSSIER_RETURN_IF_ERROR(CheckPatientFields(args.flags, ""));
    return args.flags;
  }
  if (AnyFlag(args.flags)) {
    return InvalidArgument(
        "--from cannot be combined with --name, --birth-date, --phone or --email: put every "
        "field in the JSON");
  }
  DOSSIER_ASSIGN_OR_RETURN(vault::PatientChanges given, ReadPatientJson(args.from));
  DOSSIER_RETURN_IF_ERROR(CheckPatientFields(given, args.from));
  return given;
}

Status AddPatient(const Context& ctx, const PatientArgs& args) {
  if (args.from.empty() && !args.flags.name) {
    return InvalidArgument(
        "--name is required, or the fields as JSON with --from FILE|- (see --help)");
  }
  if (args.from.empty() && !args.flags.birth_date) {
    return InvalidArgument("--birth-date is required");
  }
  DOSSIER_ASSIGN_OR_RETURN(vault::PatientChanges given, GivenFields(args));
  if (!given.name) return InvalidArgument("--from " + args.from + ": field `name` is missing");
  if (!given.birth_date) {
    return InvalidArgument("--from " + args.from + ": field `birth_date` is missing");
  }
  const vault::PatientInfo info{*given.name, *given.birth_date, given.phone.value_or(""),
                                given.email.value_or("")};
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(vault::AddedPatient added,
                           v->AddPatient(info, args.duplicate_ok ? vault::SamePatient::kAllow
                                                                 : vault::SamePatient::kRefuse));
  for (const auto& same : added.same_as) {
    std::fprintf(stderr,
                 "dossier: warning: patient %s has the same name and birth date; %s was added "
                 "as another person (--duplicate-ok)\n",
                 same.c_str(), added.id.c_str());
  }
  return PrintCreated(ctx, added.id);
}

// What an edit prints: the fields changed, or that nothing did.
Status PrintEdited(const Context& ctx, const std::string& what, const std::string& id,
                   const std::vector<std::string>& changed) {
  if (ctx.json) {
    PrintJson({{"id", id}, {"changed", changed}});
  } else if (changed.empty()) {
    std::printf("%s %s: nothing changed (the values given are the ones stored)\n", what.c_str(),
                id.c_str());
  } else {
    std::printf("%s %s: changed %s\n", what.c_str(), id.c_str(),
                fmt::format("{}", fmt::join(changed, ", ")).c_str());
  }
  return Status::Ok();
}

Status EditPatient(const Context& ctx, const std::string& id, const PatientArgs& args) {
  if (args.from.empty() && !AnyFlag(args.flags)) {
    return InvalidArgument(
        "nothing to change: give --name, --birth-date, --phone or --email, or the fields as "
        "JSON with --from FILE|-");
  }
  DOSSIER_ASSIGN_OR_RETURN(vault::PatientChanges given, GivenFields(args));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(auto changed, v->EditPatient(id, given));
  return PrintEdited(ctx, "patient", id, changed);
}

Status ListPatients(const Context& ctx) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(auto patients, v->ListPatients());
  if (ctx.json) {
    PrintJson(report::PatientsJson(patients));
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
    PrintJson(report::PatientDetailJson(p, cases));
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
    std::printf("case:     %s  %s  %s  %s\n", c.id.c_str(), c.status.c_str(),
                CountsText(c.documents, c.dicom_instances).c_str(), c.goal.c_str());
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
  return PrintCreated(ctx, id);
}

Status EditCase(const Context& ctx, const std::string& id, const vault::CaseChanges& changes) {
  if (!changes.goal && !changes.question) {
    return InvalidArgument("nothing to change: give --goal or --question");
  }
  if (changes.goal && changes.goal->empty()) {
    return InvalidArgument(
        "--goal is empty: a case needs one (to remove the question, give "
        "--question '')");
  }
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(auto changed, v->EditCase(id, changes));
  return PrintEdited(ctx, "case", id, changed);
}

Status SetCaseOpen(const Context& ctx, const std::string& id, bool open) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_RETURN_IF_ERROR(open ? v->ReopenCase(id) : v->CloseCase(id));
  if (ctx.json) {
    PrintJson({{"id", id}, {"status", open ? "open" : "closed"}});
  } else if (open) {
    std::printf("reopened case %s: documents can be added again\n", id.c_str());
  } else {
    std::printf(
        "closed case %s: nothing can be added to it until `dossier case reopen %s`; its "
        "documents can still be read and exported\n",
        id.c_str(), id.c_str());
  }
  return Status::Ok();
}

Status ListCases(const Context& ctx, const std::string& patient) {
  if (!patient.empty()) DOSSIER_RETURN_IF_ERROR(ExpectId(patient, IdKind::kPatient, "--patient"));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(auto cases,
                           v->ListCases(patient.empty() ? std::nullopt : std::optional(patient)));
  if (ctx.json) {
    PrintJson(report::CasesJson(cases));
    return Status::Ok();
  }
  std::printf("%-17s %-16s %-7s %9s %15s  %-20s %s\n", "ID", "PATIENT", "STATUS", "DOCUMENTS",
              "DICOM-INSTANCES", "CREATED", "GOAL");
  for (const auto& c : cases) {
    std::printf("%-17s %-16s %-7s %9lld %15lld  %-20s %s\n", c.id.c_str(), c.patient_id.c_str(),
                c.status.c_str(), static_cast<long long>(c.documents),
                static_cast<long long>(c.dicom_instances), c.created_at.c_str(), c.goal.c_str());
  }
  return Status::Ok();
}

void AddPatientCommands(CLI::App& app, Context& ctx) {
  auto* patient = app.add_subcommand("patient", "add, edit, list, show or erase patients");
  patient->require_subcommand(1);

  auto add_args = std::make_shared<PatientArgs>();
  auto* add = patient->add_subcommand(
      "add",
      "add a patient; prints the new patient id ({\"id\": …} with --json). Prefer --from: what\n"
      "is typed as --name is visible to every local user in /proc/*/cmdline (ps) and stays in\n"
      "the shell's history. A patient with the same name (case and spaces aside) and birth\n"
      "date as one already there is refused unless --duplicate-ok.\n"
      "  e.g. dossier patient add --from patient.json\n"
      "       dossier patient add --from - < patient.json");
  auto add_done = AddPatientOptions(add, add_args, false);
  add->add_flag("--duplicate-ok", add_args->duplicate_ok,
                "add even if a patient with the same name and birth date exists (another "
                "person; warns)");
  add->callback([&ctx, add_args, add_done] {
    add_done();
    ctx.action = [&ctx, add_args] { return AddPatient(ctx, *add_args); };
  });

  auto edit_id = std::make_shared<std::string>();
  auto edit_args = std::make_shared<PatientArgs>();
  auto* edit = patient->add_subcommand(
      "edit",
      "correct a patient's fields; those not given stay as they are. The changed ones are\n"
      "sealed again and audited as patient.edit, naming the fields, never their values.\n"
      "  e.g. dossier patient edit pat_… --phone '+7 900 123-45-67'\n"
      "       dossier patient edit pat_… --from - < corrections.json");
  edit->add_option("ID", *edit_id, "patient id")->required();
  auto edit_done = AddPatientOptions(edit, edit_args, true);
  edit->callback([&ctx, edit_id, edit_args, edit_done] {
    edit_done();
    ctx.act = {"patient.edit", {*edit_id}};
    ctx.action = [&ctx, edit_id, edit_args] { return EditPatient(ctx, *edit_id, *edit_args); };
  });

  auto* list = patient->add_subcommand("list", "list patients");
  list->callback([&ctx] { ctx.action = [&ctx] { return ListPatients(ctx); }; });

  auto id = std::make_shared<std::string>();
  auto* show = patient->add_subcommand(
      "show",
      "show one patient and their cases (with what each holds: documents and DICOM "
      "instances)");
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
}

void AddCaseCommands(CLI::App& app, Context& ctx) {
  auto* kase = app.add_subcommand(
      "case", "open, edit, close, reopen or list cases (a patient's request to clinics)");
  kase->require_subcommand(1);
  auto c = std::make_shared<std::array<std::string, 3>>();
  auto* open = kase->add_subcommand(
      "open", "open a case for a patient; prints the case id ({\"id\": …} with --json)");
  open->add_option("--patient", (*c)[0], "patient id")->required();
  open->add_option("--goal", (*c)[1], "what the patient seeks (stored encrypted)")->required();
  open->add_option("--question", (*c)[2], "the question for the clinic (stored encrypted)");
  open->callback(
      [&ctx, c] { ctx.action = [&ctx, c] { return OpenCase(ctx, (*c)[0], (*c)[1], (*c)[2]); }; });

  auto e = std::make_shared<std::array<std::string, 3>>();
  auto* edit = kase->add_subcommand(
      "edit",
      "correct a case's goal or question; what is not given stays.\n"
      "Audited as case.edit, naming the fields changed. A closed case can be edited too.");
  edit->add_option("ID", (*e)[0], "case id")->required();
  auto* goal = edit->add_option("--goal", (*e)[1], "what the patient seeks (stored encrypted)");
  auto* question = edit->add_option(
      "--question", (*e)[2], "the question for the clinic (stored encrypted; '' removes it)");
  edit->callback([&ctx, e, goal, question] {
    vault::CaseChanges changes;
    if (goal->count() > 0) changes.goal = (*e)[1];
    if (question->count() > 0) changes.question = (*e)[2];
    ctx.act = {"case.edit", {(*e)[0]}};
    ctx.action = [&ctx, e, changes] { return EditCase(ctx, (*e)[0], changes); };
  });

  for (const bool reopen : {false, true}) {
    auto case_id = std::make_shared<std::string>();
    auto* cmd = kase->add_subcommand(
        reopen ? "reopen" : "close",
        reopen ? "reopen a closed case, so documents can be added to it again (case.reopen)"
               : "close a case: `ingest` refuses to add to it until it is reopened; its\n"
                 "documents can still be listed, read and exported (audited as case.close)");
    cmd->add_option("ID", *case_id, "case id")->required();
    cmd->callback([&ctx, case_id, reopen] {
      ctx.act = {reopen ? "case.reopen" : "case.close", {*case_id}};
      ctx.action = [&ctx, case_id, reopen] { return SetCaseOpen(ctx, *case_id, reopen); };
    });
  }

  auto filter = std::make_shared<std::string>();
  auto* clist =
      kase->add_subcommand("list",
                           "list cases with their status and what each holds: DOCUMENTS (other\n"
                           "than DICOM) and DICOM-INSTANCES, counted as `docs` counts them");
  clist->add_option("--patient", *filter, "only this patient's cases");
  clist->callback(
      [&ctx, filter] { ctx.action = [&ctx, filter] { return ListCases(ctx, *filter); }; });
}

}  // namespace

void AddPeopleCommands(CLI::App& app, Context& ctx) {
  AddPatientCommands(app, ctx);
  AddCaseCommands(app, ctx);
}

}  // namespace dossier::app
