// The operator's settings, clinics and consent records (Clinic requests 1/3).
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>

#include "common/encoding.h"
#include "common/text.h"
#include "vault/internal/crypto.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::RowTable;
using internal::Stmt;

namespace {

constexpr int kDestructionDays = 30;  // 152-FZ art. 21 part 5: after a withdrawal is received

bool IsCountry(const std::string& c) {
  return c.size() == 2 &&
         std::all_of(c.begin(), c.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
}

// Edits (insertions, deletions, substitutions) between two folded names.
size_t Distance(const std::u32string& a, const std::u32string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

bool IsPlainLine(const std::string& s, size_t max) {
  return !s.empty() && s.size() <= max && IsValidUtf8(s) &&
         std::none_of(s.begin(), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

Status CheckClinic(ClinicInfo& info) {
  if (!IsPlainLine(info.name, 200)) {
    return InvalidArgument("the clinic name must be one line of 1 to 200 characters");
  }
  for (char& c : info.country) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!IsCountry(info.country)) {
    return InvalidArgument("--country " + info.country +
                           ": give the ISO 3166-1 two-letter code, e.g. DE, IL, TR, KR");
  }
  if (!info.email.empty() && !IsEmailAddress(info.email)) {
    return InvalidArgument("--email " + info.email + " is not an e-mail address (name@domain.tld)");
  }
  if (info.note.size() > 2000 || !IsValidUtf8(info.note)) {
    return InvalidArgument("--note must be UTF-8 text of at most 2000 bytes");
  }
  return Status::Ok();
}

template <typename E, typename F>
std::string JoinCodes(const std::vector<E>& items, F to_string) {
  std::string out;
  for (const E& e : items) out += (out.empty() ? "" : ",") + std::string(to_string(e));
  return out;
}

template <typename E, typename P>
std::vector<E> SplitCodes(const std::string& text, P parse) {
  std::vector<E> out;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (auto e = parse(std::string_view(text).substr(start, end - start))) out.push_back(*e);
    start = end + 1;
  }
  return out;
}

constexpr const char* kConsentColumns =
    "SELECT id, patient_id, clinic_id, purposes, categories, actions, valid_from, valid_until, "
    "signed, representative_enc, authority_enc, scan_object_id IS NOT NULL, scan_kind, "
    "scan_digest_enc, scan_size, recorded_by, recorded_at, revoked_at, revocation_received, "
    "revocation_reason_enc, destruction_due FROM consents";

Result<ConsentRecord> ReadConsentRow(Vault::Impl& v, const Stmt& s) {
  ConsentRecord c;
  c.id = s.Text(0);
  c.patient_id = s.Text(1);
  c.clinic_id = s.Text(2);
  c.purposes = SplitCodes<Purpose>(s.Text(3), ParsePurpose);
  c.categories = SplitCodes<Category>(s.Text(4), ParseCategory);
  c.actions = s.Text(5);
  c.valid_from = s.Text(6);
  c.valid_until = s.Text(7);
  c.signed_how = s.Text(8);
  c.has_scan = s.Int(11) != 0;
  c.scan_kind = s.Text(12);
  c.scan_size = static_cast<uint64_t>(s.Int(14));
  c.recorded_by = s.Text(15);
  c.recorded_at = s.Text(16);
  c.revoked_at = s.Text(17);
  c.revocation_received = s.Text(18);
  c.destruction_due = s.Text(20);
  // Sealed fields: gone (empty) once the patient was erased.
  auto keys = v.Keys(c.patient_id);
  if (!keys.ok()) {
    if (keys.status().code() == StatusCode::kRejected) return c;
    return keys.status();
  }
  DOSSIER_ASSIGN_OR_RETURN(c.representative,
                           v.OpenField(c.patient_id, "consents.representative", c.id, s.Blob(9)));
  DOSSIER_ASSIGN_OR_RETURN(c.authority,
                           v.OpenField(c.patient_id, "consents.authority", c.id, s.Blob(10)));
  DOSSIER_ASSIGN_OR_RETURN(c.scan_sha256_hex,
                           v.OpenField(c.patient_id, "consents.scan_digest", c.id, s.Blob(13)));
  DOSSIER_ASSIGN_OR_RETURN(
      c.revocation_reason,
      v.OpenField(c.patient_id, "consents.revocation_reason", c.id, s.Blob(19)));
  return c;
}

}  // namespace

std::string_view ToString(ConsentState s) {
  switch (s) {
    case ConsentState::kActive:
      return "active";
    case ConsentState::kNotYetValid:
      return "not yet valid";
    case ConsentState::kExpired:
      return "expired";
    case ConsentState::kRevoked:
      return "revoked";
  }
  return "unknown";
}

ConsentState ConsentRecord::StateOn(const std::string& date) const {
  if (!revoked_at.empty()) return ConsentState::kRevoked;
  if (date < valid_from) return ConsentState::kNotYetValid;
  if (date > valid_until) return ConsentState::kExpired;
  return ConsentState::kActive;
}

// ---- settings ----

Result<VaultSettings> Vault::GetSettings() {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(RowTable::kSettings, "1", {}));
  VaultSettings out;
  out.time_zone = SystemTimeZone();
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, impl_->Conn().Prepare("SELECT key, value FROM settings"));
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    const std::string key = s.Text(0);
    if (key == "operator_name") out.operator_name = s.Text(1);
    if (key == "operator_country") out.operator_country = s.Text(1);
    if (key == "time_zone") out.time_zone = s.Text(1);
  }
  return out;
}

