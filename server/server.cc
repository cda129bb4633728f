#include "server/server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <regex>
#include <thread>

#include "common/ids.h"
#include "server/internal/connection.h"
#include "server/internal/errors.h"
#include "server/internal/export_routes.h"
#include "server/internal/jobs.h"
#include "server/internal/routes.h"
#include "server/internal/spool.h"
#include "server/internal/state.h"
#include "server/internal/upload_routes.h"
#include "server/internal/uploads.h"
#include "vault/vault.h"

namespace dossier::server {

using internal::ApiError;
using internal::Call;
using internal::Object;
using internal::Principal;
using internal::Route;
using internal::SendError;
using internal::SendStatus;
using internal::ServerState;

namespace {

using Steady = std::chrono::steady_clock;

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr a4{};
  if (::inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (::inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

// What the log says of one request; set by the dispatcher, read by the logger on the same
// thread once the answer is written.
struct LogNote {
  Steady::time_point start;
  std::string route;  // the template, never the path itself (ids only, but no query string)
  std::string user;
};
thread_local LogNote tls_note;

std::string Cookie(const httplib::Request& req, const char* name) {
  const std::string header = req.get_header_value("Cookie");
  const std::string key = std::string(name) + "=";
  size_t pos = 0;
  while (pos < header.size()) {
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == ';')) ++pos;
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    if (header.compare(pos, key.size(), key) == 0) {
      return header.substr(pos + key.size(), end - pos - key.size());
    }
    pos = end;
  }
  return "";
}

bool ChangesState(const std::string& method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

IdKind KindFor(Object o) {
  switch (o) {
    case Object::kPatient:
    case Object::kPatientAccess:
      return IdKind::kPatient;
    case Object::kCase:
    case Object::kCaseUpload:
      return IdKind::kCase;
    case Object::kJob:
      return IdKind::kJob;
    case Object::kDocument:
      return IdKind::kDocument;
    case Object::kSeries:
      return IdKind::kSeries;
    case Object::kClinic:
      return IdKind::kClinic;
    case Object::kConsent:
      return IdKind::kConsent;
    case Object::kRequest:
      return IdKind::kRequest;
    case Object::kExport:
      return IdKind::kExport;
    case Object::kUser:
      return IdKind::kUser;
    case Object::kNone:
      break;
  }
  return IdKind::kUnknown;
}

std::string PatternOf(const std::string& path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path.compare(i, 4, "{id}") == 0) {
      out += "([^/]+)";
      i += 3;
    } else if (path.compare(i, 5, "{sub}") == 0) {
      out += "([^/]+)";
      i += 4;
    } else {
      out += path[i];
    }
  }
  return out;
}

const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

}  // namespace

Status CheckServeOptions(const ServeOptions& o) {
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return InvalidArgument("--tls-cert and --tls-key go together: give both, or neither");
  }
  if (o.port < 0 || o.port > 65535) return InvalidArgument("--listen: the port must be 0 to 65535");
  if (o.tls_cert.empty() && !o.insecure_http && !IsLoopback(o.host)) {
    return InvalidArgument(
        "--listen " + o.host +
        ": only loopback is served without TLS. Give --tls-cert and --tls-key, or, behind a "
        "TLS proxy, --insecure-http");
  }
  if (o.threads < 4 || o.long_requests == 0 || o.long_requests + 2 > o.threads) {
    return InvalidArgument("the server needs at least 4 threads, two more than long requests");
  }
  return Status::Ok();
}

namespace internal {

std::shared_ptr<void> Slots::TryTake() {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_ == 0) return nullptr;
  --free_;
  static int held;  // any non-null address: the slot is the deleter
  return std::shared_ptr<void>(&held, [this](void*) {
    std::lock_guard<std::mutex> l(mu_);
    ++free_;
  });
}

ServerState::ServerState(ServeOptions o, const Clock& c)
    : options(std::move(o)),
      clock(c),
      sessions(c, options.session_idle, options.session_absolute),
      guard(c, LoginGuard::Limits{options.failures_per_name, options.lock,
                                  options.failures_per_address, options.lock}),
      long_slots(options.long_requests),
      tls(!options.tls_cert.empty()) {}

std::string ServerState::ClientAddress(const httplib::Request& req) const {
  if (options.trust_proxy) {
    const std::string xff = req.get_header_value("X-Forwarded-For");
    if (!xff.empty()) {
      size_t comma = xff.rfind(',');
      std::string last = xff.substr(comma == std::string::npos ? 0 : comma + 1);
      last.erase(0, last.find_first_not_of(' '));
      last.erase(last.find_last_not_of(' ') + 1);
      if (!last.empty() && last.size() <= 64) return last;
    }
  }
  return req.remote_addr;
}

