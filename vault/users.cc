// Accounts: login names sealed and found by keyed MAC, Argon2id password hashes (at most two
// at once in a process), representatives' rights, access events, and acting for a user
// (doc/FORMAT.md §Users).
#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "common/encoding.h"
#include "common/ids.h"
#include "vault/internal/crypto.h"
#include "vault/internal/keys.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::RowTable;
using internal::Stmt;

namespace {

constexpr size_t kMaxNameBytes = 254;
constexpr size_t kMinPasswordChars = 12;
constexpr size_t kMaxPasswordBytes = 1024;
constexpr int kHashSlots = 2;
constexpr const char* kWrongLogin = "wrong user name or password";

// Verified when the name is unknown, so that a miss costs what a wrong password costs. The
// hash of 32 random bytes nobody kept, at the INTERACTIVE cost.
constexpr const char* kDummyHash =
    "$argon2id$v=19$m=65536,t=2,p=1$/2SE8087dToDeYeMP+tMkA$"
    "pDYe0TOW2QpKMe8VdLRXJptvddQQw76mcXcwS4ZzVW0";

constexpr std::pair<Role, std::string_view> kRoles[] = {
    {Role::kPatient, "patient"}, {Role::kRepresentative, "representative"},
    {Role::kManager, "manager"}, {Role::kCompliance, "compliance"},
    {Role::kAdmin, "admin"},
};

bool LinkedToPatient(Role role) { return role == Role::kPatient || role == Role::kRepresentative; }

// --- Password hashing: two slots per process ----------------------------------------------

struct HashSlots {
  std::mutex mu;
  std::condition_variable cv;
  PasswordHashLoad load;
};
HashSlots& Slots() {
  static HashSlots slots;
  return slots;
}

// Holds one of the two slots while it lives; waits for one first.
class HashSlot {
 public:
  HashSlot() {
    HashSlots& s = Slots();
    std::unique_lock<std::mutex> lock(s.mu);
    ++s.load.waiting;
    s.cv.wait(lock, [&] { return s.load.running < kHashSlots; });
    --s.load.waiting;
    ++s.load.running;
    s.load.peak = std::max(s.load.peak, s.load.running);
  }
  ~HashSlot() {
    HashSlots& s = Slots();
    {
      std::lock_guard<std::mutex> lock(s.mu);
      --s.load.running;
    }
    s.cv.notify_one();
  }
  HashSlot(const HashSlot&) = delete;
  HashSlot& operator=(const HashSlot&) = delete;
};

Result<std::string> HashPassword(const VaultOptions& options, std::string_view password) {
  HashSlot slot;
  if (options.password_hash_hook) options.password_hash_hook();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Internal("hashing a password failed: out of memory");
  }
  return std::string(out);
}

bool VerifyPassword(const VaultOptions& options, const std::string& hash,
                    std::string_view password) {
  HashSlot slot;
  if (options.password_hash_hook) options.password_hash_hook();
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

// --- Rules ----------------------------------------------------------------------------------

}  // namespace