Status Vault::SetSettings(const VaultSettings& settings) {
  auto writing = impl_->Write();
  VaultSettings v = settings;
  for (char& c : v.operator_country)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!v.operator_country.empty() && !IsCountry(v.operator_country)) {
    return InvalidArgument("--country " + v.operator_country +
                           ": give the ISO 3166-1 two-letter code, e.g. RU");
  }
  if (!v.operator_name.empty() && !IsPlainLine(v.operator_name, 200)) {
    return InvalidArgument("--operator must be one line of at most 200 characters");
  }
  struct stat st {};
  if (!v.time_zone.empty() && v.time_zone != "UTC" &&
      (v.time_zone.find("..") != std::string::npos ||
       ::stat(("/usr/share/zoneinfo/" + v.time_zone).c_str(), &st) != 0 || !S_ISREG(st.st_mode))) {
    return InvalidArgument("--time-zone " + v.time_zone +
                           ": not a time zone this machine knows (e.g. Europe/Moscow; see "
                           "/usr/share/zoneinfo)");
  }
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  for (const auto& [key, value] :
       {std::pair<const char*, const std::string*>{"operator_name", &v.operator_name},
        {"operator_country", &v.operator_country},
        {"time_zone", &v.time_zone}}) {
    if (value->empty()) continue;
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s, impl_->Conn().Prepare("INSERT INTO settings(key, value) VALUES (?1, ?2) "
                                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
    s.Bind(1, key).Bind(2, *value);
    DOSSIER_RETURN_IF_ERROR(s.Run());
    DOSSIER_RETURN_IF_ERROR(impl_->SealRows(RowTable::kSettings, "key = ?1", {key}));
  }
  DOSSIER_RETURN_IF_ERROR(impl_->Audit("vault.settings", {impl_->vault_id_}, ""));
  return tx.Commit();
}

Result<std::string> Vault::Today() {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(VaultSettings s, GetSettings());
  const Clock& c = impl_->options_.clock ? *impl_->options_.clock : Clock::System();
  return FormatLocalDate(c.Now(), s.time_zone);
}

// ---- clinics ----

Result<std::string> Vault::AddClinic(const ClinicInfo& given) {
  auto writing = impl_->Write();
  ClinicInfo info = given;
  DOSSIER_RETURN_IF_ERROR(CheckClinic(info));
  if (auto existing = FindClinic(info.name); existing.ok()) {
    return Rejected(
        fmt::format("a clinic named «{}» is already registered as {}", info.name, existing->id));
  }
  const std::string id = RandomId("cli");
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           impl_->Conn().Prepare("INSERT INTO clinics(id, name, country, "
                                                 "email, note, created_at) VALUES (?,?,?,?,?,?)"));
  s.Bind(1, id).Bind(2, info.name).Bind(3, info.country).Bind(4, info.email).Bind(5, info.note);
  s.Bind(6, impl_->Now());
  DOSSIER_RETURN_IF_ERROR(s.Run());
  DOSSIER_RETURN_IF_ERROR(impl_->SealRows(RowTable::kClinics, "id = ?1", {id}));
  DOSSIER_RETURN_IF_ERROR(impl_->Audit("clinic.add", {id}, ""));
  DOSSIER_RETURN_IF_ERROR(tx.Commit());
  return id;
}

