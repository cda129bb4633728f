// The fixture of the server's tests: a vault with two patients, their cases and documents,
// an account of every role, and `dossier serve`'s server on a free loopback port, with an
// injected clock and the request log kept in memory.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>

#include "common/encoding.h"
#include "server/server.h"
#include "tests/test_util.h"
#include "vault/audit.h"
#include "vault/vault.h"

namespace dossier::servertest {

using nlohmann::json;
using testing::kPassphrase;

class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void Advance(std::chrono::seconds s) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += s;
  }

 private:
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point now_ =
      std::chrono::system_clock::time_point(std::chrono::seconds(1795000000));
};

constexpr const char* kPassword = "long enough password 1";

struct Answer {
  int status = 0;
  json body;
  std::string raw;
  httplib::Headers headers;
  std::string Header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? "" : it->second;
  }
};

// A signed-in client: its cookie and CSRF token.
struct Who {
  std::string cookie, csrf, user;
};

class ServerTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    const vault::Actor op{"t", "operator"};
    ASSERT_TRUE(vault::Vault::Create(dir_ / "vault", kPassphrase, op).ok());
    auto v = vault::Vault::Open(dir_ / "vault", kPassphrase, op);
    ASSERT_TRUE(v.ok()) << v.status().message();
    v_ = std::move(v).value();
    pat_a_ = *v_->AddPatient({"Кузнецова Мария", "1985-07-12", "", ""});
    pat_b_ = *v_->AddPatient({"Орлов Пётр", "1970-01-02", "", ""});
    case_a_ = *v_->OpenCase(pat_a_, "second opinion", "");
    case_b_ = *v_->OpenCase(pat_b_, "second opinion", "");
    doc_a_ = Store(case_a_, "epicrisis.pdf", "%PDF-1.4 the epicrisis of A");
    reply_a_ = Store(case_a_, "answer.pdf", "%PDF-1.4 the clinic's answer to A");
    ASSERT_TRUE(v_->SetCategory(reply_a_, "clinic-reply").ok());
    doc_b_ = Store(case_b_, "epicrisis.pdf", "%PDF-1.4 the epicrisis of B");
    vault::PageRecord page{1, "printed", 0.97, 0, "text layer", "{}", "Заключение: норма"};
    ASSERT_TRUE(v_->SetAnalysis(doc_a_, "printed", 1, {page}).ok());
    ASSERT_TRUE(v_->SetAnalysis(doc_b_, "printed", 1, {page}).ok());
    AddUser("manager@clinic", vault::Role::kManager);
    AddUser("compliance@clinic", vault::Role::kCompliance);
    AddUser("admin@clinic", vault::Role::kAdmin);
    AddUser("maria@example.org", vault::Role::kPatient, pat_a_);
    AddUser("petr@example.org", vault::Role::kPatient, pat_b_);
    AddUser("son@example.org", vault::Role::kRepresentative, pat_a_, {true, false, false});
    AddUser("daughter@example.org", vault::Role::kRepresentative, pat_a_, {false, false, true});
    StartServer();
  }

  void TearDown() override {
    StopServer();
    ExpectAnswersKeepTheContract();
    v_.reset();
    TempDirTest::TearDown();
  }

  // Every answer this test received, against doc/openapi.yaml (tests/api/contract.mjs): a route
  // the document does not describe, or an answer that does not match it, fails the test.
  void ExpectAnswersKeepTheContract() {
    std::string lines;
    {
      std::lock_guard<std::mutex> lock(answers_mu_);
      lines.swap(answers_);
    }
    if (lines.empty()) return;
    const std::filesystem::path file = dir_ / "answers.jsonl";
    testing::WriteFile(file, lines);
    const auto [rc, out] = Contract("--answers " + file.string());
    EXPECT_EQ(rc, 0) << out;
  }

  // tests/api/contract.mjs with `args`: its exit status and what it printed.
  std::pair<int, std::string> Contract(const std::string& args) {
    const std::filesystem::path root = std::filesystem::path(DOSSIER_SAMPLES_DIR).parent_path();
    const std::filesystem::path out = dir_ / "contract.out";
    const std::string cmd = "node " + (root / "tests/api/contract.mjs").string() + " --spec " +
                            (root / "doc/openapi.yaml").string() + " " + args + " > " +
                            out.string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, testing::ReadFile(out)};
  }

  std::string Store(const std::string& case_id, const std::string& name, const std::string& data) {
    auto w = v_->BeginDocument({case_id, name, "pdf"});
    EXPECT_TRUE(w.ok()) << w.status().message();
    EXPECT_TRUE((*w)->Write(AsBytes(data)).ok());
    auto out = (*w)->Commit();
    EXPECT_TRUE(out.ok()) << out.status().message();
    return out->doc_id;
  }

  void AddUser(const std::string& name, vault::Role role, const std::string& patient = "",
               vault::Rights rights = {}) {
    auto id = v_->AddUser(name, role, kPassword, patient, rights);
    ASSERT_TRUE(id.ok()) << id.status().message();
    users_[name] = *id;
  }

  void StartServer(server::ServeOptions options = {}) {
    options.port = 0;
    if (options.spool_dir.empty()) options.spool_dir = (dir_ / "spool").string();
    if (options.exports_dir.empty()) options.exports_dir = (dir_ / "exports").string();
    options.ingest.worker.program = DOSSIER_BINARY;  // a test binary cannot be its own worker
    options.clock = &clock_;
    options.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_ += line + "\n";
    };
    options.on_answer = [this](const server::AnswerRecord& a) {
      const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
      json headers = json::array();
      for (const auto& [k, v] : a.headers) headers.push_back({k, v});
      const json line = {{"test", info ? info->name() : "?"},
                         {"method", a.method},
                         {"route", a.route},
                         {"status", a.status},
                         {"headers", headers},
                         {"body", a.body}};
      std::lock_guard<std::mutex> lock(answers_mu_);
      answers_ += line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    };
    auto s = server::Server::Create(*v_, options);
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(s).value();
    serving_ = std::thread([this] { EXPECT_TRUE(server_->Run().ok()); });
  }

  void StopServer() {
    if (!server_) return;
    server_->Stop();
    serving_.join();
    server_.reset();
  }

  // A raw TCP connection to the server, for requests written by hand; -1 when it fails.
  // `receive_buffer`, when not 0, is the socket's SO_RCVBUF, set before connecting.
  int Connect(int receive_buffer = 0) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer != 0) {
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(30, 0);
    return c;
  }

  static Answer From(const httplib::Result& r) {
    Answer a;
    if (!r) return a;
    a.status = r->status;
    a.raw = r->body;
    a.headers = r->headers;
    a.body = json::parse(r->body, nullptr, false);
    return a;
  }

  Answer Get(const std::string& path, const Who* who = nullptr) {
    httplib::Headers h;
    if (who) h.emplace("Cookie", who->cookie);
    return From(Client().Get(path, h));
  }
  Answer Delete(const std::string& path, const Who* who, bool csrf = true) {
    httplib::Headers h;
    if (who) h.emplace("Cookie", who->cookie);
    if (who && csrf) h.emplace("X-CSRF-Token", who->csrf);
    return From(Client().Delete(path, h));
  }
  Answer Post(const std::string& path, const std::string& body,
              const std::string& type = "application/json") {
    return From(Client().Post(path, body, type));
  }
  // A write as `who` (with their CSRF token): POST, PATCH or DELETE with a JSON body.
  Answer Send(const std::string& method, const std::string& path, const json& body,
              const Who& who) {
    httplib::Headers h = {{"Cookie", who.cookie}, {"X-CSRF-Token", who.csrf}};
    const std::string text = body.is_null() ? "" : body.dump();
    httplib::Client c = Client();
    if (method == "PATCH") return From(c.Patch(path, h, text, "application/json"));
    if (method == "DELETE") return From(c.Delete(path, h, text, "application/json"));
    return From(c.Post(path, h, text, "application/json"));
  }

  Answer LoginAnswer(const std::string& name, const std::string& password = kPassword) {
    return Post("/api/session", json{{"username", name}, {"password", password}}.dump());
  }

  Who Login(const std::string& name) {
    Answer a = LoginAnswer(name);
    EXPECT_EQ(a.status, 200) << a.raw;
    Who w;
    const std::string set = a.Header("Set-Cookie");
    w.cookie = set.substr(0, set.find(';'));
    w.csrf = a.body.value("csrf", "");
    w.user = a.body.value("user", "");
    return w;
  }

  // The job once it has ended (polled with GET /api/jobs/{id}: the answer that shows it ended
  // is the one returned).
  json Finished(const Who& w, const std::string& job) {
    for (int i = 0; i < 1200; ++i) {
      Answer a = Get("/api/jobs/" + job, &w);
      EXPECT_EQ(a.status, 200) << a.raw;
      if (a.status != 200) return json();
      if (a.body["state"] == "done" || a.body["state"] == "failed") return a.body;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "job " << job << " did not end";
    return json();
  }
  // The request log once it has `lines` lines (the server writes a line after the answer).
  std::string Log(size_t lines) {
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard<std::mutex> lock(log_mu_);
        if (static_cast<size_t>(std::count(log_.begin(), log_.end(), '\n')) >= lines) return log_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_;
  }

  // Audit events of `action`, read in the test's own vault connection.
  std::vector<vault::AuditEvent> Events(const std::string& action) {
    std::vector<vault::AuditEvent> out;
    vault::AuditFilter filter;
    filter.action = action;
    auto events = vault::ReadAuditLog(dir_ / "vault", filter);
    EXPECT_TRUE(events.ok()) << events.status().message();
    if (!events.ok()) return out;
    for (const auto& e : *events) {
      if (e.action == action) out.push_back(e);
    }
    return out;
  }

  FakeClock clock_;
  std::unique_ptr<vault::Vault> v_;
  std::unique_ptr<server::Server> server_;
  std::thread serving_;
  std::mutex log_mu_;
  std::string log_;
  std::mutex answers_mu_;
  std::string answers_;  // what the server answered, one JSON line each (on_answer)
  std::map<std::string, std::string> users_;
  std::string pat_a_, pat_b_, case_a_, case_b_, doc_a_, reply_a_, doc_b_;
};

}  // namespace dossier::servertest
