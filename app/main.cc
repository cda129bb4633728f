// dossier — secure medical-records pipeline. See `dossier --help` and doc/.
#include <fmt/format.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "app/cli.h"
#include "common/encoding.h"
#include "dicom/dicom.h"
#include "exporter/imaging_worker.h"
#include "ingest/worker.h"
#include "ocr/ocr.h"
#include "vault/audit.h"

namespace {

std::string DefaultActor() {
  if (const char* u = std::getenv("USER"); u != nullptr && *u != '\0') return u;
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr) return pw->pw_name;
  return "uid-" + std::to_string(::getuid());
}

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// The one table of exit codes (DESIGN.md §4, doc/CLI.md): the same kind of error gets the same
// code in every command (common/status.cc ExitCodeFor).
constexpr const char* kExitCodes =
    "Exit codes (the same in every command):\n"
    "  0  done\n"
    "  1  usage: unknown command or option, malformed value, an id of the wrong kind\n"
    "  2  not found or refused: no such file, folder, vault, patient, case or document;\n"
    "     input refused by its content or by policy; a limit reached\n"
    "  3  integrity failure: damage or tampering found\n"
    "  4  authentication failed: wrong passphrase\n"
    "  5  I/O or internal error: the system refused a read or write; a bug";

// Optimal string alignment distance: a swap of two neighbours ("pateint") counts as one.
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// Where the words of argv lead: the deepest command they name, and the first word that is
// not a command where one was expected ("" if none).
struct CommandPath {
  const CLI::App* app = nullptr;
  std::string words;    // "patient list"
  std::string unknown;  // the word that names no command
};

CommandPath FollowCommands(const CLI::App& root, int argc, char** argv) {
  CommandPath path{&root, "", ""};
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--") break;
    if (word.size() > 1 && word[0] == '-') {
      if (word.find('=') != std::string::npos) continue;
      const CLI::Option* opt = nullptr;
      for (const CLI::App* a = path.app; a != nullptr && opt == nullptr; a = a->get_parent()) {
        opt = a->get_option_no_throw(word);
      }
      if (opt != nullptr && opt->get_expected_min() > 0) ++i;  // its value
      continue;
    }
    const auto subs =
        path.app->get_subcommands([](const CLI::App* a) { return !a->get_name().empty(); });
    if (subs.empty()) break;  // a command's own arguments from here on
    const auto it = std::find_if(subs.begin(), subs.end(),
                                 [&](const CLI::App* a) { return a->get_name() == word; });
    if (it == subs.end()) {
      // A command that also takes arguments of its own ("docs"): only its own options here.
      path.unknown = word;
      break;
    }
    path.app = *it;
    path.words += (path.words.empty() ? "" : " ") + word;
  }
  return path;
}

// "unknown command 'pateint'; did you mean 'patient'?" — the nearest command, if any is near.
std::string UnknownCommandMessage(const CommandPath& path) {
  const std::string prefix = path.words.empty() ? "" : path.words + " ";
  std::string best;
  size_t best_distance = 3;  // farther than 2 edits is no suggestion
  for (const CLI::App* a :
       path.app->get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); })) {
    const std::string& name = a->get_name();
    size_t d = EditDistance(path.unknown, name);
    if (path.unknown.size() >= 2 && name.rfind(path.unknown, 0) == 0) d = std::min<size_t>(d, 1);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  std::string shown = path.unknown;
  if (shown.size() > 40 || !dossier::IsValidUtf8(shown)) shown = "(the word given)";
  std::string message = fmt::format("unknown command '{}{}'", prefix, shown);
  if (!best.empty()) return message + fmt::format("; did you mean '{}{}'?", prefix, best);
  return message + fmt::format("; see `dossier {}--help`", prefix);
}