Status CheckUserName(const std::string& name) {
  if (name.empty())
    return InvalidArgument("the user name is empty: give the name they log in with");
  if (name.size() > kMaxNameBytes) {
    return InvalidArgument(
        fmt::format("the user name is too long: use at most {} bytes", kMaxNameBytes));
  }
  const bool control = std::any_of(name.begin(), name.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (control || !IsValidUtf8(name)) {
    return InvalidArgument("the user name must be one line of text without control characters");
  }
  if (name.front() == ' ' || name.back() == ' ') {
    return InvalidArgument("the user name must not begin or end with a space");
  }
  return Status::Ok();
}

Status CheckUserPassword(std::string_view password) {
  const size_t chars = static_cast<size_t>(
      std::count_if(password.begin(), password.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  if (chars < kMinPasswordChars) {
    return InvalidArgument(
        fmt::format("the password is too short: use at least {} characters", kMinPasswordChars));
  }
  if (password.size() > kMaxPasswordBytes) {
    return InvalidArgument(
        fmt::format("the password is too long: use at most {} bytes", kMaxPasswordBytes));
  }
  return Status::Ok();
}

namespace {

// The name as it is compared: ASCII letters lower-cased, nothing else changed.
std::string Normalized(std::string name) {
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return name;
}

Bytes NameMac(const Vault::Impl::UserNameKeys& keys, const std::string& normalized) {
  Bytes mac(32);
  crypto_generichash(mac.data(), mac.size(), reinterpret_cast<const uint8_t*>(normalized.data()),
                     normalized.size(), keys.mac.data(), keys.mac.size());
  return mac;
}

std::string NameAd(const std::string& user_id) { return "users.name:" + user_id; }

// --- Rows -----------------------------------------------------------------------------------

constexpr const char* kUserColumns =
    "SELECT id, name_enc, role, coalesce(patient_id, ''), rights, disabled_at, created_at, "
    "password_hash FROM users";

struct UserRow {
  UserRecord record;
  std::string password_hash;  // "" once erased
};

Result<UserRow> ReadUserRow(const Vault::Impl::UserNameKeys* keys, const Stmt& s) {
  UserRow row;
  UserRecord& u = row.record;
  u.id = s.Text(0);
  auto corrupt = [&](const std::string& what) {
    return Corrupt(
        fmt::format("user {} in the catalog is damaged: {}; restore the vault from a "
                    "backup",
                    u.id, what));
  };
  const auto role = ParseRole(s.Text(2));
  if (!role) return corrupt("unknown role");
  u.role = *role;
  u.patient_id = s.Text(3);
  const auto rights = ParseRights(s.Text(4));
  if (!rights) return corrupt("unknown rights");
  u.rights = *rights;
  u.disabled = !s.IsNull(5);
  u.disabled_at = s.Text(5);
  u.created_at = s.Text(6);
  row.password_hash = s.Text(7);
  if (!s.IsNull(1)) {
    if (keys == nullptr) return corrupt("its name is sealed but the vault has no user-name key");
    auto name = internal::OpenText(keys->seal, s.Blob(1), NameAd(u.id));
    if (!name.ok()) return corrupt("its sealed name fails authentication");
    u.name = std::move(name).value();
  } else if (!u.disabled) {
    return corrupt("an active account without a name");
  }
  return row;
}

// One account by id, its row MAC checked; nullopt when there is none.
Result<std::optional<UserRow>> LoadUser(Vault::Impl& v, const Vault::Impl::UserNameKeys* keys,
                                        const std::string& id) {
  DOSSIER_RETURN_IF_ERROR(v.CheckRows(RowTable::kUsers, "id = ?1", {id}));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, v.Conn().Prepare(std::string(kUserColumns) + " WHERE id = ?"));
  s.Bind(1, id);
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<UserRow>();
  DOSSIER_ASSIGN_OR_RETURN(UserRow u, ReadUserRow(keys, s));
  return std::optional<UserRow>(std::move(u));
}

Result<std::optional<UserRow>> FindById(Vault::Impl& v, const std::string& user_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto keys, v.LoadUserNameKeys(false, nullptr));
  return LoadUser(v, keys.get(), user_id);
}

Result<std::optional<UserRow>> FindByName(Vault::Impl& v, const std::string& normalized) {
  DOSSIER_ASSIGN_OR_RETURN(auto keys, v.LoadUserNameKeys(false, nullptr));
  if (keys == nullptr) return std::optional<UserRow>();  // no account was ever made
  std::string id;
  {
    DOSSIER_ASSIGN_OR_RETURN(Stmt s, v.Conn().Prepare("SELECT id FROM users WHERE name_mac = ?"));
    s.BindBlob(1, NameMac(*keys, normalized));
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<UserRow>();
    id = s.Text(0);
  }
  return LoadUser(v, keys.get(), id);
}

Status NoSuchName() { return NotFound("no user with that name (see `dossier user list`)"); }

Status NoSuchId(const std::string& user_id) {
  return NotFound(fmt::format("no user {} (see `dossier user list`)", user_id));
}

// A patient an account may be linked to: known, with its row MAC, and not erased.
Status CheckLinkedPatient(Vault::Impl& v, const std::string& patient_id) {
  if (KindOfId(patient_id) != IdKind::kPatient) {
    return InvalidArgument(
        "the patient of an account must be a patient id (pat_…): `dossier "
        "patient list` shows them");
  }
  DOSSIER_RETURN_IF_ERROR(v.CheckRows(RowTable::kPatients, "id = ?1", {patient_id}));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, v.Conn().Prepare("SELECT erased_at FROM patients WHERE id = ?"));
  s.Bind(1, patient_id);
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound(fmt::format("no patient {} (see `dossier patient list`)", patient_id));
  if (!s.IsNull(0)) {
    return Rejected(fmt::format("patient {} was erased on {}: no account can be linked to them",
                                patient_id, s.Text(0)));
  }
  return Status::Ok();
}

Status NameTaken() { return Rejected("a user with that name already exists"); }

}  // namespace

