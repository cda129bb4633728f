// dossier serve: the HTTP API over the vault, until SIGTERM or Ctrl-C.
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <thread>

#include "app/cli.h"
#include "exporter/exporter.h"
#include "server/server.h"

namespace dossier::app {

namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:8080";
  std::string tls_cert, tls_key;
  bool insecure_http = false;
  bool trust_proxy = false;
  std::string patient_max_upload, manager_max_upload;
};

// A role's largest upload from --…-max-upload; the day's bytes grow to hold at least four.
Status SetMaxUpload(const std::string& text, const char* flag, server::UploadLimits* limits) {
  if (text.empty()) return Status::Ok();
  auto size = exporter::ParseSize(text);
  if (!size.ok()) return size.status().WithContext(flag);
  if (*size == 0) return InvalidArgument(std::string(flag) + ": the limit must be above 0");
  limits->per_upload = *size;
  limits->per_day = std::max(limits->per_day, 4 * *size);
  return Status::Ok();
}

// "HOST:PORT", "[v6]:PORT" or ":PORT" (loopback).
Status ParseListen(const std::string& text, server::ServeOptions* o) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgument("--listen " + text + ": give HOST:PORT, e.g. 127.0.0.1:8080");
  }
  std::string host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "127.0.0.1";
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
    return InvalidArgument("--listen " + text + ": the port must be a number from 0 to 65535");
  }
  o->host = host;
  o->port = std::stoi(port);
  return Status::Ok();
}

Status Serve(const Context& ctx, const ServeArgs& args) {
  server::ServeOptions options;
  DOSSIER_RETURN_IF_ERROR(ParseListen(args.listen, &options));
  options.tls_cert = args.tls_cert;
  options.tls_key = args.tls_key;
  options.insecure_http = args.insecure_http;
  options.trust_proxy = args.trust_proxy;
  DOSSIER_RETURN_IF_ERROR(
      SetMaxUpload(args.patient_max_upload, "--patient-max-upload", &options.patient_uploads));
  DOSSIER_RETURN_IF_ERROR(
      SetMaxUpload(args.manager_max_upload, "--manager-max-upload", &options.manager_uploads));
  // Unfinished uploads, encrypted under a key only this process holds (doc/FORMAT.md
  // §Upload spool); ingested as `dossier ingest` would.
  options.spool_dir = (std::filesystem::path(ctx.vault_dir) / "spool").string();
  // Exports' encrypted parts, kept 14 days for the manager to download (doc/API.md §Exports).
  options.exports_dir = (std::filesystem::path(ctx.vault_dir) / "exports").string();
  options.ingest.worker.confinement = ctx.worker_confinement();
  // Documents waiting for the OCR check are held in memory: a server keeps that small.
  options.ingest.ocr_pending_bytes = uint64_t{64} << 20;
  DOSSIER_RETURN_IF_ERROR(server::CheckServeOptions(options));
  // SIGTERM and SIGINT go to one thread, which stops the server; every thread the server
  // starts inherits the blocked mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A client that goes away mid-answer is an error of that request, not of the process
  // (OpenSSL writes with write(2), which raises SIGPIPE).
  ::signal(SIGPIPE, SIG_IGN);
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(auto srv, server::Server::Create(*v, options));
  DOSSIER_RETURN_IF_ERROR(v->RecordAccessEvent("server.start", {}, "", "ok"));
  const std::string scheme = options.tls_cert.empty() ? "http" : "https";
  std::fprintf(stderr,
               "dossier: serving the vault %s at %s://%s:%d/ — stop with Ctrl-C or SIGTERM\n",
               ctx.vault_dir.c_str(), scheme.c_str(), options.host.c_str(), srv->port());
  if (options.insecure_http) {
    std::fprintf(stderr,
                 "dossier: --insecure-http: plain HTTP; only behind a TLS proxy, never on an open "
                 "network\n");
  }
  if (options.trust_proxy) {
    std::fprintf(stderr,
                 "dossier: --trust-proxy: X-Forwarded-For is believed; only behind your own "
                 "proxy\n");
  }
  std::atomic<bool> done{false};
  std::thread stopper([&] {
    const timespec tick{0, 200 * 1000 * 1000};
    while (!done.load()) {
      const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        std::fprintf(stderr,
                     "dossier: stopping: finishing the requests in flight (up to %lld s); "
                     "unfinished uploads are dropped, finished ones stored\n",
                     static_cast<long long>(options.shutdown_grace.count()));
        srv->Stop();
        return;
      }
    }
  });
  Status st = srv->Run();
  done.store(true);
  stopper.join();
  srv.reset();
  Status recorded = v->RecordAccessEvent("server.stop", {}, "", st.ok() ? "ok" : "failed");
  std::fprintf(stderr, "dossier: stopped; the vault is closed\n");
  return st.ok() ? recorded : st;
}

}  // namespace

void AddServeCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ServeArgs>();
  auto* serve = app.add_subcommand(
      "serve",
      "serve the vault over HTTP for the portal and its API (doc/API.md): the vault is\n"
      "unlocked once; patients, representatives, managers, compliance officers and admins\n"
      "sign in with their own accounts (`dossier user add`). Uploads resume after a dropped\n"
      "connection (tus) and are ingested as jobs; until complete they are kept encrypted in\n"
      "the vault's spool/ under a key only the running server holds. Stops on Ctrl-C or\n"
      "SIGTERM after the requests in flight: finished uploads are stored, unfinished ones\n"
      "dropped.\n"
      "  e.g. dossier serve                                   (http://127.0.0.1:8080/)\n"
      "       dossier serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem");
  serve->add_option("--listen", args->listen,
                    "HOST:PORT to listen on (default 127.0.0.1:8080; PORT 0 picks a free one)");
  serve->add_option("--tls-cert", args->tls_cert, "the TLS certificate chain (PEM)");
  serve->add_option("--tls-key", args->tls_key, "its private key (PEM)");
  serve->add_flag("--insecure-http", args->insecure_http,
                  "plain HTTP on an address other than loopback: only behind a TLS proxy");
  serve->add_flag("--trust-proxy", args->trust_proxy,
                  "believe X-Forwarded-For (behind your own proxy): the client's address for\n"
                  "login throttling");
  serve->add_option("--patient-max-upload", args->patient_max_upload,
                    "the largest file a patient or representative may upload (default 5GB; a\n"
                    "dual-layer DVD image needs 9GB); 24 hours allow at least four");
  serve->add_option("--manager-max-upload", args->manager_max_upload,
                    "the largest file a manager may upload (default 20GB)");
  serve->callback([&ctx, args] { ctx.action = [&ctx, args] { return Serve(ctx, *args); }; });
}

}  // namespace dossier::app
