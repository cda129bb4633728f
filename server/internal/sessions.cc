#include "server/internal/sessions.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>

namespace dossier::server::internal {

namespace {

std::string Base64Url(const unsigned char* data, size_t n) {
  std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::string Hash(const std::string& text) {
  unsigned char h[crypto_generichash_BYTES];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                     nullptr, 0);
  return std::string(reinterpret_cast<const char*>(h), sizeof h);
}

Seconds Left(TimePoint until, TimePoint now) {
  // Rounded up: "try again in 0 seconds" is never said while it is still locked.
  return std::chrono::ceil<Seconds>(until - now);
}

}  // namespace

std::string RandomToken() {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string token = Base64Url(raw, sizeof raw);
  sodium_memzero(raw, sizeof raw);
  return token;
}

bool SameToken(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

SessionStore::SessionStore(const Clock& clock, Seconds idle, Seconds absolute)
    : clock_(clock), idle_(idle), absolute_(absolute) {}

std::string SessionStore::Key(const std::string& token) { return Hash(token); }

bool SessionStore::Expired(const Session& s, TimePoint now) const {
  return now - s.last_seen >= idle_ || now - s.created >= absolute_;
}

void SessionStore::Prune(TimePoint now) {
  if (now - last_prune_ < std::chrono::minutes(1)) return;
  last_prune_ = now;
  std::erase_if(sessions_, [&](const auto& kv) { return Expired(kv.second, now); });
}

SessionStore::Issued SessionStore::Create(const std::string& user_id) {
  Issued issued{RandomToken(), RandomToken()};
  const TimePoint now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  Prune(now);
  sessions_[Key(issued.token)] = Session{user_id, issued.csrf, now, now};
  return issued;
}

std::optional<Session> SessionStore::Use(const std::string& token) {
  if (token.empty()) return std::nullopt;
  const TimePoint now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(Key(token));
  if (it == sessions_.end()) return std::nullopt;
  if (Expired(it->second, now)) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_seen = now;
  return it->second;
}

void SessionStore::Remove(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(Key(token));
}

size_t SessionStore::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

LoginGuard::LoginGuard(const Clock& clock, Limits limits) : clock_(clock), limits_(limits) {}

std::string LoginGuard::Key(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return Hash(lower);
}

void LoginGuard::Prune(TimePoint now) {
  // Bounded memory under a storm of made-up names: what no longer counts is dropped.
  if (names_.size() + addresses_.size() < 10000) return;
  auto stale = [&](const auto& kv) {
    return now >= kv.second.locked_until && now - kv.second.first >= limits_.window;
  };
  std::erase_if(names_, stale);
  std::erase_if(addresses_, stale);
}

std::optional<Seconds> LoginGuard::NameLocked(const std::string& name) {
  const TimePoint now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = names_.find(Key(name));
  if (it == names_.end() || now >= it->second.locked_until) return std::nullopt;
  return Left(it->second.locked_until, now);
}

std::optional<Seconds> LoginGuard::AddressThrottled(const std::string& address) {
  const TimePoint now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = addresses_.find(address);
  if (it == addresses_.end() || now >= it->second.locked_until) return std::nullopt;
  return Left(it->second.locked_until, now);
}

bool LoginGuard::Failed(const std::string& name, const std::string& address) {
  const TimePoint now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  Prune(now);
  Count& a = addresses_[address];
  if (a.failures == 0 || now - a.first >= limits_.window) a = Count{0, now, {}};
  if (++a.failures >= limits_.failures_per_address) a.locked_until = a.first + limits_.window;
  Count& n = names_[Key(name)];
  if (n.locked_until != TimePoint{} && now >= n.locked_until) n = Count{};  // lock served
  if (n.failures == 0) n.first = now;
  if (++n.failures < limits_.failures_per_name) return false;
  n.failures = 0;  // a new count after the lock
  n.locked_until = now + limits_.lock;
  return true;
}

void LoginGuard::Succeeded(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  names_.erase(Key(name));
}

}  // namespace dossier::server::internal
