// What kind of record an id names, from its prefix: every id Dossier makes is
// `<prefix>_<lower-case Crockford base32>` (common/encoding.h RandomId).
//
//   if (KindOfId(arg) == IdKind::kSeries) ...;          // "ser_…"
//   IdKindName(IdKind::kSeries)                         // "DICOM series"
//
// The kinds and prefixes are listed in doc/CLI.md §Ids.
#pragma once

#include <string_view>

namespace dossier {

enum class IdKind {
  kUnknown,   // not a well-formed Dossier id
  kPatient,   // pat_
  kCase,      // case_
  kDocument,  // doc_
  kSeries,    // ser_  (a DICOM series)
  kStudy,     // stu_  (a DICOM study)
  kClinic,    // cli_
  kConsent,   // con_
  kNote,      // note_ (an audit note: a sealed detail an audit event refers to)
  kVault,     // vlt_
  kRequest,   // req_  (an export to a clinic, in the request ledger)
  kExport,    // exp_  (the same export, as the audit events of its reads name it)
  kUser,      // usr_  (an account of `dossier serve`)
  kJob,       // job_  (a server job: an ingest; in the server's memory only)
  kUpload,    // upl_  (an unfinished upload to the server; in its memory only)
};

// The kind of a well-formed id (prefix, `_`, 1 to 40 lower-case letters and digits);
// kUnknown for anything else, including a known prefix followed by other characters.
IdKind KindOfId(std::string_view id);

// "patient", "case", "document", "DICOM series", "DICOM study", "clinic", "consent",
// "audit note", "vault", "request", "export", "user", "job", "upload"; "unknown" for kUnknown.
std::string_view IdKindName(IdKind kind);

// "pat_", "case_", … ; "" for kUnknown.
std::string_view IdPrefix(IdKind kind);

// True when `id` is a well-formed id of some kind: safe to repeat in an audit event or a
// message (it cannot carry a name typed by mistake).
inline bool IsWellFormedId(std::string_view id) { return KindOfId(id) != IdKind::kUnknown; }

}  // namespace dossier
