// Sessions and login throttling, in the server's memory only: a restart logs everyone out
// and forgets failed logins (doc/API.md §Sessions). Thread-safe. Private to server/.
//
// A session token is 256 random bits (the cookie); only its BLAKE2b-256 hash is kept, so a
// copy of the server's memory does not hand out live sessions. Each session has its own
// CSRF token, answered at login and required in X-CSRF-Token on every state-changing request.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"

namespace dossier::server::internal {

using Seconds = std::chrono::seconds;
using TimePoint = std::chrono::system_clock::time_point;

struct Session {
  std::string user_id;
  std::string csrf;
  TimePoint created, last_seen;
};

class SessionStore {
 public:
  // `idle`: a session unused this long ends; `absolute`: every session ends this long after
  // login, used or not.
  SessionStore(const Clock& clock, Seconds idle, Seconds absolute);

  struct Issued {
    std::string token;  // the cookie's value: 43 characters of base64url
    std::string csrf;   // likewise, for X-CSRF-Token
  };
  Issued Create(const std::string& user_id);
  // The live session of `token`, its last use moved to now; nullopt for an unknown or
  // expired token (an expired one is forgotten).
  std::optional<Session> Use(const std::string& token);
  void Remove(const std::string& token);
  size_t size();

 private:
  static std::string Key(const std::string& token);  // the hash the map is keyed by
  void Prune(TimePoint now);                         // drops expired sessions
  bool Expired(const Session& s, TimePoint now) const;
  const Clock& clock_;
  Seconds idle_, absolute_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;
  TimePoint last_prune_{};
};

// Failed logins: by name (hashed, never kept as typed) and by source address.
class LoginGuard {
 public:
  struct Limits {
    int failures_per_name = 5;      // then the name is locked …
    Seconds lock{15 * 60};          // … this long
    int failures_per_address = 20;  // failures on any names from one address in `window` …
    Seconds window{15 * 60};        // … throttle that address until the window moves on
  };
  LoginGuard(const Clock& clock, Limits limits);

  // How long the name is still locked, or the address throttled; nullopt when neither.
  std::optional<Seconds> NameLocked(const std::string& name);
  std::optional<Seconds> AddressThrottled(const std::string& address);
  // Counts a failed login; true when it locks the name (the answer is then `locked`).
  bool Failed(const std::string& name, const std::string& address);
  // A successful login clears the name's count.
  void Succeeded(const std::string& name);

 private:
  struct Count {
    int failures = 0;
    TimePoint first{}, locked_until{};
  };
  static std::string Key(const std::string& name);
  void Prune(TimePoint now);
  const Clock& clock_;
  Limits limits_;
  std::mutex mu_;
  std::map<std::string, Count> names_, addresses_;
};

// 32 random bytes as unpadded base64url (43 characters).
std::string RandomToken();
// Constant-time comparison of two tokens.
bool SameToken(const std::string& a, const std::string& b);

}  // namespace dossier::server::internal
