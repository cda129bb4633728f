// `dossier serve` as an operator runs it: the real binary, a vault the CLI filled, a real
// client on loopback. The API answers the same JSON as the CLI's --json; SIGTERM stops it
// cleanly; the vault and its audit log verify afterwards.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "common/encoding.h"
#include "tests/test_util.h"

namespace dossier {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kPassword = "long enough password 1";

class ServeCliTest : public testing::CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    ASSERT_EQ(Run({"init"}).exit_code, 0);
    patient_ =
        Json({"patient", "add", "--name", "Иванова Анна", "--birth-date", "1980-02-03"})["id"];
    other_ = Json({"patient", "add", "--name", "Петров Иван", "--birth-date", "1975-05-06"})["id"];
    case_ = Json({"case", "open", "--patient", patient_, "--goal", "second opinion"})["id"];
    other_case_ = Json({"case", "open", "--patient", other_, "--goal", "treatment"})["id"];
    testing::RunResult in = Run({"ingest", "--case", case_,
                                 std::string(DOSSIER_SAMPLES_DIR) + "/upload/mri-conclusion.jpg",
                                 (testing::kPydicomFiles / "CT_small.dcm").string()});
    ASSERT_EQ(in.exit_code, 0) << in.err;
    testing::WriteFile(dir_ / "pw", std::string(kPassword) + "\n");
    for (const auto& [name, role, patient] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"manager@clinic", "manager", ""},
             {"anna@example.org", "patient", patient_},
             {"ivan@example.org", "patient", other_}}) {
      std::vector<std::string> args = {
          "user", "add", name, "--role", role, "--password-file", (dir_ / "pw").string()};
      if (!patient.empty()) args.insert(args.end(), {"--patient", patient});
      testing::RunResult r = Run(args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    CliTestBase::TearDown();
  }

  // Starts `dossier serve --listen 127.0.0.1:0` and reads the port it says it serves on.
  void Serve(std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), more.begin(), more.end());
    pid_ = testing::SpawnDossier(vault_, pass_, args, dir_ / "serve.out");
    log_ = dir_ / "serve.out.err";  // what it says, and the request log
    const std::regex served(R"(at http://127\.0\.0\.1:(\d+)/)");
    for (int i = 0; i < 600 && port_ == 0; ++i) {
      std::smatch m;
      const std::string text = testing::ReadFile(log_);
      if (std::regex_search(text, m, served)) port_ = std::stoi(m[1]);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_NE(port_, 0) << testing::ReadFile(log_);
  }

  // SIGTERM, then the exit code.
  int Stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  httplib::Headers SignIn(const std::string& name) {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Post("/api/session", json{{"username", name}, {"password", kPassword}}.dump(),
                    "application/json");
    EXPECT_TRUE(r && r->status == 200);
    const std::string cookie = r->get_header_value("Set-Cookie");
    return {{"Cookie", cookie.substr(0, cookie.find(';'))}};
  }

  json GetJson(const std::string& path, const httplib::Headers& h, int want = 200) {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Get(path, h);
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, want) << path << ": " << r->body;
    return json::parse(r->body, nullptr, false);
  }

  std::string patient_, other_, case_, other_case_;
  pid_t pid_ = -1;
  int port_ = 0;
  fs::path log_;
};

