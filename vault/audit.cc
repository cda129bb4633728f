#include "vault/audit.h"

#include <fmt/format.h>
#include <sodium.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/encoding.h"
#include "common/file_io.h"
#include "vault/internal/audit_log.h"
#include "vault/internal/layout.h"
#include "vault/internal/schema.h"

namespace dossier::vault {
namespace {

using internal::Db;
using internal::Stmt;

struct Row {
  AuditEvent event;
  Bytes leaf;
  Bytes root_after;
  bool malformed = false;
};

// Whether the catalog has the columns of encoding 2 (schema 008): a vault not unlocked since
// this version was installed has only encoding-1 events, and is read as it is.
Result<bool> HasEncodingColumns(Db& db) {
  DOSSIER_ASSIGN_OR_RETURN(int64_t n,
                           db.QueryInt("SELECT count(*) FROM pragma_table_info('audit_events') "
                                       "WHERE name = 'encoding'"));
  return n > 0;
}

Result<std::vector<Row>> LoadRows(Db& db, const AuditFilter* filter) {
  DOSSIER_ASSIGN_OR_RETURN(bool v2, HasEncodingColumns(db));
  std::string sql =
      "SELECT seq, at, actor, role, action, objects, patient, outcome, purpose, leaf_hash, "
      "root_after, ";
  sql += v2 ? "encoding, os_user, reason, details" : "1, '', '', '{}'";
  sql += " FROM audit_events";
  std::vector<std::string> where;
  std::vector<std::string> args;
  auto add = [&](const std::string& clause, const std::string& arg) {
    args.push_back(arg);
    where.push_back(clause + std::to_string(args.size()));
  };
  if (filter && filter->patient) add("patient = ?", *filter->patient);
  if (filter && filter->since) add("substr(at, 1, 10) >= ?", *filter->since);
  if (filter && filter->until) add("substr(at, 1, 10) <= ?", *filter->until);
  if (filter && filter->actor) add("actor = ?", *filter->actor);
  if (filter && filter->action) {
    const std::string& a = *filter->action;
    if (!a.empty() && a.back() == '.') {  // a prefix; substr, not LIKE: no wildcards in it
      add("substr(action, 1, " + std::to_string(a.size()) + ") = ?", a);
    } else {
      add("action = ?", a);
    }
  }
  if (filter && filter->outcome) add("outcome = ?", *filter->outcome);
  if (filter && filter->after > 0) where.push_back("seq > " + std::to_string(filter->after));
  for (size_t i = 0; i < where.size(); ++i) sql += (i == 0 ? " WHERE " : " AND ") + where[i];
  sql += " ORDER BY seq";
  if (filter && filter->limit > 0) sql += " LIMIT " + std::to_string(filter->limit);
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, db.Prepare(sql));
  for (size_t i = 0; i < args.size(); ++i) s.Bind(static_cast<int>(i + 1), args[i]);
  std::vector<Row> rows;
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool more, s.Step());
    if (!more) break;
    Row r;
    AuditEvent& e = r.event;
    e.seq = s.Int(0);
    e.at = s.Text(1);
    e.actor = s.Text(2);
    e.role = s.Text(3);
    e.action = s.Text(4);
    auto objects = nlohmann::json::parse(s.Text(5), nullptr, false);
    if (objects.is_array() &&
        std::all_of(objects.begin(), objects.end(), [](const auto& o) { return o.is_string(); })) {
      e.objects = objects.template get<std::vector<std::string>>();
    } else {
      r.malformed = true;
    }
    e.patient = s.Text(6);
    e.outcome = s.Text(7);
    e.purpose = s.Text(8);
    r.leaf = s.Blob(9);
    r.root_after = s.Blob(10);
    e.encoding = static_cast<int>(s.Int(11));
    e.os_user = s.Text(12);
    e.reason = s.Text(13);
    auto details = nlohmann::json::parse(s.Text(14), nullptr, false);
    if (details.is_object() &&
        std::all_of(details.begin(), details.end(), [](const auto& d) { return d.is_string(); })) {
      e.details = details.template get<std::map<std::string, std::string>>();
    } else {
      r.malformed = true;
    }
    // Encoding 1 hashes none of the later fields: any value in them was put there afterwards.
    if (e.encoding == 1 && (!e.os_user.empty() || !e.reason.empty() || !e.details.empty())) {
      r.malformed = true;
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

struct Checkpoint {
  int version = 2;  // v1: signed its own body with the secret key; v2: carries the head's signature
  std::string vault_id;
  int64_t size = -1;
  Bytes root, key, sig;
  std::string body;
};

// A checkpoint is exactly these lines, in this order, and nothing else; every field is taken
// from the signed body, so no appended line can change what is verified.
Result<Checkpoint> ParseCheckpoint(const std::string& text) {
  auto bad = [](const std::string& why) {
    return InvalidArgument("not a Dossier audit checkpoint: " + why);
  };
  static constexpr const char* kKeys[] = {"vault", "size", "root", "time", "key", "sig"};
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  if (text.empty() || text.back() != '\n' || lines.size() != 7 ||
      (lines[0] != "dossier-audit-checkpoint v1" && lines[0] != "dossier-audit-checkpoint v2")) {
    return bad("expected the 7 lines written by `dossier audit checkpoint`");
  }
  std::map<std::string, std::string> fields;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string prefix = std::string(kKeys[i - 1]) + " ";
    if (lines[i].rfind(prefix, 0) != 0)
      return bad("line " + std::to_string(i + 1) + " is not `" + kKeys[i - 1] + "`");
    fields[kKeys[i - 1]] = lines[i].substr(prefix.size());
  }
  Checkpoint cp;
  cp.version = lines[0].back() - '0';
  cp.body = text.substr(0, text.size() - lines[6].size() - 1);
  cp.vault_id = fields["vault"];
  try {
    size_t used = 0;
    cp.size = std::stoll(fields["size"], &used);
    if (used != fields["size"].size() || cp.size < 0) return bad("bad size");
  } catch (...) {
    return bad("bad size");
  }
  auto root = FromHex(fields["root"]);
  auto key = FromHex(fields["key"]);
  auto sig = FromBase64(fields["sig"]);
  if (!root || root->size() != 32) return bad("bad root");
  if (!key || key->size() != crypto_sign_PUBLICKEYBYTES) return bad("bad key");
  if (!sig || sig->size() != crypto_sign_BYTES) return bad("bad signature");
  cp.root = *root;
  cp.key = *key;
  cp.sig = *sig;
  return cp;
}

// What a checkpoint's signature covers: v2 carries the head's own signature (so writing one
// needs no secret key); v1 signed its whole body.
std::string SignedStatement(const Checkpoint& cp) {
  return cp.version == 1 ? cp.body : internal::HeadStatement(cp.vault_id, cp.size, cp.root);
}

struct Head {
  int64_t size = 0;
  Bytes root, signature;
};

Result<Db> OpenCheckedCatalog(const std::filesystem::path& vault_dir) {
  DOSSIER_ASSIGN_OR_RETURN(internal::ReadOnlyVault v, internal::OpenVaultReadOnly(vault_dir));
  DOSSIER_RETURN_IF_ERROR(internal::CheckSchema(v.db));
  return std::move(v.db);
}

}  // namespace