// --- Names of roles and rights ----------------------------------------------------------------

std::string_view RoleName(Role role) {
  for (const auto& [r, name] : kRoles) {
    if (r == role) return name;
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (const auto& [r, n] : kRoles) {
    if (n == name) return r;
  }
  return std::nullopt;
}

std::string AllRoleNames() {
  std::string out;
  for (const auto& [r, name] : kRoles) out += (out.empty() ? "" : "|") + std::string(name);
  return out;
}

std::string RightsText(const Rights& rights) {
  std::string out;
  auto add = [&](bool on, const char* word) {
    if (on) out += (out.empty() ? "" : ",") + std::string(word);
  };
  add(rights.view, "view");
  add(rights.upload, "upload");
  add(rights.replies, "replies");
  return out.empty() ? "none" : out;
}

std::optional<Rights> ParseRights(std::string_view text) {
  if (text == "none") return Rights{};
  Rights r;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view word = text.substr(start, end - start);
    if (word == "view") {
      r.view = true;
    } else if (word == "upload") {
      r.upload = true;
    } else if (word == "replies") {
      r.replies = true;
    } else {
      return std::nullopt;  // unknown, or empty (",," or "")
    }
    start = end + 1;
  }
  return r;
}

PasswordHashLoad CurrentPasswordHashLoad() {
  HashSlots& s = Slots();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.load;
}

// --- Keys -------------------------------------------------------------------------------------

Result<std::shared_ptr<const Vault::Impl::UserNameKeys>> Vault::Impl::LoadUserNameKeys(
    bool create, bool* created) {
  {
    std::lock_guard<std::mutex> lock(user_keys_mu_);
    if (user_keys_) return user_keys_;
  }
  auto derive = [](SecureBuffer key) {
    auto keys = std::make_shared<UserNameKeys>();
    keys->mac = internal::DeriveSubkey(key, 1, "dsusrmac");
    keys->seal = internal::DeriveSubkey(key, 2, "dsusrnam");
    return std::shared_ptr<const UserNameKeys>(std::move(keys));
  };
  internal::Db& db = Conn();
  {
    DOSSIER_ASSIGN_OR_RETURN(Stmt s, db.Prepare("SELECT value FROM meta WHERE key = ?"));
    s.Bind(1, internal::kUserNameKey.meta_key);
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) {
      DOSSIER_ASSIGN_OR_RETURN(SecureBuffer key, OpenSecret(internal::kUserNameKey, s.Text(0)));
      auto keys = derive(std::move(key));
      CacheUserNameKeys(keys);
      return keys;
    }
  }
  // None yet: there must be no named account either, or the key was removed.
  DOSSIER_ASSIGN_OR_RETURN(int64_t named,
                           db.QueryInt("SELECT count(*) FROM users WHERE name_enc IS NOT NULL"));
  if (named > 0) {
    return Corrupt(
        "the user-name key was removed from the catalog outside Dossier (accounts use it): "
        "restore the vault from a backup");
  }
  if (!create) return std::shared_ptr<const UserNameKeys>();
  if (!HoldsWriter()) return Internal("the user-name key made outside a write section");
  SecureBuffer key = SecureBuffer::Random(internal::kKeyBytes);
  DOSSIER_RETURN_IF_ERROR(PutSecret(internal::kUserNameKey, key));
  if (created != nullptr) *created = true;
  return derive(std::move(key));
}