Result<std::vector<ClinicRecord>> Vault::ListClinics() {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(RowTable::kClinics, "1", {}));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, impl_->Conn().Prepare("SELECT id, created_at, name, country, "
                                                         "email, note FROM clinics ORDER BY name"));
  return s.Collect<ClinicRecord>([](const Stmt& r) -> Result<ClinicRecord> {
    return ClinicRecord{r.Text(0), r.Text(1), {r.Text(2), r.Text(3), r.Text(4), r.Text(5)}};
  });
}

Status Vault::EditClinic(const std::string& clinic_id, const ClinicInfo& given) {
  auto writing = impl_->Write();
  DOSSIER_ASSIGN_OR_RETURN(ClinicRecord current, FindClinic(clinic_id));
  ClinicInfo info = given;
  if (info.name.empty()) info.name = current.info.name;
  if (info.country.empty()) info.country = current.info.country;
  DOSSIER_RETURN_IF_ERROR(CheckClinic(info));
  if (info.name != current.info.name) {
    if (auto other = FindClinic(info.name); other.ok()) {
      return Rejected(
          fmt::format("a clinic named «{}» is already registered as {}", info.name, other->id));
    }
  }
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           impl_->Conn().Prepare("UPDATE clinics SET name = ?, country = ?, "
                                                 "email = ?, note = ? WHERE id = ?"));
  s.Bind(1, info.name).Bind(2, info.country).Bind(3, info.email).Bind(4, info.note);
  s.Bind(5, current.id);
  DOSSIER_RETURN_IF_ERROR(s.Run());
  DOSSIER_RETURN_IF_ERROR(impl_->SealRows(RowTable::kClinics, "id = ?1", {current.id}));
  DOSSIER_RETURN_IF_ERROR(impl_->Audit("clinic.edit", {current.id}, ""));
  return tx.Commit();
}

Result<ClinicRecord> Vault::FindClinic(const std::string& id_or_name) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(auto all, ListClinics());
  for (auto& c : all) {
    if (c.id == id_or_name || c.info.name == id_or_name) return std::move(c);
  }
  if (id_or_name.rfind("cli_", 0) == 0) {
    return NotFound("no clinic " + id_or_name + " (see `dossier clinic list`)");
  }
  // Close matches: the same words in any case, or one name inside the other.
  const std::u32string want = FoldForSearch(id_or_name);
  std::vector<std::string> close;
  for (const auto& c : all) {
    const std::u32string name = FoldForSearch(c.info.name);
    if (!want.empty() && (name.find(want) != std::u32string::npos ||
                          want.find(name) != std::u32string::npos || Distance(want, name) <= 3)) {
      close.push_back(fmt::format("«{}» ({})", c.info.name, c.id));
    }
    if (close.size() == 3) break;
  }
  return NotFound(fmt::format(
      "no clinic is registered as «{}»{}; give its id or exact name (see "
      "`dossier clinic list`)",
      id_or_name, close.empty() ? "" : fmt::format(": did you mean {}", fmt::join(close, ", "))));
}

// ---- consents ----

