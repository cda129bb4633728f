// What every request of one server shares: options, sessions, the login guard, the
// long-request slots. Private to server/.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "report/report.h"
#include "server/internal/sessions.h"
#include "server/server.h"

namespace httplib {
struct Request;
}

namespace dossier::server::internal {

// At most `n` long requests (downloads; later uploads and event streams) at once, so that
// the rest of the thread pool stays free for short ones.
class Slots {
 public:
  explicit Slots(size_t n) : free_(n) {}
  // A slot held until the returned object is destroyed; null when none is free.
  std::shared_ptr<void> TryTake();

 private:
  std::mutex mu_;
  size_t free_;
};

class Spool;
class Jobs;
class Uploads;

struct ServerState {
  ServeOptions options;
  const Clock& clock;
  SessionStore sessions;
  LoginGuard guard;
  Slots long_slots;
  bool tls = false;
  std::atomic<bool> stopping{false};
  // Uploads and the jobs that ingest them (set by Server::Create).
  Spool* spool = nullptr;
  Jobs* jobs = nullptr;
  Uploads* uploads = nullptr;

  // Exports whose parts are in options.exports_dir: export id → its request and when it was
  // made (read from the ledger at start, added to by each export job).
  struct KeptExport {
    std::string request_id, patient_id;
    std::chrono::system_clock::time_point created;
  };
  // Case listings as JSON text, kept while their case does not change.
  report::ListingCache listings;
  std::mutex exports_mu;
  std::map<std::string, KeptExport> exports;

  ServerState(ServeOptions o, const Clock& c);
  // Where the request comes from: the peer, or with --trust-proxy the last address of
  // X-Forwarded-For (the one the proxy added).
  std::string ClientAddress(const httplib::Request& req) const;
  // The Set-Cookie value for a session token ("" clears the cookie).
  std::string SessionCookie(const std::string& token) const;
};

inline constexpr const char* kSessionCookie = "dossier_session";

}  // namespace dossier::server::internal