void Vault::Impl::CacheUserNameKeys(std::shared_ptr<const UserNameKeys> keys) {
  std::lock_guard<std::mutex> lock(user_keys_mu_);
  if (!user_keys_) user_keys_ = std::move(keys);
}

Status Vault::Impl::DisablePatientAccounts(const std::string& patient_id) {
  std::vector<std::string> disabled;
  {
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s, db_.Prepare("SELECT id FROM users WHERE patient_id = ? AND disabled_at IS NULL "
                            "ORDER BY created_at, rowid"));
    s.Bind(1, patient_id);
    for (;;) {
      DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      disabled.push_back(s.Text(0));
    }
  }
  // Their login names go with the patient's data, whoever the account was for.
  DOSSIER_ASSIGN_OR_RETURN(Stmt up,
                           db_.Prepare("UPDATE users SET disabled_at = coalesce(disabled_at, ?2), "
                                       "name_mac = NULL, name_enc = NULL, password_hash = NULL, "
                                       "updated_at = ?2 WHERE patient_id = ?1"));
  up.Bind(1, patient_id).Bind(2, Now());
  DOSSIER_RETURN_IF_ERROR(up.Run());
  DOSSIER_RETURN_IF_ERROR(SealRows(RowTable::kUsers, "patient_id = ?1", {patient_id}));
  for (const std::string& id : disabled) {
    DOSSIER_RETURN_IF_ERROR(Audit("user.disable", {id}, patient_id, "ok", "patient erased"));
  }
  return Status::Ok();
}

// --- The calls --------------------------------------------------------------------------------

Result<std::string> Vault::AddUser(const std::string& name, Role role, const std::string& password,
                                   const std::string& patient_id, Rights rights) {
  DOSSIER_RETURN_IF_ERROR(CheckUserName(name));
  DOSSIER_RETURN_IF_ERROR(CheckUserPassword(password));
  const std::string role_name(RoleName(role));
  if (LinkedToPatient(role) && patient_id.empty()) {
    return InvalidArgument(
        fmt::format("a {} account needs the patient it belongs to (pat_…)", role_name));
  }
  if (!LinkedToPatient(role) && !patient_id.empty()) {
    return InvalidArgument(
        fmt::format("a {} account belongs to no patient: give no patient id", role_name));
  }
  if (role != Role::kRepresentative && rights != Rights{}) {
    return InvalidArgument(fmt::format(
        "only a representative account has rights; this one is a {} account", role_name));
  }
  const std::string normalized = Normalized(name);
  // Refused before the password is hashed, and checked again under the writer.
  auto check = [&]() -> Status {
    if (!patient_id.empty()) DOSSIER_RETURN_IF_ERROR(CheckLinkedPatient(*impl_, patient_id));
    DOSSIER_ASSIGN_OR_RETURN(auto same, FindByName(*impl_, normalized));
    return same ? NameTaken() : Status::Ok();
  };
  {
    DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
    DOSSIER_RETURN_IF_ERROR(check());
  }
  DOSSIER_ASSIGN_OR_RETURN(const std::string hash, HashPassword(impl_->options_, password));

  auto writing = impl_->Write();
  DOSSIER_RETURN_IF_ERROR(check());
  const std::string id = RandomId("usr");
  bool created = false;
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_ASSIGN_OR_RETURN(auto keys, impl_->LoadUserNameKeys(true, &created));
  const std::string now = impl_->Now();
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->db_.Prepare("INSERT INTO users(id, name_mac, name_enc, role, patient_id, "
                                 "rights, password_hash, created_at, updated_at) "
                                 "VALUES (?,?,?,?,?,?,?,?,?)"));
  s.Bind(1, id).BindBlob(2, NameMac(*keys, normalized));
  s.BindBlob(3, internal::SealText(keys->seal, normalized, NameAd(id)));
  s.Bind(4, role_name);
  if (patient_id.empty()) {
    s.BindNull(5);
  } else {
    s.Bind(5, patient_id);
  }
  s.Bind(6, RightsText(rights)).Bind(7, hash).Bind(8, now).Bind(9, now);
  DOSSIER_RETURN_IF_ERROR(s.Run());
  DOSSIER_RETURN_IF_ERROR(impl_->SealRows(RowTable::kUsers, "id = ?1", {id}));
  AuditEvent e = Impl::MakeEvent("user.add", {id}, patient_id, "ok", "");
  e.details["role"] = role_name;
  if (role == Role::kRepresentative) e.details["rights"] = RightsText(rights);
  DOSSIER_RETURN_IF_ERROR(impl_->Audit(std::move(e)));
  DOSSIER_RETURN_IF_ERROR(tx.Commit());
  if (created) impl_->CacheUserNameKeys(keys);
  return id;
}

