// The audit log seen from outside: reading and verifying it needs no passphrase.
//
//   auto report = dossier::vault::VerifyAuditLog(dir, {.pinned_key_hex = key_noted_at_init});
//   if (!report.ok()) ...;            // could not read the vault at all
//   if (!report->intact()) ...;       // report->problems says what was tampered with
//
// Every event is a leaf of an RFC 6962 Merkle tree; the vault keeps a head (size, root)
// signed with its Ed25519 key in each transaction that appends events, and a checkpoint is that
// head exported as text so a later verify can prove the log still extends it. Format: doc/FORMAT.md
// §Audit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace dossier::vault {

// One audit event. It carries ids and pseudonyms only, never personal data: what must be
// kept but is personal (the name of a file a document was decrypted to) is sealed under the
// patient's key in an audit note, which the event names by id (doc/FORMAT.md §Audit log).
struct AuditEvent {
  int64_t seq = 0;                   // 1, 2, 3 … in append order
  std::string at;                    // UTC, "2026-11-22T10:15:30Z"
  std::string actor;                 // who says they acted (--actor, a user name)
  std::string os_user;               // the operating-system user the process ran as
  std::string role;                  // operator | patient | manager | compliance | admin
  std::string action;                // e.g. "document.read", "patient.erase" (doc/FORMAT.md)
  std::vector<std::string> objects;  // ids of what was touched
  std::string patient;               // the patient's pseudonym (their random id), or ""
  std::string outcome = "ok";        // ok | refused | failed
  std::string reason;                // refused or failed: the status code, e.g. "kNotFound"
  std::string purpose;               // purpose or consent reference, or ""
  // What else the act was, as ids, flags and codes: {"via": "search"},
  // {"pseudonym": "PATIENT^7K2Q", "mismatch_override": "ser_…"}, {"name_note": "note_…"}.
  std::map<std::string, std::string> details;
  // The canonical encoding the event was written with (doc/FORMAT.md §Audit log): 1 for
  // events written before os_user, reason and details existed (those fields are empty), 2 now.
  int encoding = 2;
};

// Refuses an actor name an audit event cannot carry plainly: empty, longer than
// kMaxActorBytes, not UTF-8, or holding a control character (kInvalidArgument).
inline constexpr size_t kMaxActorBytes = 64;
Status CheckActorName(std::string_view actor);

struct AuditFilter {
  std::optional<std::string> patient;  // only events about this patient id
  std::optional<std::string> since;    // only events on or after this date (YYYY-MM-DD)
  std::optional<std::string> until;    // only events on or before this date (YYYY-MM-DD)
  std::optional<std::string> actor;    // only events whose claimed actor is exactly this
  // Only this action; one ending in "." is a prefix ("document." : every document action).
  std::optional<std::string> action;
  std::optional<std::string> outcome;  // only events with this outcome: ok | refused | failed
  int64_t after = 0;                   // only events after this seq (the cursor of a page)
  size_t limit = 0;                    // at most this many, oldest first; 0: all of them
};

// kCorrupt when the catalog's schema was changed outside Dossier.
Result<std::vector<AuditEvent>> ReadAuditLog(const std::filesystem::path& vault_dir,
                                             const AuditFilter& filter);

struct AuditVerifyReport {
  int64_t events = 0;
  std::string root_hex;        // recomputed Merkle root of all events
  std::string public_key_hex;  // the audit key the catalog names (Ed25519)
  std::optional<int64_t> checkpoint_size;
  // Whether the check was anchored outside the vault (a pinned key or a checkpoint). Without
  // an anchor, a history rewritten and re-signed with a new key by someone who can write the
  // vault folder still verifies: only consistency was checked.
  bool anchored = false;
  std::vector<std::string> problems;  // empty when the log verifies
  bool intact() const { return problems.empty(); }
};

// What a verifier brings from outside the vault.
struct AuditAnchors {
  // A checkpoint written earlier by WriteCheckpoint: the log must still extend it.
  std::optional<std::string> checkpoint;
  // The audit public key (64 hex characters) noted when the vault was made: the head must be
  // signed with it.
  std::optional<std::string> pinned_key_hex;
};

// Checks the catalog's schema, recomputes every leaf, the tree after each event and the
// signed head; checks the anchors given. Returns an error status only when the log cannot be
// read (no vault, unreadable catalog; kInvalidArgument for malformed anchors); tampering is
// reported in `problems`. Needs no passphrase.
Result<AuditVerifyReport> VerifyAuditLog(const std::filesystem::path& vault_dir,
                                         const AuditAnchors& anchors = {});

// A checkpoint of the log as it is now: the signed head, with the time `now` (not signed), as
// text (doc/FORMAT.md §Audit). Needs no passphrase; kCorrupt, writing nothing, when the log
// does not verify.
Result<std::string> WriteCheckpoint(const std::filesystem::path& vault_dir, const std::string& now);

// The vault's audit public key, hex (readable without the passphrase).
Result<std::string> ReadAuditPublicKey(const std::filesystem::path& vault_dir);

}  // namespace dossier::vault
