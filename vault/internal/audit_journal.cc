#include "vault/internal/audit_journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "vault/internal/audit_log.h"

namespace dossier::vault::internal {

namespace {

constexpr size_t kMacBytes = 32;
constexpr uint32_t kMaxRecordBytes = 1 << 20;  // an event is a few hundred bytes

int Flock(const File& f, int op) {
  for (;;) {
    if (::flock(f.fd(), op) == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

bool StillLinked(const File& f) {
  struct stat st {};
  return ::fstat(f.fd(), &st) == 0 && st.st_nlink > 0;
}

Bytes RecordMac(const SecureBuffer& key, const std::string& file_name, std::string_view body) {
  Bytes mac(kMacBytes);
  crypto_generichash_state st;
  crypto_generichash_init(&st, key.data(), key.size(), mac.size());
  static constexpr char kContext[] = "dossier-audit-journal-v1";
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(kContext), sizeof kContext);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(file_name.data()),
                            file_name.size() + 1);  // with its NUL: the name ends here
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(body.data()), body.size());
  crypto_generichash_final(&st, mac.data(), mac.size());
  return mac;
}

// The event a record's JSON holds (CanonicalEncoding's fields; "seq" is the record's number).
Result<AuditEvent> ParseEvent(std::string_view body) {
  try {
    const auto j = nlohmann::json::parse(body);
    AuditEvent e;
    e.seq = j.at("seq").get<int64_t>();
    e.at = j.at("at").get<std::string>();
    e.actor = j.at("actor").get<std::string>();
    e.role = j.at("role").get<std::string>();
    e.action = j.at("action").get<std::string>();
    e.objects = j.at("objects").get<std::vector<std::string>>();
    e.patient = j.at("patient").get<std::string>();
    e.outcome = j.at("outcome").get<std::string>();
    e.purpose = j.at("purpose").get<std::string>();
    e.encoding = j.value("v", 1);
    if (e.encoding == 2) {
      e.os_user = j.at("os_user").get<std::string>();
      e.reason = j.at("reason").get<std::string>();
      e.details = j.at("details").get<std::map<std::string, std::string>>();
    }
    return e;
  } catch (const nlohmann::json::exception& ex) {
    return Corrupt(std::string("not an event: ") + ex.what());
  }
}

}  // namespace

Bytes EncodeJournalRecord(const SecureBuffer& mac_key, const std::string& file_name, int64_t number,
                          const AuditEvent& e) {
  AuditEvent numbered = e;
  numbered.seq = number;
  const std::string body = CanonicalEncoding(numbered);
  Bytes out(4);
  const auto n = static_cast<uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  out.insert(out.end(), body.begin(), body.end());
  const Bytes mac = RecordMac(mac_key, file_name, body);
  out.insert(out.end(), mac.begin(), mac.end());
  return out;
}

AuditJournal::AuditJournal(const VaultDir& dir, SecureBuffer mac_key)
    : dir_(&dir), key_(std::move(mac_key)) {}

Status AuditJournal::Append(const std::vector<AuditEvent*>& events) {
  if (dir_ == nullptr) return Internal("the audit journal is not enabled");
  if (!file_) {
    // Made, then locked, then found still there: an open that claimed it as left behind
    // between the first two steps removed it, and a new one is made.
    for (int attempt = 0;; ++attempt) {
      const std::string name = kJournalPrefix + RandomId("jrn", 16);
      DOSSIER_ASSIGN_OR_RETURN(File f, dir_->CreateExclusive(name));
      if (int err = Flock(f, LOCK_EX); err != 0) {
        (void)dir_->Remove(name);
        return ErrnoError("cannot lock", dir_->PathOf(name).string(), err);
      }
      if (!StillLinked(f)) {
        if (attempt == 3) return IoError("the audit journal kept disappearing");
        continue;
      }
      DOSSIER_RETURN_IF_ERROR(dir_->SyncDir());  // the name survives a crash too
      file_ = std::move(f);
      name_ = name;
      records_ = 0;
      break;
    }
  }
  Bytes out;
  for (size_t i = 0; i < events.size(); ++i) {
    const Bytes r =
        EncodeJournalRecord(key_, name_, records_ + 1 + static_cast<int64_t>(i), *events[i]);
    out.insert(out.end(), r.begin(), r.end());
  }
  const off_t end = ::lseek(file_->fd(), 0, SEEK_END);
  Status st = file_->WriteAll(out);
  if (st.ok() && ::fdatasync(file_->fd()) != 0) {
    st = ErrnoError("cannot make durable", file_->path(), errno);
  }
  if (!st.ok()) {
    // Cut back to the last whole record, so that the next ones follow it.
    if (end < 0 || ::ftruncate(file_->fd(), end) != 0 || ::lseek(file_->fd(), end, SEEK_SET) < 0) {
      // Kept, locked, until its earlier events are folded; the next Append makes a new file.
      taken_.emplace_back(std::move(name_), std::move(*file_));
      file_.reset();
      records_ = 0;
    }
    return st;
  }
  records_ += static_cast<int64_t>(events.size());
  for (const AuditEvent* e : events) pending_.push_back(*e);
  return Status::Ok();
}

AuditJournal::Snapshot AuditJournal::Take() {
  if (file_) {
    taken_.emplace_back(std::move(name_), std::move(*file_));
    file_.reset();
    records_ = 0;
  }
  return {pending_.size(), taken_.size()};
}

Status AuditJournal::Folded(const Snapshot& taken) {
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(taken.events));
  Status st;
  for (size_t i = 0; i < taken.files; ++i) {
    const std::string name = taken_[i].first;
    taken_[i].second = File();  // its flock goes with it
    if (Status removed = dir_->Remove(name); st.ok()) st = removed;
  }
  taken_.erase(taken_.begin(), taken_.begin() + static_cast<std::ptrdiff_t>(taken.files));
  if (taken.files > 0 && st.ok()) st = dir_->SyncDir();
  return st;
}