Result<std::string> Vault::AddConsent(const NewConsent& c) {
  auto writing = impl_->Write();
  DOSSIER_RETURN_IF_ERROR(impl_->Keys(c.patient_id).status());
  DOSSIER_ASSIGN_OR_RETURN(ClinicRecord clinic, FindClinic(c.clinic_id));
  if (c.purposes.empty()) {
    return Rejected("--purpose is empty: give one or more of " + AllPurposeNames());
  }
  if (c.categories.empty()) {
    return Rejected("--categories is empty: give one or more of " + AllCategoryNames());
  }
  DOSSIER_ASSIGN_OR_RETURN(const std::string today, Today());
  const std::string from = c.valid_from.empty() ? today : c.valid_from;
  if (!ParseDate(from)) return InvalidArgument("--from must be a date written YYYY-MM-DD");
  if (!ParseDate(c.valid_until))
    return InvalidArgument("--until must be a date written YYYY-MM-DD");
  if (c.valid_until < today) {
    return Rejected(fmt::format("--until {} is in the past (today is {} in the vault's time zone)",
                                c.valid_until, today));
  }
  if (c.valid_until < from) {
    return Rejected(fmt::format("--until {} is before --from {}", c.valid_until, from));
  }
  if (c.signed_how != "paper" && c.signed_how != "electronic") {
    return Rejected("--signed " + c.signed_how + ": give paper or electronic");
  }
  if (c.representative.empty() != c.authority.empty()) {
    return InvalidArgument(
        "--representative and --authority go together: a representative signs on the strength of "
        "a document (a power of attorney, a guardianship decision)");
  }
  static constexpr std::string_view kScanKinds[] = {"pdf", "jpeg", "png", "tiff", "heic"};
  if (!c.scan.empty() && std::find(std::begin(kScanKinds), std::end(kScanKinds), c.scan_kind) ==
                             std::end(kScanKinds)) {
    return Rejected("--scan must be a PDF or an image (JPEG, PNG, TIFF, HEIC)");
  }

  const std::string id = RandomId("con");
  std::string object_id;
  Bytes wrapped;
  internal::WrittenObject written;
  std::string digest_hex;
  if (!c.scan.empty()) {
    object_id = internal::ObjectStore::NewObjectId();
    SecureBuffer data_key = SecureBuffer::Random(internal::kKeyBytes);
    DOSSIER_ASSIGN_OR_RETURN(auto w, impl_->objects_.Create(object_id, data_key, true));
    DOSSIER_RETURN_IF_ERROR(w->Write(c.scan));
    DOSSIER_ASSIGN_OR_RETURN(written, w->Finish(true));
    if (written.content_digest) {
      digest_hex = ToHex(std::span<const uint8_t>(written.content_digest->data(), 32));
    }
    const Impl::ObjectBinding binding{c.patient_id, object_id,          id,
                                      "consent",    written.plain_size, written.stored_size};
    DOSSIER_ASSIGN_OR_RETURN(wrapped, impl_->WrapObjectKey(binding, data_key));
  }
  auto stored = [&]() -> Status {
    DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s,
        impl_->Conn().Prepare(
            "INSERT INTO consents(id, patient_id, clinic_id, purposes, categories, actions, "
            "valid_from, valid_until, signed, representative_enc, authority_enc, "
            "scan_object_id, scan_wrapped_key, scan_size, scan_stored_size, scan_kind, "
            "scan_digest_enc, recorded_by, recorded_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    s.Bind(1, id).Bind(2, c.patient_id).Bind(3, clinic.id);
    s.Bind(4, JoinCodes(c.purposes, [](Purpose p) { return ToString(p); }));
    s.Bind(5, JoinCodes(c.categories, [](Category x) { return ToString(x); }));
    s.Bind(6, "transfer,storage").Bind(7, from).Bind(8, c.valid_until).Bind(9, c.signed_how);
    auto sealed = [&](int index, const char* where, const std::string& text) -> Status {
      if (text.empty()) {
        s.BindNull(index);
        return Status::Ok();
      }
      DOSSIER_ASSIGN_OR_RETURN(Bytes b, impl_->SealField(c.patient_id, where, id, text));
      s.BindBlob(index, b);
      return Status::Ok();
    };
    DOSSIER_RETURN_IF_ERROR(sealed(10, "consents.representative", c.representative));
    DOSSIER_RETURN_IF_ERROR(sealed(11, "consents.authority", c.authority));
    if (object_id.empty()) {
      for (int i : {12, 13, 14, 15, 16}) s.BindNull(i);
    } else {
      s.Bind(12, object_id).BindBlob(13, wrapped);
      s.Bind(14, static_cast<int64_t>(written.plain_size));
      s.Bind(15, static_cast<int64_t>(written.stored_size)).Bind(16, c.scan_kind);
    }
    DOSSIER_RETURN_IF_ERROR(sealed(17, "consents.scan_digest", digest_hex));
    s.Bind(18, impl_->actor_.name).Bind(19, impl_->Now());
    DOSSIER_RETURN_IF_ERROR(s.Run());
    DOSSIER_RETURN_IF_ERROR(impl_->SealRows(RowTable::kConsents, "id = ?1", {id}));
    DOSSIER_RETURN_IF_ERROR(impl_->Audit("consent.add", {id, clinic.id}, c.patient_id));
    return tx.Commit();
  }();
  if (!stored.ok()) {
    if (!object_id.empty()) (void)impl_->objects_.Remove(object_id);
    return stored;
  }
  return id;
}

Result<std::vector<ConsentRecord>> Vault::ListConsents(
    const std::optional<std::string>& patient_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  if (patient_id) {
    DOSSIER_RETURN_IF_ERROR(
        impl_->CheckRows(internal::RowTable::kPatients, "id = ?1", {*patient_id}));
    DOSSIER_ASSIGN_OR_RETURN(Stmt p, impl_->Conn().Prepare("SELECT 1 FROM patients WHERE id = ?"));
    p.Bind(1, *patient_id);
    DOSSIER_ASSIGN_OR_RETURN(bool found, p.Step());
    if (!found) return NotFound("no patient " + *patient_id + " (see `dossier patient list`)");
  }
  DOSSIER_RETURN_IF_ERROR(
      patient_id ? impl_->CheckRows(RowTable::kConsents, "patient_id = ?1", {*patient_id})
                 : impl_->CheckRows(RowTable::kConsents, "1", {}));
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           impl_->Conn().Prepare(std::string(kConsentColumns) +
                                                 (patient_id ? " WHERE patient_id = ?" : "") +
                                                 " ORDER BY recorded_at, id"));
  if (patient_id) s.Bind(1, *patient_id);
  DOSSIER_ASSIGN_OR_RETURN(auto out, s.Collect<ConsentRecord>([&](const Stmt& row) {
    return ReadConsentRow(*impl_, row);
  }));
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("consent.list", {}, patient_id.value_or("")));
  return out;
}

