#include "common/ids.h"

#include <array>
#include <utility>

namespace dossier {
namespace {

constexpr std::array<std::pair<IdKind, std::string_view>, 14> kPrefixes = {{
    {IdKind::kPatient, "pat_"},
    {IdKind::kCase, "case_"},
    {IdKind::kDocument, "doc_"},
    {IdKind::kSeries, "ser_"},
    {IdKind::kStudy, "stu_"},
    {IdKind::kClinic, "cli_"},
    {IdKind::kConsent, "con_"},
    {IdKind::kNote, "note_"},
    {IdKind::kVault, "vlt_"},
    {IdKind::kRequest, "req_"},
    {IdKind::kExport, "exp_"},
    {IdKind::kUser, "usr_"},
    {IdKind::kJob, "job_"},
    {IdKind::kUpload, "upl_"},
}};

// RandomId uses lower-case Crockford base32; any lower-case letter is taken, so a mistyped id
// ("doc_nosuch") is still known for its kind, and reported as not found.
constexpr std::string_view kAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz";

}  // namespace

IdKind KindOfId(std::string_view id) {
  for (const auto& [kind, prefix] : kPrefixes) {
    if (id.substr(0, prefix.size()) != prefix) continue;
    const std::string_view rest = id.substr(prefix.size());
    if (rest.empty() || rest.size() > 40 || rest.find_first_not_of(kAlphabet) != rest.npos) {
      return IdKind::kUnknown;
    }
    return kind;
  }
  return IdKind::kUnknown;
}

std::string_view IdKindName(IdKind kind) {
  switch (kind) {
    case IdKind::kPatient:
      return "patient";
    case IdKind::kCase:
      return "case";
    case IdKind::kDocument:
      return "document";
    case IdKind::kSeries:
      return "DICOM series";
    case IdKind::kStudy:
      return "DICOM study";
    case IdKind::kClinic:
      return "clinic";
    case IdKind::kConsent:
      return "consent";
    case IdKind::kNote:
      return "audit note";
    case IdKind::kVault:
      return "vault";
    case IdKind::kRequest:
      return "request";
    case IdKind::kExport:
      return "export";
    case IdKind::kUser:
      return "user";
    case IdKind::kJob:
      return "job";
    case IdKind::kUpload:
      return "upload";
    case IdKind::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view IdPrefix(IdKind kind) {
  for (const auto& [k, prefix] : kPrefixes) {
    if (k == kind) return prefix;
  }
  return "";
}

}  // namespace dossier