std::string ServerState::SessionCookie(const std::string& token) const {
  std::string c = std::string(kSessionCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict";
  if (tls || options.insecure_http) c += "; Secure";
  if (token.empty()) c += "; Max-Age=0";
  return c;
}

}  // namespace internal

struct Server::Impl {
  vault::Vault& vault;
  std::unique_ptr<ServerState> state;
  std::unique_ptr<httplib::Server> http;
  int port = 0;
  std::shared_ptr<std::atomic<bool>> finished = std::make_shared<std::atomic<bool>>(false);
  std::atomic<bool> run_called{false};
  std::function<void(const std::string&)> log;
  // Uploads: the spool, the jobs that ingest them, and the janitor that expires what is left.
  std::unique_ptr<internal::Spool> spool;
  std::unique_ptr<internal::Jobs> jobs;
  std::unique_ptr<internal::Uploads> uploads;
  std::thread janitor;
  std::mutex janitor_mu;
  std::condition_variable janitor_cv;
  bool janitor_stop = false;

  Status StartUploads() {
    const ServeOptions& o = state->options;
    if (o.spool_dir.empty()) return InvalidArgument("the server needs a spool folder for uploads");
    DOSSIER_ASSIGN_OR_RETURN(spool, internal::Spool::Open(o.spool_dir));
    jobs = std::make_unique<internal::Jobs>(state->clock, o.keep_jobs);
    internal::Uploads::Options u;
    u.limits = {{vault::Role::kPatient, o.patient_uploads},
                {vault::Role::kRepresentative, o.patient_uploads},
                {vault::Role::kManager, o.manager_uploads}};
    u.expiry = o.upload_expiry;
    u.batch_idle = o.batch_idle;
    u.arriving_min_bytes = o.arriving_min_bytes;
    u.arriving_stall = o.arriving_stall;
    u.ingest = o.ingest;
    uploads = std::make_unique<internal::Uploads>(vault, *spool, *jobs, state->clock, std::move(u));
    state->spool = spool.get();
    state->jobs = jobs.get();
    state->uploads = uploads.get();
    DOSSIER_RETURN_IF_ERROR(internal::KeepExports(vault, *state));
    janitor = std::thread([this, every = o.janitor_interval] {
      std::unique_lock<std::mutex> lock(janitor_mu);
      while (!janitor_cv.wait_for(lock, every, [this] { return janitor_stop; })) {
        lock.unlock();
        uploads->Tick();
        internal::ExpireExports(vault, *state);
        lock.lock();
      }
    });
    return Status::Ok();
  }

  // After the last request: open batches are ingested with what is complete, unfinished
  // uploads deleted, and every job run to its end.
  void StopUploads() {
    if (!uploads) return;
    {
      std::lock_guard<std::mutex> lock(janitor_mu);
      janitor_stop = true;
    }
    janitor_cv.notify_all();
    if (janitor.joinable()) janitor.join();
    uploads->Shutdown();
    if (const size_t n = jobs->pending(); n > 0) {
      log(fmt::format("finishing {} ingest job{} of finished uploads", n, n == 1 ? "" : "s"));
    }
    jobs->Drain();
  }

  ~Impl() { StopUploads(); }

  Impl(vault::Vault& v, ServeOptions o)
      : vault(v), state(std::make_unique<ServerState>(o, o.clock ? *o.clock : Clock::System())) {
    log = o.log ? o.log : [](const std::string& line) {
      std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
    };
  }

  void Refuse(httplib::Response& res, ApiError e, const std::string& message,
              const std::string& action, std::vector<std::string> objects,
              const std::string& patient, const std::string& reason) {
    // A refusal is on record before it is answered; if it cannot be, the answer says so.
    Status st = vault.RecordAccessEvent(action, std::move(objects), patient, "refused", reason);
    if (!st.ok()) {
      SendStatus(res, st);
      return;
    }
    SendError(res, e, message);
  }