Result<ConsentRecord> Vault::GetConsent(const std::string& consent_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(RowTable::kConsents, "id = ?1", {consent_id}));
  ConsentRecord c;
  {
    DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                             impl_->Conn().Prepare(std::string(kConsentColumns) + " WHERE id = ?"));
    s.Bind(1, consent_id);
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return NotFound("no consent " + consent_id + " (see `dossier consent list`)");
    DOSSIER_ASSIGN_OR_RETURN(c, ReadConsentRow(*impl_, s));
  }
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("consent.read", {consent_id}, c.patient_id));
  return c;
}

Status Vault::RevokeConsent(const std::string& consent_id, const std::string& reason,
                            const std::string& received_arg) {
  auto writing = impl_->Write();
  if (!IsPlainLine(reason, 1000)) {
    return InvalidArgument("--reason must be one line of 1 to 1000 characters");
  }
  DOSSIER_ASSIGN_OR_RETURN(ConsentRecord c, GetConsent(consent_id));
  if (!c.revoked_at.empty()) {
    return Rejected(fmt::format("consent {} was already revoked on {}", consent_id, c.revoked_at));
  }
  DOSSIER_ASSIGN_OR_RETURN(const std::string today, Today());
  const std::string received = received_arg.empty() ? today : received_arg;
  if (!ParseDate(received)) return InvalidArgument("--received must be a date written YYYY-MM-DD");
  if (received > today) {
    return Rejected(fmt::format("--received {} is in the future (today is {})", received, today));
  }
  DOSSIER_ASSIGN_OR_RETURN(
      Bytes sealed,
      impl_->SealField(c.patient_id, "consents.revocation_reason", consent_id, reason));
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->Conn().Prepare("UPDATE consents SET revoked_at = ?, revocation_received = ?, "
                                    "revocation_reason_enc = ?, destruction_due = ? WHERE id = ?"));
  s.Bind(1, impl_->Now()).Bind(2, received).BindBlob(3, sealed);
  s.Bind(4, AddDays(received, kDestructionDays)).Bind(5, consent_id);
  DOSSIER_RETURN_IF_ERROR(s.Run());
  DOSSIER_RETURN_IF_ERROR(impl_->SealRows(RowTable::kConsents, "id = ?1", {consent_id}));
  DOSSIER_RETURN_IF_ERROR(impl_->Audit("consent.revoke", {consent_id, c.clinic_id}, c.patient_id));
  return tx.Commit();
}

}  // namespace dossier::vault
