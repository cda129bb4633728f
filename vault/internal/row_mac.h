// Row MACs: a keyed MAC over the plaintext columns of a catalog row that the code branches on
// or presents as a fact (a document's category, status and case; a page's verdict; a series'
// "another patient?" flag), so that whoever can write the vault folder cannot change them
// undetected (doc/SECURITY.md; the covered columns are listed in doc/FORMAT.md §Row MACs).
// Private to vault/.
//
//   DOSSIER_RETURN_IF_ERROR(SealRows(db, key, RowTable::kDocuments, "id = ?1", {doc_id}));
//   DOSSIER_RETURN_IF_ERROR(CheckRows(db, key, RowTable::kDocuments, "case_id = ?1", {case_id}));
//
// The key is the vault's (not a patient's), so an erased patient's rows keep valid MACs and
// "erased" cannot be forged either. Sealing reads the row back from SQLite, so what is MACed
// is exactly what a later read sees.
#pragma once

#include <string>
#include <vector>

#include "common/secure_buffer.h"
#include "common/status.h"
#include "vault/internal/sqlite.h"

namespace dossier::vault::internal {

enum class RowTable {
  kPatients,
  kCases,
  kDocuments,
  kPages,
  kDicomStudies,
  kDicomSeries,
  kDicomInstances,
  kDocumentCategories,
  kClinics,
  kConsents,
  kSettings,
  kDocumentRemovals,
  kRequests,
  kDocumentWarnings,
  kRequestReplies,
  kUsers,
  kRenditions,
};
inline constexpr RowTable kAllRowTables[] = {
    RowTable::kPatients,       RowTable::kCases,
    RowTable::kDocuments,      RowTable::kPages,
    RowTable::kDicomStudies,   RowTable::kDicomSeries,
    RowTable::kDicomInstances, RowTable::kDocumentCategories,
    RowTable::kClinics,        RowTable::kConsents,
    RowTable::kSettings,       RowTable::kDocumentRemovals,
    RowTable::kRequests,       RowTable::kDocumentWarnings,
    RowTable::kRequestReplies, RowTable::kUsers,
    RowTable::kRenditions,
};

// (Re)computes the MAC of every row of `table` matching `where` (SQL over the table's
// columns, with ?1, ?2 … bound to `args`; "1" for all rows). Inside the caller's transaction.
Status SealRows(Db& db, const SecureBuffer& key, RowTable table, const std::string& where,
                const std::vector<std::string>& args);

// Checks the MAC of every row of `table` matching `where`: kCorrupt "document doc_… was
// changed outside Dossier: …" for the first row whose MAC is missing or wrong.
Status CheckRows(Db& db, const SecureBuffer& key, RowTable table, const std::string& where,
                 const std::vector<std::string>& args);

}  // namespace dossier::vault::internal
