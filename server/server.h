// `dossier serve`: the HTTP API over one unlocked vault (doc/API.md).
//
//   server::ServeOptions options;               // 127.0.0.1:8080, no TLS
//   DOSSIER_ASSIGN_OR_RETURN(auto srv, server::Server::Create(vault, options));
//   std::thread stopper([&] { WaitForSigterm(); srv->Stop(); });
//   DOSSIER_RETURN_IF_ERROR(srv->Run());        // returns once requests in flight are done
//
// Every route is in one role table (server/internal/routes.cc): the roles that may use it and
// the check of whose object it names run before any handler. Sessions live in the server's
// memory (a restart signs everyone out). Answers carry a Content-Security-Policy with no
// inline script, nosniff, no-referrer and Cache-Control: no-store; errors are
// {"error": CODE, "message": TEXT} (server/internal/errors.h). The request log has the
// method, the route's template, the status, the user id and the duration — never names,
// tokens, passwords, document text or query strings.
//
// Thread-safety: Stop may be called from any thread; the rest from the thread that created
// the server. The vault must outlive the server.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "ingest/ingest.h"

namespace dossier::vault {
class Vault;
}

namespace dossier::server {

// What one role may upload (doc/API.md §Uploads).
struct UploadLimits {
  uint64_t per_upload = 0;  // bytes of one file, or of one multipart request
  uint64_t per_day = 0;     // bytes received in any 24 hours, unfinished uploads' rest counted
  size_t parallel = 0;      // unfinished uploads at once
};

// One answer as it left (ServeOptions::on_answer).
struct AnswerRecord {
  std::string method;
  std::string route;  // the template in the role table ("/api/cases/{id}"); "-" when none ran
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // empty when the answer was streamed (a download, events)
};

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (tests; port() tells which)
  // TLS: both files (PEM), or neither.
  std::string tls_cert, tls_key;
  // Plain HTTP on an address other than loopback (behind a TLS proxy); said on every start.
  bool insecure_http = false;
  // Believe X-Forwarded-For (the client's address for login throttling and the log).
  bool trust_proxy = false;

  // Threads answering requests; at most `long_requests` of them serve long ones (downloads,
  // upload bodies, event streams) at once, so short requests always find a thread.
  size_t threads = 40;
  size_t long_requests = 32;
  // Limits enforced before any handler: header lines and their total size, a request body
  // (the API takes small JSON bodies; uploads get their own routes), and the socket timeouts.
  size_t max_headers = 64;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 64 * 1024;
  // The body of a form route (a consent with its signed scan), read whole into memory.
  size_t max_form_bytes = 20 << 20;
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{30};
  std::chrono::seconds keep_alive_timeout{5};
  // SIGTERM: requests in flight get this long to finish.
  std::chrono::seconds shutdown_grace{30};

  // Sessions end after this long unused, and this long after login in any case.
  std::chrono::seconds session_idle{30 * 60};
  std::chrono::seconds session_absolute{12 * 3600};
  // Failed logins: a name is locked after this many in a row, for this long; an address
  // failing this many times (on any names) within `lock` is throttled as long.
  int failures_per_name = 5;
  std::chrono::seconds lock{15 * 60};
  int failures_per_address = 20;

  // Uploads (doc/API.md §Uploads). The encrypted spool's folder (`dossier serve`: the
  // vault's `spool/`); the limits per role (a representative has a patient's); how long an
  // unfinished upload is kept, and a batch nobody closes waits; the largest multipart
  // request (larger files go through tus); how often expired uploads and idle batches are
  // looked for; ended jobs are kept this long.
  std::string spool_dir;
  // Exports (doc/API.md §Exports): the folder their encrypted parts are written to
  // (`dossier serve`: the vault's `exports/`), and how long they are kept there.
  std::string exports_dir;
  std::chrono::seconds export_keep{14 * 24 * 3600};
  UploadLimits patient_uploads{5'000'000'000, 20'000'000'000, 8};
  UploadLimits manager_uploads{20'000'000'000, 200'000'000'000, 32};
  std::chrono::seconds upload_expiry{24 * 3600};
  std::chrono::seconds batch_idle{10 * 60};
  uint64_t max_multipart_bytes = uint64_t{512} << 20;
  std::chrono::milliseconds janitor_interval{30'000};
  std::chrono::seconds keep_jobs{24 * 3600};
  // A tus upload of at least `arriving_min_bytes`, in no batch, is ingested as its bytes
  // arrive when no other job is waiting (all or nothing: ingest::IngestArriving); that
  // ingest gives way, to be done again once the upload is complete, when another job waits
  // or no byte came for `arriving_stall`.
  uint64_t arriving_min_bytes = uint64_t{32} << 20;
  std::chrono::seconds arriving_stall{20};
  // How uploads are ingested (workers, OCR), as `dossier ingest` does.
  ingest::IngestOptions ingest;

  // The time sessions and locks are measured by (tests inject one); null: the system clock.
  const Clock* clock = nullptr;
  // One line per request; null: stderr.
  std::function<void(const std::string& line)> log;
  // Every answer as it leaves (tests: tests/api/contract.mjs checks each one against
  // doc/openapi.yaml); null: none.
  std::function<void(const AnswerRecord&)> on_answer;
};

// kInvalidArgument unless the options may be used: TLS files both or neither, a listening
// address other than loopback only with TLS or --insecure-http.
Status CheckServeOptions(const ServeOptions& options);

class Server {
 public:
  // Checks the options, loads the TLS certificate and binds the port (so port() is known
  // and a port in use fails here). kIoError when the port cannot be bound; kInvalidArgument
  // for options CheckServeOptions refuses or TLS files that do not load.
  static Result<std::unique_ptr<Server>> Create(vault::Vault& vault, ServeOptions options);
  ~Server();

  int port() const;
  // Serves until Stop. Returns once every request in flight has finished (uploads in flight
  // are cut), the files of finished uploads (and of open batches) are ingested and unfinished
  // uploads deleted; a request still running after shutdown_grace ends the process.
  Status Run();
  // Refuses new requests (503 on open connections; new connections are not accepted) and
  // lets Run return once those in flight are done.
  void Stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dossier::server
