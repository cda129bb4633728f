// The client side of bench/serve.sh: uploads through tus to a running `dossier serve`, as
// tus-js-client does (create, then PATCHes of PIECE bytes), and waits for the ingest job.
//
//   serve_client one PORT USER PASSWORD_FILE CASE FILE PIECE
//       one upload; prints "upload_s job_s total_s" (the job: from the last PATCH to its end)
//   serve_client many PORT USER PASSWORD_FILE CASE FILE PIECE N SERVER_PID
//       N uploads at once, of FILE with "{}" replaced by 0 … N-1; prints "total_s baseline_rss_kib
//       peak_rss_kib" (the server's VmRSS sampled every 10 ms from after the sign-ins to the last
//       job's end)
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "serve_client: %s\n", what.c_str());
  std::exit(1);
}

struct Session {
  std::string cookie, csrf;
};

Session SignIn(int port, const std::string& user, const std::string& password) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Post("/api/session", json{{"username", user}, {"password", password}}.dump(),
                  "application/json");
  if (!r || r->status != 200) Die("sign-in failed");
  const std::string set = r->get_header_value("Set-Cookie");
  return {set.substr(0, set.find(';')), json::parse(r->body)["csrf"]};
}

std::string Base64(const std::string& s) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(s[i]) << 16) |
                       (static_cast<unsigned char>(s[i + 1]) << 8) |
                       static_cast<unsigned char>(s[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == s.size()) {
    const unsigned v = static_cast<unsigned char>(s[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == s.size()) {
    const unsigned v =
        (static_cast<unsigned char>(s[i]) << 16) | (static_cast<unsigned char>(s[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// One upload: the job's id, and when its last byte was answered.
std::string Upload(int port, const Session& s, const std::string& case_id, const std::string& file,
                   size_t piece, const std::string& name) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) Die("cannot read " + file);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(600, 0);
  c.set_write_timeout(600, 0);
  httplib::Headers h = {{"Cookie", s.cookie},
                        {"X-CSRF-Token", s.csrf},
                        {"Tus-Resumable", "1.0.0"},
                        {"Upload-Length", std::to_string(size)},
                        {"Upload-Metadata", "filename " + Base64(name)}};
  auto created = c.Post("/api/cases/" + case_id + "/tus/", h, "", "text/plain");
  if (!created || created->status != 201) {
    Die("create: " + (created ? created->body : std::string("no answer")));
  }
  const std::string at = created->get_header_value("Location");
  // Each PATCH body streams from the file, as a browser sends a Blob slice: no copy of the
  // whole piece in memory.
  std::string buf(size_t{1} << 20, '\0');
  std::string job;
  for (uint64_t off = 0; off < size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(piece, size - off));
    httplib::Headers p = {{"Cookie", s.cookie},
                          {"X-CSRF-Token", s.csrf},
                          {"Tus-Resumable", "1.0.0"},
                          {"Upload-Offset", std::to_string(off)}};
    auto send = [&](size_t at_piece, size_t length, httplib::DataSink& sink) {
      in.seekg(static_cast<std::streamoff>(off + at_piece));
      const size_t take = std::min(length, buf.size());
      in.read(buf.data(), static_cast<std::streamsize>(take));
      const size_t got = static_cast<size_t>(in.gcount());
      return got > 0 && sink.write(buf.data(), got);
    };
    auto r = c.Patch(at, p, n, send, "application/offset+octet-stream");
    if (!r || r->status != 204) Die("patch: " + (r ? r->body : std::string("no answer")));
    off += n;
    job = r->get_header_value("Dossier-Job");
  }
  if (job.empty()) Die("no job after the last PATCH");
  return job;
}

void WaitJob(int port, const Session& s, const std::string& job) {
  httplib::Client c("127.0.0.1", port);
  for (;;) {
    auto r = c.Get("/api/jobs/" + job, {{"Cookie", s.cookie}});
    if (!r || r->status != 200) Die("job: " + (r ? r->body : std::string("no answer")));
    const json j = json::parse(r->body);
    if (j["state"] == "failed") Die("job failed: " + j["error"].dump());
    if (j["state"] == "done") {
      if (j["result"]["counts"]["rejected"] != 0) Die("rejected: " + j["result"].dump());
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

long RssKib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 8) Die("usage: see the comment at the top of bench/serve_client.cc");
  const std::string mode = argv[1];
  const int port = std::stoi(argv[2]);
  std::ifstream pw(argv[4]);
  std::string password;
  std::getline(pw, password);
  const std::string case_id = argv[5], file = argv[6];
  const size_t piece = std::stoull(argv[7]);
  if (mode == "one") {
    const Session s = SignIn(port, argv[3], password);
    const auto start = Clock::now();
    const std::string job = Upload(port, s, case_id, file, piece, "disc.iso");
    const auto uploaded = Clock::now();
    WaitJob(port, s, job);
    const auto end = Clock::now();
    std::printf("%.2f %.2f %.2f\n", Seconds(start, uploaded), Seconds(uploaded, end),
                Seconds(start, end));
    return 0;
  }
  if (mode == "many" && argc >= 10) {
    const int n = std::stoi(argv[8]);
    const int pid = std::stoi(argv[9]);
    const Session s = SignIn(port, argv[3], password);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // Argon2's memory returned
    const long baseline = RssKib(pid);
    std::atomic<long> peak{baseline};
    std::atomic<bool> done{false};
    std::thread sampler([&] {
      while (!done.load()) {
        peak = std::max(peak.load(), RssKib(pid));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
    const auto start = Clock::now();
    std::vector<std::thread> clients;
    for (int i = 0; i < n; ++i) {
      clients.emplace_back([&, i] {
        std::string f = file;  // "{}" in FILE: each client its own file
        if (auto at = f.find("{}"); at != std::string::npos) f.replace(at, 2, std::to_string(i));
        WaitJob(port, s, Upload(port, s, case_id, f, piece, "part-" + std::to_string(i)));
      });
    }
    for (auto& t : clients) t.join();
    const auto end = Clock::now();
    done = true;
    sampler.join();
    std::printf("%.2f %ld %ld\n", Seconds(start, end), baseline, peak.load());
    return 0;
  }
  Die("unknown mode " + mode);
}