Status CheckActorName(std::string_view actor) {
  if (actor.empty()) return InvalidArgument("the actor name is empty");
  if (actor.size() > kMaxActorBytes) {
    return InvalidArgument(fmt::format("the actor name is longer than {} bytes", kMaxActorBytes));
  }
  if (!IsValidUtf8(actor)) return InvalidArgument("the actor name is not UTF-8");
  for (const unsigned char c : actor) {
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgument("the actor name holds a control character");
    }
  }
  // C1 controls (U+0080–U+009F) are two bytes in UTF-8: 0xC2 0x80–0x9F.
  for (size_t i = 0; i + 1 < actor.size(); ++i) {
    if (static_cast<unsigned char>(actor[i]) == 0xC2 &&
        static_cast<unsigned char>(actor[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(actor[i + 1]) <= 0x9F) {
      return InvalidArgument("the actor name holds a control character");
    }
  }
  return Status::Ok();
}

Result<std::vector<AuditEvent>> ReadAuditLog(const std::filesystem::path& vault_dir,
                                             const AuditFilter& filter) {
  DOSSIER_ASSIGN_OR_RETURN(Db db, OpenCheckedCatalog(vault_dir));
  DOSSIER_ASSIGN_OR_RETURN(auto rows, LoadRows(db, &filter));
  std::vector<AuditEvent> out;
  out.reserve(rows.size());
  for (auto& r : rows) out.push_back(std::move(r.event));
  return out;
}

Result<std::string> ReadAuditPublicKey(const std::filesystem::path& vault_dir) {
  DOSSIER_ASSIGN_OR_RETURN(Db db, OpenCheckedCatalog(vault_dir));
  return internal::ReadMeta(db, "audit_public_key");
}

namespace {

// The whole verification, on one read transaction of `db`; the signed head it read in `head`.
Result<AuditVerifyReport> VerifyOn(Db& db, const internal::VaultDir& vault_dir,
                                   const AuditAnchors& anchors, std::optional<Head>& head_out) {
  std::optional<Checkpoint> cp;
  if (anchors.checkpoint) {
    DOSSIER_ASSIGN_OR_RETURN(cp, ParseCheckpoint(*anchors.checkpoint));
  }
  std::optional<Bytes> pinned;
  if (anchors.pinned_key_hex) {
    pinned = FromHex(*anchors.pinned_key_hex);
    if (!pinned || pinned->size() != crypto_sign_PUBLICKEYBYTES) {
      return InvalidArgument("a pinned audit key is 64 hex characters (`dossier audit pubkey`)");
    }
  }
  AuditVerifyReport report;
  report.anchored = cp.has_value() || pinned.has_value();
  auto problem = [&](std::string p) { report.problems.push_back(std::move(p)); };
  // A changed schema is reported, and the log still checked: reading runs no planted trigger
  // (SQLITE_DBCONFIG_DEFENSIVE, trusted_schema off).
  if (Status st = internal::CheckSchema(db); !st.ok()) {
    if (st.code() != StatusCode::kCorrupt) return st;
    problem(st.message());
  }
  DOSSIER_ASSIGN_OR_RETURN(std::string vault_id, internal::ReadMeta(db, "vault_id"));
  DOSSIER_ASSIGN_OR_RETURN(std::string pk_hex, internal::ReadMeta(db, "audit_public_key"));
  const Bytes pk = FromHex(pk_hex).value_or(Bytes());
  DOSSIER_ASSIGN_OR_RETURN(auto rows, LoadRows(db, nullptr));

  report.public_key_hex = pk_hex;
  if (pinned && *pinned != pk) {
    problem(fmt::format("the audit log is signed by key {} but you pinned {}", pk_hex.substr(0, 16),
                        ToHex(*pinned).substr(0, 16)));
  }
  if (auto pub = vault_dir.ReadSmall(internal::kAuditKey, 4096);
      !pub.ok() || *pub != pk_hex + "\n") {
    problem("the audit key in the catalog differs from audit.pub: the signing key was replaced");
  }

  internal::MerkleFrontier tree;
  std::optional<Bytes> root_at_checkpoint;
  if (cp && cp->size == 0) root_at_checkpoint = tree.Root();
  bool history_broken = false;
  int64_t expected = 1;
  for (const Row& r : rows) {
    const int64_t seq = r.event.seq;
    if (seq != expected) {
      problem(seq > expected ? fmt::format("events {}..{} are missing: deleted from the log",
                                           expected, seq - 1)
                             : fmt::format("event {} is out of sequence", seq));
      history_broken = true;
    }
    expected = seq + 1;
    const Bytes leaf = internal::LeafHash(r.event);
    if (r.malformed || leaf != r.leaf) {
      problem(
          fmt::format("event {} was modified after it was written: its content no longer "
                      "matches its recorded hash",
                      seq));
      history_broken = true;
    }
    tree.Push(leaf);
    if (tree.Root() != r.root_after && !history_broken) {
      problem(
          fmt::format("the tree after event {} differs from the one recorded when it was "
                      "written: the log was rewritten from there on",
                      seq));
      history_broken = true;
    }
    if (cp && tree.size() == cp->size) root_at_checkpoint = tree.Root();
  }
  report.events = tree.size();
  report.root_hex = ToHex(tree.Root());

  DOSSIER_ASSIGN_OR_RETURN(Stmt head,
                           db.Prepare("SELECT tree_size, root, signature FROM audit_head"));
  DOSSIER_ASSIGN_OR_RETURN(bool has_head, head.Step());
  if (!has_head) {
    problem("the signed head of the log is missing");
  } else {
    head_out = Head{head.Int(0), head.Blob(1), head.Blob(2)};
    const Head& h = *head_out;
    if (!internal::VerifySignature(h.signature, internal::HeadStatement(vault_id, h.size, h.root),
                                   pk)) {
      problem("the signature on the log head does not verify with the vault's audit key");
    }
    if (h.size != static_cast<int64_t>(rows.size())) {
      problem(
          fmt::format("the signed head covers {} events but the log holds {}: events were "
                      "added or removed outside Dossier",
                      h.size, rows.size()));
    } else if (h.root != tree.Root()) {
      problem("the recomputed root does not match the signed head: the log was rewritten");
    }
  }

  if (cp) {
    report.checkpoint_size = cp->size;
    if (!internal::VerifySignature(cp->sig, SignedStatement(*cp), cp->key)) {
      problem("the checkpoint's signature does not verify: the checkpoint file was altered");
    } else if (cp->vault_id != vault_id) {
      problem(fmt::format("the checkpoint belongs to vault {}, not {}", cp->vault_id, vault_id));
    } else {
      if (pinned && cp->key != *pinned) {
        problem(fmt::format("the checkpoint is signed by key {} but you pinned {}",
                            ToHex(cp->key).substr(0, 16), ToHex(*pinned).substr(0, 16)));
      }
      if (cp->key != pk) {
        problem(
            "the vault's audit key is not the key that signed the checkpoint: the log was "
            "re-keyed");
      }
      if (cp->size > report.events) {
        problem(
            fmt::format("the log holds {} events but the checkpoint covered {}: history "
                        "was truncated",
                        report.events, cp->size));
      } else if (!root_at_checkpoint || *root_at_checkpoint != cp->root) {
        problem(
            fmt::format("the log no longer extends the checkpoint: its first {} events "
                        "were rewritten",
                        cp->size));
      }
    }
  }
  return report;
}

// One read transaction, so the events and the head are read from the same state.
template <typename F>
auto InSnapshot(Db& db, F&& f) -> decltype(f()) {
  DOSSIER_RETURN_IF_ERROR(db.Exec("BEGIN"));
  auto result = f();
  (void)db.Exec("COMMIT");
  return result;
}

}  // namespace

namespace internal {

Result<std::vector<AuditEvent>> ReadVerifiedEvents(Db& db) {
  DOSSIER_ASSIGN_OR_RETURN(auto rows, LoadRows(db, nullptr));
  MerkleFrontier tree;
  std::vector<AuditEvent> events;
  for (Row& r : rows) {
    const Bytes leaf = LeafHash(r.event);
    if (r.malformed || leaf != r.leaf || r.event.seq != tree.size() + 1) {
      return Corrupt(fmt::format(
          "audit event {} was changed outside Dossier: run `dossier audit verify`", r.event.seq));
    }
    tree.Push(leaf);
    events.push_back(std::move(r.event));
  }
  DOSSIER_ASSIGN_OR_RETURN(Stmt head, db.Prepare("SELECT tree_size, root FROM audit_head"));
  DOSSIER_ASSIGN_OR_RETURN(bool found, head.Step());
  if (!found || head.Int(0) != tree.size() || head.Blob(1) != tree.Root()) {
    return Corrupt("the audit log does not match its signed head: run `dossier audit verify`");
  }
  return events;
}

}  // namespace internal

Result<AuditVerifyReport> VerifyAuditLog(const std::filesystem::path& vault_dir,
                                         const AuditAnchors& anchors) {
  EnsureSodium();
  DOSSIER_ASSIGN_OR_RETURN(internal::ReadOnlyVault v, internal::OpenVaultReadOnly(vault_dir));
  std::optional<Head> head;
  return InSnapshot(v.db, [&] { return VerifyOn(v.db, v.dir, anchors, head); });
}

Result<std::string> WriteCheckpoint(const std::filesystem::path& vault_dir,
                                    const std::string& now) {
  EnsureSodium();
  DOSSIER_ASSIGN_OR_RETURN(internal::ReadOnlyVault v, internal::OpenVaultReadOnly(vault_dir));
  Db& db = v.db;
  std::optional<Head> head;
  DOSSIER_ASSIGN_OR_RETURN(auto report,
                           InSnapshot(db, [&] { return VerifyOn(db, v.dir, {}, head); }));
  if (!report.intact() || !head) {
    return Corrupt(fmt::format(
        "the audit log fails verification ({} problem(s)), so no checkpoint was written: run "
        "`dossier audit verify` to see them",
        report.problems.size()));
  }
  DOSSIER_ASSIGN_OR_RETURN(std::string vault_id, internal::ReadMeta(db, "vault_id"));
  const std::string body =
      fmt::format("dossier-audit-checkpoint v2\nvault {}\nsize {}\nroot {}\ntime {}\nkey {}\n",
                  vault_id, head->size, ToHex(head->root), now, report.public_key_hex);
  return body + "sig " + ToBase64(head->signature) + "\n";
}

}  // namespace dossier::vault