Result<std::vector<UserRecord>> Vault::ListUsers() {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(auto keys, impl_->LoadUserNameKeys(false, nullptr));
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(RowTable::kUsers, "1", {}));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->Conn().Prepare(std::string(kUserColumns) + " ORDER BY created_at, rowid"));
  std::vector<UserRecord> out;
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    DOSSIER_ASSIGN_OR_RETURN(UserRow u, ReadUserRow(keys.get(), s));
    out.push_back(std::move(u.record));
  }
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("user.list", {}, ""));
  return out;
}

Result<UserRecord> Vault::GetUser(const std::string& user_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  if (KindOfId(user_id) != IdKind::kUser) {
    return InvalidArgument("not a user id (usr_…): `dossier user list` shows them");
  }
  DOSSIER_ASSIGN_OR_RETURN(auto u, FindById(*impl_, user_id));
  if (!u) return NoSuchId(user_id);
  return std::move(u->record);
}

Status Vault::SetUserPassword(const std::string& name, const std::string& password) {
  DOSSIER_RETURN_IF_ERROR(CheckUserPassword(password));
  const std::string normalized = Normalized(name);
  auto find = [&]() -> Result<UserRecord> {
    DOSSIER_ASSIGN_OR_RETURN(auto u, FindByName(*impl_, normalized));
    if (!u) return NoSuchName();
    if (u->record.disabled) {
      return Rejected(
          fmt::format("user {} is disabled: its password cannot be changed", u->record.id));
    }
    return std::move(u->record);
  };
  {
    DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
    DOSSIER_RETURN_IF_ERROR(find().status());
  }
  DOSSIER_ASSIGN_OR_RETURN(const std::string hash, HashPassword(impl_->options_, password));
  auto writing = impl_->Write();
  DOSSIER_ASSIGN_OR_RETURN(UserRecord u, find());
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s,
      impl_->db_.Prepare("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?"));
  s.Bind(1, hash).Bind(2, impl_->Now()).Bind(3, u.id);
  DOSSIER_RETURN_IF_ERROR(s.Run());
  DOSSIER_RETURN_IF_ERROR(impl_->SealRows(RowTable::kUsers, "id = ?1", {u.id}));
  DOSSIER_RETURN_IF_ERROR(impl_->Audit("user.passwd", {u.id}, u.patient_id));
  return tx.Commit();
}

Status Vault::DisableUser(const std::string& name) {
  auto writing = impl_->Write();
  DOSSIER_ASSIGN_OR_RETURN(auto found, FindByName(*impl_, Normalized(name)));
  if (!found) return NoSuchName();
  const UserRecord& u = found->record;
  if (u.disabled) {
    return Rejected(fmt::format("user {} is already disabled (since {})", u.id, u.disabled_at));
  }
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  const std::string now = impl_->Now();
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->db_.Prepare("UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?"));
  s.Bind(1, now).Bind(2, now).Bind(3, u.id);
  DOSSIER_RETURN_IF_ERROR(s.Run());
  DOSSIER_RETURN_IF_ERROR(impl_->SealRows(RowTable::kUsers, "id = ?1", {u.id}));
  DOSSIER_RETURN_IF_ERROR(impl_->Audit("user.disable", {u.id}, u.patient_id));
  return tx.Commit();
}