  void Dispatch(const Route& r, const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader* body) {
    tls_note.route = r.path;
    ServerState& s = *state;
    std::optional<Principal> who;
    vault::ActingAs anonymous(vault, {"anonymous", "anonymous"});
    if (r.roles != 0) {
      const std::string token = Cookie(req, internal::kSessionCookie);
      auto session = s.sessions.Use(token);
      if (!session) {
        Refuse(res, ApiError::kUnauthenticated,
               "sign in first: no session, or it ended (30 minutes unused, or 12 hours after "
               "signing in)",
               "access.unauthenticated", {}, "", token.empty() ? "no_session" : "expired");
        return;
      }
      auto user = vault.GetUser(session->user_id);
      if (!user.ok() || user->disabled) {
        s.sessions.Remove(token);
        if (!user.ok() && user.status().code() != StatusCode::kNotFound) {
          SendStatus(res, user.status());
          return;
        }
        Refuse(res, ApiError::kUnauthenticated,
               "this account is disabled: ask the coordinator's office", "access.unauthenticated",
               {session->user_id}, "", "disabled");
        return;
      }
      who = Principal{std::move(user).value(), token, session->csrf};
      tls_note.user = who->user.id;
    }
    std::optional<vault::ActingAs> acting;
    if (who)
      acting.emplace(vault,
                     vault::Actor{who->user.id, std::string(vault::RoleName(who->user.role))});
    if (who && ChangesState(req.method) &&
        !internal::SameToken(req.get_header_value("X-CSRF-Token"), who->csrf)) {
      Refuse(res, ApiError::kCsrf,
             "this request needs the X-CSRF-Token the sign-in answered: reload the page",
             "access.refused", {}, who->user.patient_id, "csrf");
      return;
    }
    if (who && (r.roles & internal::BitOf(who->user.role)) == 0) {
      Refuse(res, ApiError::kForbidden,
             fmt::format("an account with the role {} may not use this",
                         vault::RoleName(who->user.role)),
             "access.refused", {}, "", "role");
      return;
    }
    Call call{req, res, who ? &*who : nullptr, vault, s, "", {}, "", "", body, nullptr};
    if (req.matches.size() > 2) call.sub = req.matches[2];
    if (r.object == Object::kJob) {
      call.id = req.matches[1];
      const std::string missing = "no job " + call.id.substr(0, 64) +
                                  " (jobs are forgotten a day after they end, and when the "
                                  "server restarts)";
      call.job = KindOfId(call.id) == IdKind::kJob ? s.jobs->Find(call.id) : nullptr;
      if (!call.job) {
        SendError(res, ApiError::kNotFound, missing);
        return;
      }
      if (!internal::MayFollowJob(who->user, *call.job)) {
        Refuse(res, ApiError::kNotFound, missing, "access.refused", {call.id},
               call.job->owner().patient_id, "not_theirs");
        return;
      }
    } else if (r.object != Object::kNone) {
      call.id = req.matches[1];
      const IdKind want = KindFor(r.object);
      if (KindOfId(call.id) != want) {
        SendError(res, ApiError::kInvalidInput,
                  fmt::format("the path needs a {} id ({}…)", IdKindName(want), IdPrefix(want)));
        return;
      }
      const std::string missing = fmt::format("no {} {}", IdKindName(want), call.id);
      if (r.object == Object::kClinic) {  // nobody's: the handler finds it
        Status st = r.handler(call);
        if (!st.ok()) Fail(res, st, call.id, "");
        return;
      }
      auto owner = vault.OwnerOf(call.id);
      if (!owner.ok()) {
        if (owner.status().code() == StatusCode::kNotFound) {
          SendError(res, ApiError::kNotFound, missing);
        } else {
          Fail(res, owner.status(), call.id, "");
        }
        return;
      }
      if (!internal::MaySee(who->user, r.object, *owner)) {
        // The same answer as for an id that does not exist; the attempt is on record.
        Refuse(res, ApiError::kNotFound, missing, "access.refused", {call.id}, owner->patient_id,
               "not_theirs");
        return;
      }
      call.owner = std::move(owner).value();
    }
    Status st = r.handler(call);
    if (!call.signed_in.empty()) tls_note.user = call.signed_in;
    if (!st.ok()) Fail(res, st, call.id, call.owner.patient_id);
  }

  void Fail(httplib::Response& res, const Status& st, const std::string& id,
            const std::string& patient) {
    if (st.code() == StatusCode::kCorrupt) {
      std::vector<std::string> objects;
      if (!id.empty()) objects.push_back(id);
      (void)vault.RecordAccessEvent("server.integrity", objects, patient, "failed",
                                    StatusCodeId(st.code()));
    }
    SendStatus(res, st);
  }

  // Routes that read their own body, by method and path pattern.
  std::vector<std::pair<std::string, std::regex>> stream_routes;

  // Routes that take a form (a consent with its scan): a larger body, read whole.
  std::vector<std::pair<std::string, std::regex>> form_routes;