// A parse error as one line that says what to do.
std::string ParseErrorMessage(const CLI::ParseError& e, const CommandPath& path) {
  const std::string help =
      fmt::format("`dossier {}{}--help`", path.words, path.words.empty() ? "" : " ");
  if (!path.unknown.empty()) return UnknownCommandMessage(path);
  const std::string what = e.what();
  if (what == "A subcommand is required" || what.rfind("A subcommand", 0) == 0) {
    std::string names;
    for (const CLI::App* a :
         path.app->get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); })) {
      names += (names.empty() ? "" : ", ") + a->get_name();
    }
    return fmt::format("give a command after `dossier{}{}`: {} (see {})",
                       path.words.empty() ? "" : " ", path.words, names, help);
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    const std::string kOne = "The following argument was not expected: ";
    const std::string kMany = "The following arguments were not expected: ";
    std::string extras = what;
    if (extras.rfind(kOne, 0) == 0) extras = extras.substr(kOne.size());
    if (extras.rfind(kMany, 0) == 0) extras = extras.substr(kMany.size());
    return fmt::format("unexpected argument '{}' for `dossier{}{}` (see {})", extras,
                       path.words.empty() ? "" : " ", path.words, help);
  }
  return fmt::format("{} (see {})", what, help);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dossier;
  // Decrypted names and document bytes pass through ordinary memory: never dump it to disk.
  ::prctl(PR_SET_DUMPABLE, 0);
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe (worker, `| head`) is an error, not a kill
  // An unpack worker: this binary re-executed by ingest to parse untrusted archives.
  if (argc == 2 && std::string_view(argv[1]) == "__unpack-worker") {
    return ingest::RunUnpackWorker();
  }
  // The export worker: de-identifies DICOM into an export folder, confined to it.
  if (argc == 2 && std::string_view(argv[1]) == "__export-worker") {
    return exporter::RunImagingWorker(true);
  }
  // The imaging worker: the same for `dossier export`, writing no file at all.
  if (argc == 2 && std::string_view(argv[1]) == "__imaging-worker") {
    return exporter::RunImagingWorker(false);
  }
  app::Context ctx;
  ctx.vault_dir = EnvOr("DOSSIER_VAULT", "./vault");
  ctx.passphrase_file = EnvOr("DOSSIER_PASSPHRASE_FILE", "");
  ctx.actor = DefaultActor();

  CLI::App cli{
      "dossier — keeps patients' medical records encrypted, checked and audited, and builds\n"
      "dossiers for clinics abroad.\n\n"
      "Start with:\n"
      "  dossier init                                  # asks for a passphrase twice\n"
      "  dossier patient add --name 'Иванов Иван' --birth-date 1980-02-01\n"
      "  dossier case open --patient pat_… --goal 'second opinion'\n"
      "  dossier ingest --case case_… scans/\n"
      "  dossier docs --case case_…\n\n"
      "Passphrases are never given on the command line: use --passphrase-file,\n"
      "$DOSSIER_PASSPHRASE_FILE, or type it when asked. Every command is listed, with its\n"
      "one-line description, in doc/CLI.md.\n\n" +
          std::string(kExitCodes) + "\n",
      "dossier"};
  cli.fallthrough();
  cli.require_subcommand(1);
  cli.set_version_flag("--version", fmt::format("dossier {} ({}, {})", "0.1.0",
                                                dicom::LibraryVersion(), ocr::LibraryVersions()));
  cli.add_option("--vault", ctx.vault_dir, "vault folder (default $DOSSIER_VAULT, else ./vault)");
  cli.add_option("--passphrase-file", ctx.passphrase_file,
                 "file holding the passphrase (default $DOSSIER_PASSPHRASE_FILE, else ask)");
  cli.add_option("--actor", ctx.actor,
                 "who is acting, for the audit log (default $USER): 1 to 64 bytes, no control\n"
                 "characters; the operating-system user is recorded beside it");
  cli.add_flag("--json", ctx.json, "print listings and reports as JSON");
  cli.add_flag("--allow-unconfined-workers", ctx.allow_unconfined_workers,
               "run analysis workers even where they cannot be confined (no Landlock or "
               "seccomp): not recommended, said on every run");

  app::AddVaultCommands(cli, ctx);
  app::AddPeopleCommands(cli, ctx);
  app::AddDocumentCommands(cli, ctx);
  app::AddAuditCommands(cli, ctx);
  app::AddDicomCommands(cli, ctx);
  app::AddConsentCommands(cli, ctx);
  app::AddExportCommands(cli, ctx);
  app::AddServeCommand(cli, ctx);
  app::AddUserCommands(cli, ctx);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return cli.exit(e);  // --help, --version
    const std::string message = ParseErrorMessage(e, FollowCommands(cli, argc, argv));
    std::fprintf(stderr, "dossier: %s\n", message.c_str());
    return 1;
  }
  if (!ctx.action) {
    std::fputs(cli.help().c_str(), stderr);
    return 1;
  }
  if (Status st = vault::CheckActorName(ctx.actor); !st.ok()) {
    std::fprintf(stderr,
                 "dossier: --actor: %s: give who is acting, 1 to %zu bytes without control "
                 "characters (default $USER)\n",
                 st.message().c_str(), vault::kMaxActorBytes);
    return 1;
  }
  if (ctx.allow_unconfined_workers) {
    std::fprintf(stderr,
                 "dossier: WARNING: --allow-unconfined-workers: analysis workers that cannot be "
                 "confined will run all the same, and a hostile file read by one could reach "
                 "the network, start programs and read this user's files\n");
  }
  Status st;
  try {
    st = ctx.action();
  } catch (const std::exception& e) {
    st = Internal(std::string("unexpected error: ") + e.what());
  }
  if (st.ok()) return 0;
  app::RecordFailure(ctx, st);
  std::fprintf(stderr, "dossier: %s\n", st.message().c_str());
  return ExitCodeFor(st);
}