Status Vault::SetRights(const std::string& user_id, Rights rights) {
  if (KindOfId(user_id) != IdKind::kUser) {
    return InvalidArgument("not a user id (usr_…): `dossier user list` shows them");
  }
  auto writing = impl_->Write();
  DOSSIER_ASSIGN_OR_RETURN(auto found, FindById(*impl_, user_id));
  if (!found) return NoSuchId(user_id);
  const UserRecord& u = found->record;
  if (u.role != Role::kRepresentative) {
    return Rejected(fmt::format("user {} is a {} account: only representatives have rights", u.id,
                                RoleName(u.role)));
  }
  if (u.disabled) return Rejected(fmt::format("user {} is disabled", u.id));
  if (u.rights == rights) return Status::Ok();
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->db_.Prepare("UPDATE users SET rights = ?, updated_at = ? WHERE id = ?"));
  s.Bind(1, RightsText(rights)).Bind(2, impl_->Now()).Bind(3, u.id);
  DOSSIER_RETURN_IF_ERROR(s.Run());
  DOSSIER_RETURN_IF_ERROR(impl_->SealRows(RowTable::kUsers, "id = ?1", {u.id}));
  AuditEvent e = Impl::MakeEvent("user.rights", {u.id}, u.patient_id, "ok", "");
  e.details["before"] = RightsText(u.rights);
  e.details["after"] = RightsText(rights);
  DOSSIER_RETURN_IF_ERROR(impl_->Audit(std::move(e)));
  return tx.Commit();
}

Result<UserRecord> Vault::Authenticate(const std::string& name, std::string_view password) {
  std::optional<UserRow> found;
  if (CheckUserName(name).ok()) {
    DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
    DOSSIER_ASSIGN_OR_RETURN(found, FindByName(*impl_, Normalized(name)));
  }  // no section is held while hashing
  const bool usable = found && !found->record.disabled && !found->password_hash.empty();
  const bool right =
      VerifyPassword(impl_->options_, usable ? found->password_hash : kDummyHash, password);
  if (!usable || !right) return AuthFailed(kWrongLogin);
  return std::move(found->record);
}

Status Vault::RecordAccessEvent(const std::string& action, std::vector<std::string> objects,
                                const std::string& patient_id, const std::string& outcome,
                                const std::string& reason) {
  if (action.rfind("session.", 0) != 0 && action.rfind("access.", 0) != 0 &&
      action.rfind("server.", 0) != 0 && action.rfind("audit.", 0) != 0 &&
      action != "export.download" && action != "export.expired") {
    return InvalidArgument(fmt::format(
        "`{}` is not an access event: they begin with session., access., server. or audit. (or "
        "are export.download, export.expired)",
        action));
  }
  if (outcome != "ok" && outcome != "refused" && outcome != "failed") {
    return InvalidArgument("an access event's outcome is ok, refused or failed");
  }
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  for (std::string& o : objects) {
    if (!IsWellFormedId(o)) o = "(not an id)";  // a mistyped id may hold a name
  }
  AuditEvent e =
      Impl::MakeEvent(action, std::move(objects),
                      KindOfId(patient_id) == IdKind::kPatient ? patient_id : "", outcome, "");
  e.reason = reason;
  return impl_->AuditAlone(std::move(e));
}

// --- Acting for a user ------------------------------------------------------------------------

namespace {
thread_local ActingAs* innermost = nullptr;
}  // namespace

ActingAs::ActingAs(const Vault& vault, Actor actor)
    : impl_(vault.impl_.get()), actor_(std::move(actor)), outer_(innermost) {
  innermost = this;
}

ActingAs::~ActingAs() { innermost = outer_; }

const Actor* ActingAs::Current(const Vault::Impl* impl) {
  for (const ActingAs* a = innermost; a != nullptr; a = a->outer_) {
    if (a->impl_ == impl) return &a->actor_;
  }
  return nullptr;
}

}  // namespace dossier::vault