TEST_F(ServeCliTest, TheApiAnswersWhatTheCliPrintsAndStopsCleanlyOnSigterm) {
  const json docs = Json({"docs", "--case", case_});
  const json cases = Json({"case", "list"});
  const json series = Json({"dicom", "list", "--case", case_});
  ASSERT_EQ(series.size(), 1u);
  const std::string series_id = series[0]["id"];
  std::string doc_id;
  for (const auto& d : docs) {
    if (d.value("kind", "") == "jpeg") doc_id = d["id"];
  }
  ASSERT_FALSE(doc_id.empty()) << docs.dump();
  const json doc = Json({"docs", "show", doc_id});
  Serve();
  const httplib::Headers m = SignIn("manager@clinic");
  EXPECT_EQ(GetJson("/api/cases/" + case_ + "/documents", m), docs);
  EXPECT_EQ(GetJson("/api/cases", m), cases);
  EXPECT_EQ(GetJson("/api/cases/" + case_ + "/series", m), series);
  EXPECT_EQ(GetJson("/api/documents/" + doc_id, m), doc);
  // The series' preview: a PNG for whoever may see the case, as a missing one for others.
  httplib::Client c("127.0.0.1", port_);
  auto png = c.Get("/api/series/" + series_id + "/preview", SignIn("anna@example.org"));
  ASSERT_TRUE(png);
  EXPECT_EQ(png->status, 200);
  EXPECT_EQ(png->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(png->body.substr(1, 3), "PNG");
  const json hidden =
      GetJson("/api/series/" + series_id + "/preview", SignIn("ivan@example.org"), 404);
  EXPECT_EQ(hidden["message"], "no DICOM series " + series_id);
  EXPECT_EQ(Stop(), 0);
  const std::string log = testing::ReadFile(log_);
  EXPECT_NE(log.find("dossier: stopping: finishing the requests in flight (up to 30 s)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("dossier: stopped; the vault is closed"), std::string::npos) << log;
  EXPECT_EQ(log.find("Иванова"), std::string::npos);
  // Nothing half-done: the vault and its log verify, and the server's run is on record.
  testing::RunResult verify = Run({"vault", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  testing::RunResult audit = Run({"audit", "verify"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  const json events = Json({"audit", "log", "--action", "server."});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["action"], "server.start");
  EXPECT_EQ(events[1]["action"], "server.stop");
}

TEST_F(ServeCliTest, PlainHttpBeyondLoopbackIsRefusedBeforeTheVaultIsOpened) {
  testing::RunResult r = Run({"serve", "--listen", "0.0.0.0:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "dossier: --listen 0.0.0.0: only loopback is served without TLS. Give --tls-cert and "
            "--tls-key, or, behind a TLS proxy, --insecure-http\n");
  testing::RunResult port = Run({"serve", "--listen", "127.0.0.1:99999"});
  EXPECT_EQ(port.exit_code, 1);
  EXPECT_EQ(port.err,
            "dossier: --listen 127.0.0.1:99999: the port must be a number from 0 to 65535\n");
}

// SIGTERM in the middle of uploads (issue 20): what was finished is stored — a file alone, and
// the complete files of a batch nobody closed — what was not is dropped, and nothing is left
// in the spool; the vault and its audit log verify.
TEST_F(ServeCliTest, OnSigtermFinishedUploadsAreStoredAndUnfinishedOnesDropped) {
  Serve();
  httplib::Client c("127.0.0.1", port_);
  auto r =
      c.Post("/api/session", json{{"username", "anna@example.org"}, {"password", kPassword}}.dump(),
             "application/json");
  ASSERT_TRUE(r && r->status == 200);
  const std::string cookie =
      r->get_header_value("Set-Cookie").substr(0, r->get_header_value("Set-Cookie").find(';'));
  const std::string csrf = json::parse(r->body)["csrf"];
  auto upload = [&](const std::string& name, const std::string& batch, const std::string& bytes,
                    size_t send) {
    std::string meta = "filename " + ToBase64(AsBytes(name));
    if (!batch.empty()) meta += ",batch " + ToBase64(AsBytes(batch));
    httplib::Headers h = {{"Cookie", cookie},
                          {"X-CSRF-Token", csrf},
                          {"Tus-Resumable", "1.0.0"},
                          {"Upload-Length", std::to_string(bytes.size())},
                          {"Upload-Metadata", meta}};
    auto created = c.Post("/api/cases/" + case_ + "/tus/", h, "", "text/plain");
    EXPECT_TRUE(created && created->status == 201);
    if (!created) return;
    h.erase("Upload-Length");
    h.erase("Upload-Metadata");
    h.emplace("Upload-Offset", "0");
    auto sent = c.Patch(created->get_header_value("Location"), h, bytes.substr(0, send),
                        "application/offset+octet-stream");
    EXPECT_TRUE(sent && sent->status == 204);
  };
  upload("alone.txt", "", "finished alone\n", 15);
  upload("batch.txt", "b1", "finished in a batch\n", 20);
  upload("half.txt", "", "UNFINISHED-CANARY half of it\n", 10);
  EXPECT_EQ(Stop(), 0);
  const std::string log = testing::ReadFile(log_);
  EXPECT_NE(log.find("dossier: stopped; the vault is closed"), std::string::npos) << log;
  std::set<std::string> names;
  for (const auto& d : Json({"docs", "--case", case_})) names.insert(d.value("name", ""));
  EXPECT_EQ(names.count("alone.txt"), 1u);
  EXPECT_EQ(names.count("batch.txt"), 1u);
  EXPECT_EQ(names.count("half.txt"), 0u);
  size_t left = 0;
  for (const auto& e : fs::recursive_directory_iterator(vault_ / "spool"))
    left += e.is_regular_file();
  EXPECT_EQ(left, 0u);
  testing::RunResult verify = Run({"vault", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  testing::RunResult audit = Run({"audit", "verify"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
}

// The real tus-js-client (web/, from npm), as the portal will use it: 1 MiB PATCHes, aborted
// halfway and resumed from the server's offset; the stored document is the file.
TEST_F(ServeCliTest, TusJsClientUploadsAbortsAndResumesToAnIdenticalDocument) {
  Serve();
  const fs::path root = fs::path(DOSSIER_SAMPLES_DIR).parent_path();
  ASSERT_TRUE(fs::exists(root / "web/node_modules/tus-js-client"))
      << "run scripts/install-deps.sh: it installs web/'s npm packages";
  const fs::path file = dir_ / "scan.bin";
  std::string bytes;
  for (int i = 0; bytes.size() < 5 * 1024 * 1024; ++i) bytes += "line " + std::to_string(i) + "\n";
  testing::WriteFile(file, bytes);
  const std::string cmd = "node " + (root / "tests/web/tus_upload.mjs").string() +
                          " http://127.0.0.1:" + std::to_string(port_) + " " + case_ +
                          " anna@example.org " + (dir_ / "pw").string() + " " + file.string() +
                          " 'scans/scan.bin' > " + (dir_ / "node.out").string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string out = testing::ReadFile(dir_ / "node.out");
  ASSERT_EQ(rc, 0) << out;
  const json result = json::parse(out, nullptr, false);
  EXPECT_EQ(result["status"], "stored") << out;
  EXPECT_EQ(result["path"], "scans/scan.bin");
  EXPECT_EQ(result["size"], bytes.size());
  EXPECT_EQ(Stop(), 0);
}

// The administrator sets a role's upload size when starting the server; the refusal says it.
TEST_F(ServeCliTest, TheUploadLimitIsTheOneTheServerWasStartedWith) {
  testing::RunResult bad = Run({"serve", "--patient-max-upload", "lots"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err,
            "dossier: --patient-max-upload: `lots` is not a size: write e.g. 25MB (25,000,000 "
            "bytes, as mail providers count), 18MiB or 18M (18 × 2^20 bytes), 1.5G, or a number "
            "of bytes such as 500000\n");
  Serve({"--patient-max-upload", "1.5kB"});
  httplib::Client c("127.0.0.1", port_);
  auto r =
      c.Post("/api/session", json{{"username", "anna@example.org"}, {"password", kPassword}}.dump(),
             "application/json");
  ASSERT_TRUE(r && r->status == 200);
  const std::string set = r->get_header_value("Set-Cookie");
  httplib::Headers h = {{"Cookie", set.substr(0, set.find(';'))},
                        {"X-CSRF-Token", json::parse(r->body)["csrf"].get<std::string>()},
                        {"Tus-Resumable", "1.0.0"},
                        {"Upload-Length", "2000"},
                        {"Upload-Metadata", "filename " + ToBase64(AsBytes(std::string("a.bin")))}};
  auto created = c.Post("/api/cases/" + case_ + "/tus/", h, "", "text/plain");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 413);
  EXPECT_EQ(json::parse(created->body)["message"],
            "this upload is 2 kB; the limit for patients is 1.5 kB — ask your manager");
  EXPECT_EQ(Stop(), 0);
}

}  // namespace
}  // namespace dossier
