#include "vault/internal/row_mac.h"

#include <fmt/format.h>
#include <sodium.h>

namespace dossier::vault::internal {
namespace {

struct Covered {
  const char* table;
  const char* noun;  // how a message names a row
  const char* key;   // SQL naming the row in messages and in the MAC input
  const char* columns;
};

// Every plaintext column the code reads to decide or to show as fact. Sealed columns are
// authenticated by their own AEAD and are not repeated here.
const Covered& Describe(RowTable t) {
  static const Covered kTables[] = {
      {"patients", "patient", "id", "created_at, erased_at, wrapped_key IS NULL"},
      {"cases", "case", "id", "patient_id, created_at, status"},
      {"documents", "document", "id",
       "case_id, patient_id, object_id, kind, category, size, stored_size, status, added_at, "
       "verdict, pages, wrapped_key IS NULL"},
      {"pages", "page", "doc_id || ' page ' || number",
       "doc_id, number, verdict, confidence, rotation, source, evidence"},
      {"dicom_studies", "study", "id", "case_id"},
      {"dicom_series", "series", "id", "study_id, case_id, mismatch, preview_enc IS NULL"},
      {"dicom_instances", "DICOM instance", "doc_id", "doc_id, series_id, number"},
      {"document_categories", "the category of document", "doc_id", "source, reason"},
      {"clinics", "clinic", "id", "name, country, email, note, created_at"},
      {"consents", "consent", "id",
       "patient_id, clinic_id, purposes, categories, actions, valid_from, valid_until, signed, "
       "representative_enc IS NULL, scan_object_id, scan_wrapped_key IS NULL, scan_size, "
       "scan_stored_size, scan_kind, recorded_by, recorded_at, revoked_at, revocation_received, "
       "destruction_due"},
      {"settings", "setting", "key", "value"},
      {"document_removals", "the removal of document", "doc_id", "doc_id, removed_at"},
      {"requests", "request", "id",
       "export_id, case_id, patient_id, clinic_id, consent_id, purpose, urgent, inventory_only, "
       "documents, parts, actor, created_at, due, answered_at"},
      {"document_warnings", "the warning list of document", "doc_id", "warnings_enc IS NULL"},
      {"request_replies", "the reply link of document", "doc_id", "doc_id, request_id, filed_at"},
      {"users", "user", "id",
       "name_mac, name_enc IS NULL, role, patient_id, rights, password_hash, disabled_at, "
       "created_at, updated_at"},
      {"renditions", "the rendition of document", "doc_id",
       "kind, object_id, size, stored_size, added_at"},
  };
  return kTables[static_cast<int>(t)];
}

// SELECT rowid, <key>, <the MAC input>, row_mac: the input is each covered column's SQL
// literal (quote() tells NULL, numbers and text apart), after the table's name and the key.
std::string Select(const Covered& c, const std::string& where) {
  std::string input = fmt::format("'{}' || char(0) || ({})", c.table, c.key);
  std::string cols = c.columns;
  size_t start = 0;
  while (start < cols.size()) {
    size_t end = cols.find(", ", start);
    if (end == std::string::npos) end = cols.size();
    input += fmt::format(" || char(0) || quote({})", cols.substr(start, end - start));
    start = end + 2;
  }
  return fmt::format("SELECT rowid, ({}), {}, row_mac FROM {} WHERE {}", c.key, input, c.table,
                     where);
}

Bytes Mac(const SecureBuffer& key, const std::string& input) {
  Bytes mac(32);
  crypto_generichash(mac.data(), mac.size(), reinterpret_cast<const uint8_t*>(input.data()),
                     input.size(), key.data(), key.size());
  return mac;
}

Result<Stmt> Query(Db& db, const Covered& c, const std::string& where,
                   const std::vector<std::string>& args) {
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, db.Prepare(Select(c, where)));
  for (size_t i = 0; i < args.size(); ++i) s.Bind(static_cast<int>(i + 1), args[i]);
  return s;
}

}  // namespace

Status SealRows(Db& db, const SecureBuffer& key, RowTable table, const std::string& where,
                const std::vector<std::string>& args) {
  const Covered& c = Describe(table);
  std::vector<std::pair<int64_t, Bytes>> macs;
  {
    DOSSIER_ASSIGN_OR_RETURN(Stmt s, Query(db, c, where, args));
    for (;;) {
      DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      macs.emplace_back(s.Int(0), Mac(key, s.Text(2)));
    }
  }
  const std::string update = fmt::format("UPDATE {} SET row_mac = ? WHERE rowid = ?", c.table);
  for (const auto& [rowid, mac] : macs) {
    DOSSIER_ASSIGN_OR_RETURN(Stmt up, db.Prepare(update));  // from the cache, reset
    up.BindBlob(1, mac).Bind(2, rowid);
    DOSSIER_RETURN_IF_ERROR(up.Run());
  }
  return Status::Ok();
}

Status CheckRows(Db& db, const SecureBuffer& key, RowTable table, const std::string& where,
                 const std::vector<std::string>& args) {
  const Covered& c = Describe(table);
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, Query(db, c, where, args));
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Status::Ok();
    const Bytes stored = s.Blob(3);
    const Bytes expected = Mac(key, s.Text(2));
    if (stored.size() != expected.size() ||
        sodium_memcmp(stored.data(), expected.data(), expected.size()) != 0) {
      return Corrupt(fmt::format(
          "{} {} was changed outside Dossier: its catalog row no longer matches its MAC; "
          "restore the vault from a backup",
          c.noun, s.Text(1)));
    }
  }
}

}  // namespace dossier::vault::internal
