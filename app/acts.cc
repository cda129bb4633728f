// What every command shares about ids, numbers and outcomes: an id of the wrong kind is
// refused with the way to the right one, a number out of range says the rule in words, and a
// command that fails after unlocking the vault leaves its failure on the audit record.
#include <fmt/format.h>

#include <cstdio>

#include "app/cli.h"

namespace dossier::app {
namespace {

// Where ids of `kind` are listed.
std::string WhereListed(IdKind kind) {
  switch (kind) {
    case IdKind::kPatient:
      return "`dossier patient list` shows patient ids";
    case IdKind::kCase:
      return "`dossier case list` shows case ids";
    case IdKind::kDocument:
      return "`dossier docs --case CASE` shows document ids";
    case IdKind::kSeries:
      return "`dossier docs --case CASE` shows DICOM series ids";
    case IdKind::kClinic:
      return "`dossier clinic list` shows clinic ids";
    case IdKind::kConsent:
      return "`dossier consent list` shows consent ids";
    case IdKind::kNote:
      return "`dossier audit log` shows the notes its events name";
    case IdKind::kRequest:
    case IdKind::kExport:
      return "`dossier export list` shows request ids (req_…)";
    case IdKind::kUser:
      return "`dossier user list` shows user ids";
    default:
      return "see `dossier --help`";
  }
}

// What to do with `id`, of kind `got`, where an id of kind `want` was asked for.
std::string Hint(const std::string& id, IdKind got, IdKind want) {
  if (want == IdKind::kRequest || want == IdKind::kUser) return WhereListed(want);
  switch (got) {
    case IdKind::kPatient:
      return fmt::format("their cases are `dossier case list --patient {}`", id);
    case IdKind::kCase:
      if (want == IdKind::kPatient) {
        return "`dossier case list` shows whose it is, `dossier patient list` every patient";
      }
      return fmt::format("its documents and DICOM series are `dossier docs --case {}`", id);
    case IdKind::kSeries:
      if (want == IdKind::kDocument) {
        return fmt::format(
            "use `dossier dicom preview {} -o FILE`, or `dossier --json docs --case CASE` for "
            "its instances",
            id);
      }
      return "give the case it is in (`dossier case list`)";
    case IdKind::kStudy:
      return "its series (ser_…) are listed by `dossier docs --case CASE`";
    case IdKind::kDocument:
      if (want == IdKind::kSeries) {
        return fmt::format(
            "`dossier get {} -o FILE` decrypts it; DICOM series (ser_…) are listed by "
            "`dossier docs --case CASE`",
            id);
      }
      return "give the case it is in (`dossier case list`)";
    default:
      return WhereListed(want);
  }
}

// `value` as it may be repeated in a message: only when it looks like an id (a mistyped
// argument may be a name).
std::string Shown(const std::string& value) {
  const bool plain =
      !value.empty() && value.size() <= 48 &&
      value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
  return plain ? value : "the value given";
}

}  // namespace

Status ExpectId(const std::string& value, IdKind want, const std::string& option) {
  const IdKind got = KindOfId(value);
  if (got == want) return Status::Ok();
  const std::string where = option.empty() ? "" : option + ": ";
  if (got == IdKind::kUnknown) {
    return InvalidArgument(fmt::format("{}{} is not a {} id ({}…): {}", where, Shown(value),
                                       IdKindName(want), IdPrefix(want), WhereListed(want)));
  }
  return InvalidArgument(fmt::format("{}{} is a {}, not a {}: {}", where, value, IdKindName(got),
                                     IdKindName(want), Hint(value, got, want)));
}

CLI::Validator CountFrom(long long min, const std::string& rule) {
  return CLI::Validator(
      [min, rule](std::string& value) -> std::string {
        const auto digits_from = [&](size_t i) {
          return value.size() > i && value.find_first_not_of("0123456789", i) == value.npos;
        };
        if (digits_from(0)) {
          if (value.size() > 9) return "that number is too large (" + rule + ")";
          return std::stoll(value) < min ? rule : std::string();
        }
        if (!value.empty() && value[0] == '-' && digits_from(1)) return rule;  // below the start
        return "give a whole number (" + rule + ")";
      },
      "NUMBER");
}

void RecordFailure(const Context& ctx, const Status& why) {
  if (why.ok() || !ctx.opened || ctx.act.action.empty()) return;
  if (Status st = ctx.opened->RecordFailure(ctx.act.action, ctx.act.objects, why); !st.ok()) {
    std::fprintf(stderr,
                 "dossier: WARNING: this failure could not be put on the audit record: %s\n",
                 st.message().c_str());
  }
}

}  // namespace dossier::app
