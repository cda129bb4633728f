// dossier docs move | docs remove: correcting what was filed under the wrong case or patient,
// and removing what should not be in the vault (issue 14; doc/FORMAT.md §Moves and removals).
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "report/report.h"

namespace dossier::app {
namespace {

Status Move(const Context& ctx, const std::string& id, const std::string& to_case) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(vault::MoveOutcome m, v->Move(id, to_case, report::RecheckInstance));
  if (ctx.json) {
    PrintJson(report::MoveOutcomeJson(m));
  } else {
    const std::string what = m.series ? fmt::format("{} ({} instance{})", m.id, m.doc_ids.size(),
                                                    m.doc_ids.size() == 1 ? "" : "s")
                                      : m.id;
    std::printf("moved %s from %s to %s%s\n", what.c_str(), m.from_case.c_str(), m.to_case.c_str(),
                m.from_patient == m.to_patient ? "" : (" (patient " + m.to_patient + ")").c_str());
    if (m.series && m.from_patient != m.to_patient) {
      if (!m.mismatch.empty()) {
        std::printf("          ! ANOTHER PATIENT? %s — check that this disc is theirs\n",
                    m.mismatch.c_str());
      } else if (!m.mismatch_before.empty()) {
        std::printf("          the disc's patient is this case's patient: no warning any more\n");
      }
    }
  }
  if (m.series && m.from_patient != m.to_patient && !m.mismatch.empty()) {
    std::fprintf(stderr,
                 "dossier: WARNING: %s may belong to another patient than case %s's: check the "
                 "disc before sending it to a clinic\n",
                 m.id.c_str(), m.to_case.c_str());
  }
  return Status::Ok();
}

Status Remove(const Context& ctx, const std::string& id, const std::string& reason) {
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument(
        "give --reason TEXT: why " + id +
        " is removed (kept sealed with its record and shown by `dossier docs --case ID --all`)");
  }
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(vault::RemoveOutcome r, v->Remove(id, reason));
  if (ctx.json) {
    PrintJson(report::RemoveOutcomeJson(r));
    return Status::Ok();
  }
  const std::string what = r.series ? fmt::format("{} ({} instance{})", r.id, r.doc_ids.size(),
                                                  r.doc_ids.size() == 1 ? "" : "s")
                                    : r.id;
  std::printf(
      "removed %s: its data is deleted for good; its record stays with the reason (`dossier "
      "docs --case %s --all`)\n",
      what.c_str(), r.case_id.c_str());
  return Status::Ok();
}

}  // namespace

void AddCorrectionCommands(CLI::App& docs, Context& ctx) {
  auto move = std::make_shared<std::array<std::string, 2>>();
  auto* mv = docs.add_subcommand(
      "move",
      "move a document, or a whole DICOM series, filed under the wrong case: to another case\n"
      "of the same patient or of another patient (its keys are rewrapped for them and, for\n"
      "DICOM, the wrong-patient check runs again); audited with both cases\n"
      "  e.g. dossier docs move doc_ab12cd34ef --to-case case_ab12cd34ef");
  mv->add_option("DOC|SERIES", (*move)[0], "document (doc_…) or DICOM series (ser_…) id")
      ->required();
  mv->add_option("--to-case", (*move)[1], "the case it belongs to (an open one)")->required();
  mv->callback([&ctx, move] {
    ctx.act = {"document.move", {(*move)[0], (*move)[1]}};
    ctx.action = [&ctx, move] { return Move(ctx, (*move)[0], (*move)[1]); };
  });
  auto remove_id = std::make_shared<std::string>();
  auto remove_reason = std::make_shared<std::string>();
  auto* rm = docs.add_subcommand(
      "remove",
      "remove a document, or a whole DICOM series, that should not be in the vault: its data\n"
      "is deleted and cannot be recovered; its record stays, marked removed, with the reason\n"
      "sealed (shown by `docs --all`), so the audit log still names it\n"
      "  e.g. dossier docs remove doc_ab12cd34ef --reason \"another patient's letter\"");
  rm->add_option("DOC|SERIES", *remove_id, "document (doc_…) or DICOM series (ser_…) id")
      ->required();
  rm->add_option("--reason", *remove_reason, "why it is removed (required; kept sealed)");
  rm->callback([&ctx, remove_id, remove_reason] {
    ctx.act = {"document.remove", {*remove_id}};
    ctx.action = [&ctx, remove_id, remove_reason] {
      return Remove(ctx, *remove_id, *remove_reason);
    };
  });
}

}  // namespace dossier::app
