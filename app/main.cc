// dossier — secure medical-records pipeline. See `dossier --help` and doc/.
#include <fmt/format.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "app/cli.h"
#include "dicom/dicom.h"
#include "ingest/worker.h"
#include "ocr/ocr.h"

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
    return ingest::RunExportWorker();
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
      "$DOSSIER_PASSPHRASE_FILE, or type it when asked.\n"
      "Exit codes: 0 ok, 1 usage, 2 rejected/not found, 3 integrity failure,\n"
      "4 authentication failed, 5 I/O or internal error.",
      "dossier"};
  cli.fallthrough();
  cli.require_subcommand(1);
  cli.set_version_flag("--version", fmt::format("dossier {} ({}, {})", "0.1.0",
                                                dicom::LibraryVersion(), ocr::LibraryVersions()));
  cli.add_option("--vault", ctx.vault_dir, "vault folder (default $DOSSIER_VAULT, else ./vault)");
  cli.add_option("--passphrase-file", ctx.passphrase_file,
                 "file holding the passphrase (default $DOSSIER_PASSPHRASE_FILE, else ask)");
  cli.add_option("--actor", ctx.actor, "who is acting, for the audit log (default $USER)");
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

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = cli.exit(e);
    return rc == 0 ? 0 : 1;
  }
  if (!ctx.action) {
    std::fputs(cli.help().c_str(), stderr);
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
  std::fprintf(stderr, "dossier: %s\n", st.message().c_str());
  return ExitCodeFor(st);
}
