// The audit log seen from outside: reading and verifying it needs no passphrase.
//
//   auto report = dossier::vault::VerifyAuditLog(dir, &checkpoint_text);
//   if (!report.ok()) ...;            // could not read the vault at all
//   if (!report->intact()) ...;       // report->problems says what was tampered with
//
// Every event is a leaf of an RFC 6962 Merkle tree; the vault keeps a head (size, root)
// signed with its Ed25519 key after each append, and a checkpoint is that head exported as
// text so a later verify can prove the log still extends it. Format: doc/FORMAT.md §Audit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace dossier::vault {

// One audit event. It carries ids and pseudonyms only, never personal data.
struct AuditEvent {
  int64_t seq = 0;                   // 1, 2, 3 … in append order
  std::string at;                    // UTC, "2026-11-22T10:15:30Z"
  std::string actor;                 // who acted (operator login, user name)
  std::string role;                  // operator | patient | manager | compliance | admin
  std::string action;                // e.g. "document.read", "patient.erase"
  std::vector<std::string> objects;  // ids of what was touched
  std::string patient;               // the patient's pseudonym (their random id), or ""
  std::string outcome = "ok";        // ok | refused | failed
  std::string purpose;               // purpose or consent reference, or ""
};

struct AuditFilter {
  std::optional<std::string> patient;  // only events about this patient id
  std::optional<std::string> since;    // only events on or after this date (YYYY-MM-DD)
};

Result<std::vector<AuditEvent>> ReadAuditLog(const std::filesystem::path& vault_dir,
                                             const AuditFilter& filter);

struct AuditVerifyReport {
  int64_t events = 0;
  std::string root_hex;        // recomputed Merkle root of all events
  std::string public_key_hex;  // the vault's audit signing key (Ed25519)
  std::optional<int64_t> checkpoint_size;
  std::vector<std::string> problems;  // empty when the log verifies
  bool intact() const { return problems.empty(); }
};

// Recomputes every leaf, the tree after each event and the signed head; with a checkpoint,
// also checks its signature and that the log still extends it. Returns an error status only
// when the log cannot be read (no vault, unreadable catalog, malformed checkpoint text);
// tampering is reported in `problems`.
Result<AuditVerifyReport> VerifyAuditLog(const std::filesystem::path& vault_dir,
                                         const std::string* checkpoint_text);

// The vault's audit public key, hex (readable without the passphrase).
Result<std::string> ReadAuditPublicKey(const std::filesystem::path& vault_dir);

}  // namespace dossier::vault