  static bool Matches(const std::vector<std::pair<std::string, std::regex>>& routes,
                      const httplib::Request& req) {
    for (const auto& [method, re] : routes) {
      if (method == req.method && std::regex_match(req.path, re)) return true;
    }
    return false;
  }
  bool IsStreamRoute(const httplib::Request& req) const { return Matches(stream_routes, req); }
  // The body a route that is not a stream route takes.
  size_t BodyLimit(const httplib::Request& req) const {
    return Matches(form_routes, req) ? state->options.max_form_bytes
                                     : state->options.max_body_bytes;
  }
  // A body longer than the route takes, or of a length not declared in advance.
  bool BodyOverLimit(const httplib::Request& req) const {
    if (req.has_header("Transfer-Encoding")) return true;
    const std::string len = req.get_header_value("Content-Length");
    if (len.empty()) return false;
    if (len.size() > 12 || len.find_first_not_of("0123456789") != std::string::npos) return true;
    return std::stoull(len) > BodyLimit(req);
  }

  void Configure() {
    httplib::Server& svr = *http;
    const ServeOptions& o = state->options;
    const size_t threads = o.threads;
    svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // Upload routes read bodies this large as they arrive; every other route's body is held
    // to max_body_bytes before routing (the pre-routing handler).
    svr.set_payload_max_length(
        std::max({o.max_body_bytes, o.max_form_bytes, o.max_multipart_bytes,
                  o.patient_uploads.per_upload, o.manager_uploads.per_upload}) +
        (1 << 20));
    svr.set_read_timeout(o.read_timeout);
    svr.set_write_timeout(o.write_timeout);
    svr.set_keep_alive_timeout(o.keep_alive_timeout.count());
    svr.set_keep_alive_max_count(100);
    svr.set_tcp_nodelay(true);  // no 40 ms wait on a delayed ACK (connection.cc says why)
    httplib::Headers headers = {
        {"Content-Security-Policy", kContentSecurityPolicy},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"Cache-Control", "no-store"},
        {"X-Frame-Options", "DENY"},
    };
    if (state->tls) headers.emplace("Strict-Transport-Security", "max-age=31536000");
    svr.set_default_headers(headers);
    svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      tls_note = LogNote{Steady::now(), "-", ""};
      // No answer is compressed. Debian's httplib would compress every text and JSON answer
      // for a client that accepts it, brotli first — every browser does: a page of a listing
      // took 210 ms instead of 4 ms, a 6 MB listing seconds (doc/PERFORMANCE.md). And an
      // answer that holds a secret beside what a request put in it must not be compressed
      // (BREACH). httplib reads the request's header when it writes the answer: dropped here.
      const_cast<httplib::Headers&>(req.headers).erase("Accept-Encoding");
      if (state->stopping.load()) {
        SendError(res, ApiError::kUnavailable,
                  "the server is shutting down: try again in a minute");
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      }
      size_t bytes = 0;
      for (const auto& [k, v] : req.headers) bytes += k.size() + v.size() + 4;
      if (req.headers.size() > state->options.max_headers ||
          bytes > state->options.max_header_bytes) {
        SendError(res, ApiError::kTooLarge, "the request's headers are over the server's limit");
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (!IsStreamRoute(req) && BodyOverLimit(req)) {
        SendError(res, ApiError::kTooLarge,
                  fmt::format("the request body is over the server's limit of {} KiB",
                              BodyLimit(req) / 1024));
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    for (const Route& r : internal::Routes()) {
      const std::string pattern = PatternOf(r.path);
      auto handler = [this, &r](const httplib::Request& req, httplib::Response& res) {
        Dispatch(r, req, res, nullptr);
      };
      const std::string method = r.method;
      if (r.load == internal::Load::kForm) form_routes.emplace_back(method, std::regex(pattern));
      if (r.load == internal::Load::kStream) {
        // The body is read by the handler as it arrives; a request without one (an empty
        // PATCH) reaches the plain handler.
        auto reader = [this, &r](const httplib::Request& req, httplib::Response& res,
                                 const httplib::ContentReader& body) {
          Dispatch(r, req, res, &body);
          // Whatever of the body the handler did not read must not be taken for the next
          // request on this connection.
          if (res.status >= 400) res.set_header("Connection", "close");
        };
        stream_routes.emplace_back(method, std::regex(pattern));
        if (method == "POST") svr.Post(pattern, reader);
        if (method == "PATCH") svr.Patch(pattern, reader);
      }
      if (method == "GET")
        svr.Get(pattern, handler);
      else if (method == "POST")
        svr.Post(pattern, handler);
      else if (method == "PATCH")
        svr.Patch(pattern, handler);
      else if (method == "DELETE")
        svr.Delete(pattern, handler);
      else if (method == "OPTIONS")
        svr.Options(pattern, handler);
    }
    svr.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&,
                                                                      httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      switch (res.status) {
        case 404:
        case 405:
          SendError(res, ApiError::kNotFound, "no such route in the API (doc/API.md lists them)");
          break;
        case 413:
          SendError(res, ApiError::kTooLarge,
                    fmt::format("the request body is over the server's limit of {} KiB",
                                state->options.max_body_bytes / 1024));
          break;
        case 414:
        case 431:
          SendError(res, ApiError::kTooLarge, "the request's address or headers are too long");
          break;
        case 503:
          SendError(res, ApiError::kUnavailable, "the server is busy: try again in a minute");
          break;
        default:
          if (res.status >= 500) {
            SendStatus(res, Internal("httplib"));
          } else {
            SendError(res, ApiError::kInvalidInput, "the request is malformed");
          }
      }
      return httplib::Server::HandlerResponse::Handled;
    }));
    svr.set_exception_handler(
        [this](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
          SendStatus(res, Internal("an exception in a handler"));
          tls_note.route += " (exception)";
        });
    svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - tls_note.start);
      log(fmt::format("{} {} {} {} {} {}ms", FormatUtc(state->clock.Now()), req.method,
                      tls_note.route, res.status, tls_note.user.empty() ? "-" : tls_note.user,
                      ms.count()));
      if (state->options.on_answer) {
        AnswerRecord answer{req.method, tls_note.route, res.status, {}, res.body};
        answer.headers.assign(res.headers.begin(), res.headers.end());
        state->options.on_answer(answer);
      }
      // An answer httplib gives before the pre-routing handler runs (a malformed request) must
      // not be logged under this request's route.
      tls_note = LogNote{Steady::now(), "-", ""};
    });
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() {
  if (impl_ && impl_->http->is_running()) Stop();
  if (impl_) impl_->StopUploads();
}