Result<std::vector<LeftJournal>> ClaimLeftJournals(const VaultDir& dir,
                                                   const SecureBuffer& mac_key) {
  std::vector<LeftJournal> left;
  DOSSIER_ASSIGN_OR_RETURN(std::vector<std::string> names, dir.List(""));
  for (const std::string& name : names) {
    if (name.rfind(kJournalPrefix, 0) != 0) continue;
    DOSSIER_ASSIGN_OR_RETURN(File f, dir.OpenRegular(name));
    if (Flock(f, LOCK_EX | LOCK_NB) != 0) continue;  // its process is still writing it
    if (!StillLinked(f)) continue;                   // folded meanwhile by another open
    const std::string shown = dir.PathOf(name).string();
    DOSSIER_ASSIGN_OR_RETURN(uint64_t size, f.Size());
    if (size > uint64_t{1} << 30) {
      return Corrupt(
          fmt::format("{} is {} bytes, no audit journal is: move it out of the vault "
                      "(keep it as evidence) and open it again",
                      shown, size));
    }
    std::string data(size, '\0');
    DOSSIER_ASSIGN_OR_RETURN(size_t got,
                             f.ReadFull({reinterpret_cast<uint8_t*>(data.data()), data.size()}));
    data.resize(got);
    LeftJournal j{name, std::move(f), {}};
    size_t at = 0;
    for (int64_t number = 1;; ++number) {
      if (data.size() - at < 4) break;  // the end, or a record cut short: never durable
      uint32_t n = 0;
      for (int i = 0; i < 4; ++i)
        n |= static_cast<uint32_t>(static_cast<uint8_t>(data[at + i])) << (8 * i);
      if (n > kMaxRecordBytes) {
        return Corrupt(
            fmt::format("{}: record {} claims {} bytes: the journal was changed "
                        "outside Dossier; move it out of the vault (keep it as "
                        "evidence) and open it again",
                        shown, number, n));
      }
      if (data.size() - at - 4 < n + kMacBytes) break;  // cut short
      const std::string_view body(data.data() + at + 4, n);
      const Bytes mac(data.begin() + at + 4 + n, data.begin() + at + 4 + n + kMacBytes);
      if (mac != RecordMac(mac_key, name, body)) {
        return Corrupt(
            fmt::format("{}: record {} fails authentication: the journal was changed "
                        "outside Dossier; move it out of the vault (keep it as "
                        "evidence) and open it again",
                        shown, number));
      }
      auto e = ParseEvent(body);
      if (!e.ok()) return e.status().WithContext(fmt::format("{}: record {}", shown, number));
      if (e->seq != number) {
        return Corrupt(
            fmt::format("{}: record {} is numbered {}: records were moved outside "
                        "Dossier; move it out of the vault and open it again",
                        shown, number, e->seq));
      }
      j.events.push_back(std::move(e).value());
      at += 4 + n + kMacBytes;
    }
    left.push_back(std::move(j));
  }
  return left;
}

}  // namespace dossier::vault::internal