Result<std::unique_ptr<Server>> Server::Create(vault::Vault& vault, ServeOptions options) {
  DOSSIER_RETURN_IF_ERROR(CheckServeOptions(options));
  auto impl = std::make_unique<Impl>(vault, options);
  if (!options.tls_cert.empty()) {
    auto tls =
        std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
    if (!tls->is_valid()) {
      return InvalidArgument("cannot load the TLS certificate " + options.tls_cert + " or key " +
                             options.tls_key +
                             ": check that both are PEM files and belong together");
    }
    impl->http = std::move(tls);
  } else {
    impl->http = std::make_unique<internal::BufferedServer>();
  }
  DOSSIER_RETURN_IF_ERROR(impl->StartUploads());
  impl->Configure();
  if (options.port == 0) {
    impl->port = impl->http->bind_to_any_port(options.host);
    if (impl->port < 0) return IoError("cannot listen on " + options.host + ": check --listen");
  } else {
    if (!impl->http->bind_to_port(options.host, options.port)) {
      return IoError(fmt::format(
          "cannot listen on {}:{}: another program may use the port; choose another with --listen",
          options.host, options.port));
    }
    impl->port = options.port;
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

int Server::port() const { return impl_->port; }

Status Server::Run() {
  impl_->run_called.store(true);
  if (impl_->state->stopping.load()) {  // stopped before it listened
    impl_->finished->store(true);
    impl_->StopUploads();
    return Status::Ok();
  }
  const bool ok = impl_->http->listen_after_bind();
  impl_->finished->store(true);
  impl_->StopUploads();
  if (!ok && !impl_->state->stopping.load()) return IoError("the server stopped listening");
  return Status::Ok();
}

void Server::Stop() {
  if (impl_->state->stopping.exchange(true)) return;
  // Requests in flight get shutdown_grace; then the process leaves without them (the vault's
  // WAL keeps the catalog whole).
  auto finished = impl_->finished;
  auto log = impl_->log;
  const auto grace = impl_->state->options.shutdown_grace;
  if (impl_->run_called.load()) {  // a server that never ran has nothing in flight
    std::thread([finished, log, grace] {
      const auto until = Steady::now() + grace;
      while (Steady::now() < until) {
        if (finished->load()) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (finished->load()) return;
      log("requests still running after the shutdown grace: leaving without them");
      std::_Exit(5);
    }).detach();
  }
  // httplib's stop() does nothing before its listening loop runs: wait for that, unless Run
  // was never called (it then sees `stopping` and returns at once).
  while (!finished->load()) {
    if (impl_->http->is_running()) {
      impl_->http->stop();
      break;
    }
    if (!impl_->run_called.load()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace dossier::server
