// The manager's, the compliance officer's and the admin's routes over real HTTP (issue 21):
// patients, cases and corrections; clinics, consents with their signed scans, exports as jobs
// and their parts checked with 7-Zip, the clinic's reply filed by an upload, the ledger, and
// accounts — each by the role table, every answer checked against doc/openapi.yaml.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sodium.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/encoding.h"
#include "exporter/export.h"
#include "tests/server_fixture.h"
#include "tests/test_util.h"
#include "vault/vault.h"

namespace dossier {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace servertest;  // NOLINT: the fixture of every test here

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return ToHex(digest);
}

constexpr const char* kScan = "%PDF-1.4 the consent, signed on paper and scanned";

class ManageTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    manager_ = Login("manager@clinic");
    compliance_ = Login("compliance@clinic");
  }

  // A clinic and a consent of patient A to it, through the API, the consent with its scan.
  std::pair<std::string, std::string> ClinicAndConsent() {
    Answer clinic = Send("POST", "/api/clinics",
                         {{"name", "Charité International"},
                          {"country", "DE"},
                          {"email", "international@charite.de"}},
                         manager_);
    EXPECT_EQ(clinic.status, 201) << clinic.raw;
    const json consent = {{"patient", pat_a_},
                          {"recipient", clinic.body.value("id", "")},
                          {"purposes", {"second-opinion"}},
                          {"categories", {"epicrisis", "conclusion", "lab", "other"}},
                          {"from", "2026-01-01"},
                          {"until", "2027-12-31"}};
    httplib::MultipartFormDataItems form = {{"consent", consent.dump(), "", "application/json"},
                                            {"scan", kScan, "consent.pdf", "application/pdf"}};
    httplib::Headers h = {{"Cookie", manager_.cookie}, {"X-CSRF-Token", manager_.csrf}};
    Answer added = From(Client().Post("/api/consents", h, form));
    EXPECT_EQ(added.status, 201) << added.raw;
    return {clinic.body.value("id", ""), added.body.value("id", "")};
  }

  // An export of case A through the API, run to its end: the job as it ended.
  json Export(const std::string& clinic) {
    Answer started = Send("POST", "/api/cases/" + case_a_ + "/exports",
                          {{"recipient", clinic},
                           {"purpose", "second-opinion"},
                           {"docs", {doc_a_}}},  // not the clinic's earlier reply
                          manager_);
    EXPECT_EQ(started.status, 202) << started.raw;
    EXPECT_EQ(started.Header("Location"), "/api/jobs/" + started.body.value("job", ""));
    return Finished(manager_, started.body.value("job", ""));
  }

  Who manager_, compliance_;
};

// Every route of this issue, for every role: a GET as the table says (200, 403, 404), a write
// with an empty object, which the role table refuses (403, or 404 for another's object) before
// its handler refuses the body (400): and nothing changes.
TEST_F(ManageTest, EveryRouteAnswersEveryRoleAsTheRoleTableSays) {
  auto [clinic, consent] = ClinicAndConsent();
  const json job = Export(clinic);
  ASSERT_EQ(job["state"], "done") << job.dump();
  const std::string request = job["result"]["request_id"], exp = job["result"]["export_id"];
  const std::map<std::string, std::string> login = {{"manager", "manager@clinic"},
                                                    {"compliance", "compliance@clinic"},
                                                    {"admin", "admin@clinic"},
                                                    {"patient", "maria@example.org"},
                                                    {"other-patient", "petr@example.org"},
                                                    {"representative", "son@example.org"},
                                                    {"replies-only", "daughter@example.org"}};
  std::map<std::string, Who> who;
  for (const auto& [role, name] : login) who[role] = Login(name);
  struct Row {
    std::string method, path;
    std::map<std::string, int> expect;  // by role; anonymous always 401
  };
  auto only = [](std::map<std::string, int> allowed) {
    std::map<std::string, int> out;
    for (const char* role : {"manager", "compliance", "admin", "patient", "other-patient",
                             "representative", "replies-only"}) {
      out[role] = allowed.count(role) ? allowed[role] : 403;
    }
    return out;
  };
  const std::vector<Row> rows = {
      {"GET", "/api/clinics", only({{"manager", 200}, {"compliance", 200}})},
      {"GET", "/api/consents", only({{"manager", 200}, {"compliance", 200}})},
      {"GET", "/api/consents/" + consent, only({{"manager", 200}, {"compliance", 200}})},
      {"GET", "/api/requests",
       only({{"manager", 200},
             {"compliance", 200},
             {"patient", 200},
             {"other-patient", 200},
             {"representative", 200},
             {"replies-only", 200}})},
      {"GET", "/api/requests/" + request,
       only({{"manager", 200},
             {"compliance", 200},
             {"patient", 200},
             {"other-patient", 404},
             {"representative", 200},
             {"replies-only", 200}})},
      {"GET", "/api/exports/" + exp, only({{"manager", 200}})},
      {"GET", "/api/exports/" + exp + "/parts/1", only({{"manager", 200}})},
      {"GET", "/api/users", only({{"manager", 200}, {"admin", 200}})},
      {"POST", "/api/patients", only({{"manager", 400}})},
      {"PATCH", "/api/patients/" + pat_a_, only({{"manager", 400}})},
      {"POST", "/api/cases", only({{"manager", 400}})},
      {"PATCH", "/api/cases/" + case_a_, only({{"manager", 400}})},
      {"POST", "/api/cases/" + case_a_ + "/close", only({{"manager", 400}})},
      {"POST", "/api/cases/" + case_a_ + "/reopen", only({{"manager", 400}})},
      {"PATCH", "/api/documents/" + doc_a_, only({{"manager", 400}})},
      {"POST", "/api/documents/" + doc_a_ + "/move", only({{"manager", 400}})},
      {"POST", "/api/documents/" + doc_a_ + "/remove", only({{"manager", 400}})},
      {"POST", "/api/series/ser_nosuchseries/move", only({{"manager", 404}})},
      {"POST", "/api/series/ser_nosuchseries/remove", only({{"manager", 404}})},
      {"POST", "/api/clinics", only({{"manager", 400}})},
      {"PATCH", "/api/clinics/" + clinic, only({{"manager", 400}})},
      {"POST", "/api/consents", only({{"manager", 400}})},
      {"POST", "/api/consents/" + consent + "/revoke", only({{"manager", 400}})},
      {"POST", "/api/cases/" + case_a_ + "/exports", only({{"manager", 400}})},
      {"POST", "/api/users", only({{"manager", 400}, {"admin", 400}})},
      {"PATCH", "/api/users/" + users_["maria@example.org"],
       only({{"manager", 400}, {"admin", 404}})},
      {"PATCH", "/api/users/" + users_["compliance@clinic"],
       only({{"manager", 404}, {"admin", 400}})},
  };
  for (const Row& row : rows) {
    for (const auto& [role, status] : row.expect) {
      Answer a = row.method == "GET" ? Get(row.path, &who[role])
                                     : Send(row.method, row.path, json::object(), who[role]);
      EXPECT_EQ(a.status, status) << role << " " << row.method << " " << row.path << ": "
                                  << a.raw.substr(0, 300);
      const char* code = status == 403   ? "forbidden"
                         : status == 404 ? "not_found"
                         : status == 400 ? "invalid_input"
                                         : "";
      if (*code) {
        EXPECT_EQ(a.body.value("error", ""), code) << role << " " << row.path;
      }
    }
    Answer anon =
        row.method == "GET" ? Get(row.path) : Send(row.method, row.path, json::object(), Who{});
    EXPECT_EQ(anon.status, 401) << row.method << " " << row.path;
  }
  // What the patient sees of the ledger is their own; the other patient sees none of it.
  EXPECT_EQ(Get("/api/requests", &who["patient"]).body.size(), 1u);
  EXPECT_EQ(Get("/api/requests", &who["other-patient"]).body, json::array());
  // An admin keeps staff accounts, a manager patients' and representatives'.
  auto roles = [&](const Who& w) {
    std::set<std::string> out;
    for (const auto& u : Get("/api/users", &w).body) out.insert(u["role"].get<std::string>());
    return out;
  };
  EXPECT_EQ(roles(who["admin"]), (std::set<std::string>{"manager", "compliance", "admin"}));
  EXPECT_EQ(roles(who["manager"]), (std::set<std::string>{"patient", "representative"}));
  // Nothing changed: the same patients, cases, documents, clinics and consents.
  EXPECT_EQ(v_->ListPatients()->size(), 2u);
  EXPECT_EQ(v_->ListCases(std::nullopt)->size(), 2u);
  EXPECT_EQ(v_->GetCase(case_a_)->status, "open");
  EXPECT_EQ(v_->GetDocument(doc_a_)->status, "stored");
  EXPECT_EQ(v_->ListClinics()->size(), 1u);
  EXPECT_EQ(v_->GetConsent(consent)->revoked_at, "");
  EXPECT_EQ(v_->ListUsers()->size(), 7u);
}

TEST_F(ManageTest, AManagerKeepsPatientsCasesAndDocumentsRightOverHttp) {
  // A patient added; the same person again is refused unless said to be another.
  const json anna = {
      {"name", "Смирнова Анна"}, {"birth_date", "1990-03-04"}, {"phone", "+7 900 123-45-67"}};
  Answer added = Send("POST", "/api/patients", anna, manager_);
  ASSERT_EQ(added.status, 201) << added.raw;
  const std::string pat = added.body["id"];
  EXPECT_EQ(added.body["same_as"], json::array());
  Answer again = Send("POST", "/api/patients", anna, manager_);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body["error"], "conflict");
  EXPECT_NE(again.body["message"].get<std::string>().find(pat), std::string::npos);
  EXPECT_EQ(again.raw.find("Смирнова"), std::string::npos);  // ids, never names
  // Corrected: only what changed is sealed again and said.
  Answer edited =
      Send("PATCH", "/api/patients/" + pat, {{"phone", ""}, {"name", "Смирнова Анна"}}, manager_);
  ASSERT_EQ(edited.status, 200) << edited.raw;
  EXPECT_EQ(edited.body, (json{{"id", pat}, {"changed", {"phone"}}}));
  EXPECT_EQ(v_->GetPatient(pat)->info.phone, "");
  // A case opened, corrected, closed (and then refuses uploads), reopened.
  Answer opened =
      Send("POST", "/api/cases", {{"patient", pat}, {"goal", "treatment abroad"}}, manager_);
  ASSERT_EQ(opened.status, 201) << opened.raw;
  const std::string kase = opened.body["id"];
  EXPECT_EQ(
      Send("PATCH", "/api/cases/" + kase, {{"question", "Is surgery needed?"}}, manager_).body,
      (json{{"id", kase}, {"changed", {"question"}}}));
  EXPECT_EQ(Send("POST", "/api/cases/" + kase + "/close", nullptr, manager_).body,
            (json{{"id", kase}, {"status", "closed"}}));
  Answer twice = Send("POST", "/api/cases/" + kase + "/close", nullptr, manager_);
  EXPECT_EQ(twice.status, 409);
  EXPECT_EQ(v_->GetCase(kase)->status, "closed");
  EXPECT_EQ(Send("POST", "/api/cases/" + kase + "/reopen", nullptr, manager_).body["status"],
            "open");
  // A document: its category chosen, moved to the right patient's case, and another removed.
  Answer category =
      Send("PATCH", "/api/documents/" + doc_a_, {{"category", "epicrisis"}}, manager_);
  EXPECT_EQ(category.body, (json{{"id", doc_a_}, {"category", "epicrisis"}}));
  EXPECT_EQ(v_->GetCategory(doc_a_)->source, "manager");
  Answer moved = Send("POST", "/api/documents/" + doc_a_ + "/move", {{"to_case", kase}}, manager_);
  ASSERT_EQ(moved.status, 200) << moved.raw;
  EXPECT_EQ(moved.body["from_case"], case_a_);
  EXPECT_EQ(moved.body["to_patient"], pat);
  EXPECT_EQ(v_->GetDocument(doc_a_)->case_id, kase);
  Answer removed = Send("POST", "/api/documents/" + doc_b_ + "/remove",
                        {{"reason", "another patient's letter"}}, manager_);
  ASSERT_EQ(removed.status, 200) << removed.raw;
  EXPECT_EQ(removed.body["documents"], json::array({doc_b_}));
  EXPECT_EQ(v_->GetDocument(doc_b_)->status, "removed");
  // Each is on record as the manager did it.
  const std::string manager_id = users_["manager@clinic"];
  for (const char* action :
       {"patient.add", "patient.edit", "case.edit", "case.close", "case.reopen",
        "document.categorize", "document.move", "document.remove"}) {
    const auto events = Events(action);
    ASSERT_FALSE(events.empty()) << action;
    EXPECT_EQ(events.back().actor, manager_id) << action;
  }
  // Bad input: its code and exact words, and nothing changed.
  const std::vector<std::tuple<std::string, std::string, json, std::string>> bad = {
      {"POST", "/api/patients", {{"name", "X"}}, "a patient needs `birth_date`"},
      {"POST",
       "/api/patients",
       {{"name", "X"}, {"birth_date", "1990-03-04"}, {"age", 3}},
       "`age` is not a field of a patient: it has name, birth_date, phone, email, duplicate_ok"},
      {"POST",
       "/api/patients",
       {{"name", 5}, {"birth_date", "1990-03-04"}},
       "`name` must be a string"},
      {"POST",
       "/api/patients",
       {{"name", "X"}, {"birth_date", "2990-01-01"}},
       "field `birth_date` must not be in the future (today is "},
      {"PATCH", "/api/patients/" + pat, json::object(),
       "nothing to change: give one or more of name, birth_date, phone, email"},
      {"POST",
       "/api/cases",
       {{"patient", case_a_}, {"goal", "x"}},
       "`patient` takes a patient id (pat_…)"},
      {"PATCH",
       "/api/cases/" + kase,
       {{"goal", ""}},
       "`goal` is empty: a case needs one (to remove the question, give \"question\": \"\")"},
      {"PATCH",
       "/api/documents/" + reply_a_,
       {{"category", "letters"}},
       "`category` takes one of epicrisis, conclusion, lab, imaging, referral, clinic-reply, "
       "other"},
      {"POST",
       "/api/documents/" + reply_a_ + "/remove",
       {{"reason", "  "}},
       "`reason` is empty: say why " + reply_a_ + " is removed (kept sealed with its record)"},
  };
  for (const auto& [method, path, body, message] : bad) {
    Answer a = Send(method, path, body, manager_);
    EXPECT_EQ(a.status, 400) << path << " " << body.dump();
    EXPECT_EQ(a.body["error"], "invalid_input");
    EXPECT_NE(a.body.value("message", "").find(message), std::string::npos)
        << a.body.value("message", "") << " vs " << message;
  }
  EXPECT_EQ(v_->ListPatients()->size(), 3u);
  EXPECT_EQ(v_->GetCase(kase)->goal, "treatment abroad");
  EXPECT_EQ(v_->GetDocument(reply_a_)->status, "stored");
  EXPECT_EQ(v_->GetCategory(reply_a_)->category, Category::kClinicReply);
  // A body that is not JSON, or not sent as JSON.
  httplib::Headers h = {{"Cookie", manager_.cookie}, {"X-CSRF-Token", manager_.csrf}};
  Answer not_json = From(Client().Post("/api/cases", h, "{goal", "application/json"));
  EXPECT_EQ(not_json.body["message"], "the body is not valid JSON");
  Answer form = From(Client().Post("/api/cases", h, "goal=x", "application/x-www-form-urlencoded"));
  EXPECT_EQ(form.body["message"], "send the body as JSON, with Content-Type: application/json");
  // Over the limits, before any handler: a JSON body over 64 KiB; a consent's form over
  // 20 MiB (its length declared: nothing of it is read).
  Answer big = From(Client().Post(
      "/api/patients", h,
      "{\"name\": \"" + std::string(70 << 10, 'x') + "\", \"birth_date\": \"1990-03-04\"}",
      "application/json"));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.body, (json{{"error", "too_large"},
                            {"message", "the request body is over the server's limit of 64 KiB"}}));
  const int fd = Connect();
  ASSERT_GE(fd, 0);
  const std::string head = "POST /api/consents HTTP/1.1\r\nHost: x\r\nCookie: " + manager_.cookie +
                           "\r\nX-CSRF-Token: " + manager_.csrf +
                           "\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                           "Content-Length: " +
                           std::to_string((20 << 20) + 1) + "\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, n);
  ::close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_NE(answer.find("the request body is over the server's limit of 20480 KiB"),
            std::string::npos);
  EXPECT_EQ(v_->ListPatients()->size(), 3u);
  EXPECT_EQ(v_->ListConsents(std::nullopt)->size(), 0u);
}

// A request over HTTP from consent to answer: the consent with its scan, the export as a job,
// its part tested by 7-Zip with the password given once, the clinic's reply filed by a tus
// upload, the request answered — and the compliance officer sees it all.
TEST_F(ManageTest, ARequestGoesFromConsentToAnswerOverHttp) {
  auto [clinic, consent] = ClinicAndConsent();
  ASSERT_FALSE(consent.empty());
  Answer listed = Get("/api/consents?patient=" + pat_a_, &compliance_);
  ASSERT_EQ(listed.status, 200);
  ASSERT_EQ(listed.body.size(), 1u);
  EXPECT_EQ(listed.body[0]["state"], "active");
  EXPECT_EQ(
      listed.body[0]["scan"],
      (json{{"kind", "pdf"}, {"size", std::string(kScan).size()}, {"sha256", Sha256Hex(kScan)}}));
  Answer fhir = Get("/api/consents/" + consent + "?format=fhir", &compliance_);
  EXPECT_EQ(fhir.Header("Content-Type"), "application/fhir+json");
  EXPECT_EQ(fhir.body["resourceType"], "Consent");
  EXPECT_EQ(fhir.body["status"], "active");
  // The export: a job whose result gives the password once.
  const json job = Export(clinic);
  ASSERT_EQ(job["state"], "done") << job.dump();
  const json& result = job["result"];
  const std::string password = result.value("password", "");
  ASSERT_GE(password.size(), 12u);
  EXPECT_EQ(Get("/api/jobs/" + job["id"].get<std::string>(), &manager_).body["result"]["password"],
            nullptr);
  EXPECT_EQ(result["documents"], json::array({doc_a_}));
  const std::string exp = result["export_id"], request = result["request_id"];
  Answer shown = Get("/api/exports/" + exp, &manager_);
  ASSERT_EQ(shown.status, 200) << shown.raw;
  EXPECT_EQ(shown.body["kept"], true);
  EXPECT_EQ(shown.body["downloads"], json::array({"/api/exports/" + exp + "/parts/1"}));
  // The part, downloaded whole and resumed, opens with the password in 7-Zip.
  Answer part = Get("/api/exports/" + exp + "/parts/1", &manager_);
  ASSERT_EQ(part.status, 200);
  EXPECT_EQ(part.raw.size(), result["parts"][0]["size"].get<uint64_t>());
  EXPECT_EQ(Sha256Hex(part.raw), result["parts"][0]["sha256"]);
  httplib::Headers range = {{"Cookie", manager_.cookie}, {"Range", "bytes=100-"}};
  Answer rest = From(Client().Get("/api/exports/" + exp + "/parts/1", range));
  EXPECT_EQ(rest.status, 206);
  EXPECT_EQ(rest.raw, part.raw.substr(100));
  const fs::path zip = dir_ / "part1.zip";
  testing::WriteFile(zip, part.raw);
  auto [rc, out] = testing::Shell("7zz t -p'" + password + "' " + zip.string());
  EXPECT_EQ(rc, 0) << out;
  auto [bad_rc, bad_out] = testing::Shell("7zz t -pwrongpassword " + zip.string());
  EXPECT_NE(bad_rc, 0) << bad_out;
  // Each download, the resumed one too, is on record as the manager's, under the request; a
  // HEAD, which sends nothing, is not.
  httplib::Headers head = {{"Cookie", manager_.cookie}};
  EXPECT_EQ(From(Client().Head("/api/exports/" + exp + "/parts/1", head)).status, 200);
  const auto downloads = Events("export.download");
  ASSERT_EQ(downloads.size(), 2u);
  EXPECT_EQ(downloads[1].objects, (std::vector<std::string>{exp, request}));
  EXPECT_EQ(downloads[1].actor, users_["manager@clinic"]);
  EXPECT_EQ(downloads[1].patient, pat_a_);
  // The clinic's reply, filed by a tus upload that names the request.
  const std::string reply = "Заключение клиники: операция не показана.\n";
  httplib::Headers h = {{"Cookie", manager_.cookie},
                        {"X-CSRF-Token", manager_.csrf},
                        {"Tus-Resumable", "1.0.0"},
                        {"Upload-Length", std::to_string(reply.size())},
                        {"Upload-Metadata", "filename " + ToBase64(AsBytes("reply.txt")) +
                                                ",reply_to " + ToBase64(AsBytes(request))}};
  Answer created = From(Client().Post("/api/cases/" + case_a_ + "/tus/", h, "", "text/plain"));
  ASSERT_EQ(created.status, 201) << created.raw;
  httplib::Headers ph = {{"Cookie", manager_.cookie},
                         {"X-CSRF-Token", manager_.csrf},
                         {"Tus-Resumable", "1.0.0"},
                         {"Upload-Offset", "0"}};
  Answer sent = From(
      Client().Patch(created.Header("Location"), ph, reply, "application/offset+octet-stream"));
  ASSERT_EQ(sent.status, 204) << sent.raw;
  const json ingest = Finished(manager_, sent.Header("Dossier-Job"));
  ASSERT_EQ(ingest["state"], "done") << ingest.dump();
  // The request is answered, for the manager and for the patient.
  Answer mine = Get("/api/requests/" + request, &manager_);
  EXPECT_EQ(mine.body["state"], "answered");
  ASSERT_EQ(mine.body["replies"].size(), 1u);
  EXPECT_EQ(mine.body["replies"][0]["category"], "clinic-reply");
  Who patient = Login("maria@example.org");
  Answer hers = Get("/api/requests", &patient);
  ASSERT_EQ(hers.body.size(), 1u);
  EXPECT_EQ(hers.body[0]["state"], "answered");
  EXPECT_EQ(hers.body[0]["replies"], 1);
  // A second reply sent as a form, `?reply_to=`; a patient may not file one.
  httplib::MultipartFormDataItems files = {
      {"files", "Дополнение клиники.\n", "addendum.txt", "text/plain"}};
  httplib::Headers fh = {{"Cookie", manager_.cookie}, {"X-CSRF-Token", manager_.csrf}};
  Answer formed =
      From(Client().Post("/api/cases/" + case_a_ + "/uploads?reply_to=" + request, fh, files));
  ASSERT_EQ(formed.status, 202) << formed.raw;
  EXPECT_EQ(Finished(manager_, formed.body["job"])["state"], "done");
  EXPECT_EQ(Get("/api/requests/" + request, &manager_).body["replies"].size(), 2u);
  Who maria = Login("maria@example.org");
  httplib::Headers mh = {{"Cookie", maria.cookie}, {"X-CSRF-Token", maria.csrf}};
  Answer hers_refused =
      From(Client().Post("/api/cases/" + case_a_ + "/uploads?reply_to=" + request, mh, files));
  EXPECT_EQ(hers_refused.status, 400);
  EXPECT_EQ(hers_refused.body["message"], "?reply_to= is for a manager filing a clinic's reply");
  // A reply naming a request of another case is refused before a byte comes.
  h.erase("Upload-Metadata");
  h.emplace("Upload-Metadata",
            "filename " + ToBase64(AsBytes("r.txt")) + ",reply_to " + ToBase64(AsBytes(request)));
  Answer wrong = From(Client().Post("/api/cases/" + case_b_ + "/tus/", h, "", "text/plain"));
  EXPECT_EQ(wrong.status, 409) << wrong.raw;
  // The compliance officer sees the export, its download and the reply in the audit log and in
  // the patient's access report, under the request.
  Answer audit = Get("/api/audit?action=export.&patient=" + pat_a_, &compliance_);
  ASSERT_EQ(audit.status, 200);
  std::vector<std::string> actions;
  for (const auto& e : audit.body["events"]) actions.push_back(e["action"]);
  for (const char* a : {"export.create", "export.read", "export.download", "export.reply"}) {
    EXPECT_NE(std::find(actions.begin(), actions.end(), a), actions.end()) << a;
  }
  Answer report = Get("/api/patients/" + pat_a_ + "/access-report", &compliance_);
  bool download_under_request = false;
  for (const auto& e : report.body["events"]) {
    if (e["action"] == "export.download" && e["request_id"] == request &&
        e["actor_id"] == users_["manager@clinic"]) {
      download_under_request = true;
    }
  }
  EXPECT_TRUE(download_under_request);
  // A revoked consent stops the next export: the job fails with the gate's refusal.
  Answer revoked = Send("POST", "/api/consents/" + consent + "/revoke",
                        {{"reason", "letter of 2026-11-17"}}, manager_);
  ASSERT_EQ(revoked.status, 200) << revoked.raw;
  EXPECT_EQ(revoked.body["state"], "revoked");
  const json refused = Export(clinic);
  EXPECT_EQ(refused["state"], "failed");
  EXPECT_EQ(refused["error"]["error"], "conflict");
  EXPECT_EQ(v_->ListRequests(std::nullopt)->size(), 1u);
}

TEST_F(ManageTest, AnExportsPartsAreDeletedFourteenDaysLaterOnRecord) {
  StopServer();
  server::ServeOptions o;
  o.janitor_interval = std::chrono::milliseconds(20);
  StartServer(o);
  manager_ = Login("manager@clinic");
  auto [clinic, consent] = ClinicAndConsent();
  const json job = Export(clinic);
  ASSERT_EQ(job["state"], "done") << job.dump();
  const std::string exp = job["result"]["export_id"];
  ASSERT_TRUE(fs::exists(dir_ / "exports" / exp));
  clock_.Advance(std::chrono::hours(24 * 14 - 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(fs::exists(dir_ / "exports" / exp));  // 13 days and 23 hours: still kept
  clock_.Advance(std::chrono::hours(2));
  manager_ = Login("manager@clinic");
  for (int i = 0; i < 200 && fs::exists(dir_ / "exports" / exp); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(fs::exists(dir_ / "exports" / exp));
  Answer shown = Get("/api/exports/" + exp, &manager_);
  EXPECT_EQ(shown.body["kept"], false);
  EXPECT_EQ(shown.body["downloads"], json::array());
  Answer gone = Get("/api/exports/" + exp + "/parts/1", &manager_);
  EXPECT_EQ(gone.status, 409);
  EXPECT_EQ(gone.body["message"],
            "the parts of export " + exp +
                " are no longer kept (they are deleted 14 days after the export): export again");
  const auto expired = Events("export.expired");
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].objects, (std::vector<std::string>{exp, job["result"]["request_id"]}));
  EXPECT_EQ(expired[0].patient, pat_a_);
}

TEST_F(ManageTest, ACaseListingComesAPartAtATime) {
  const std::string base = "/api/cases/" + case_a_ + "/documents";
  Answer first = Get(base + "?limit=1", &manager_);
  ASSERT_EQ(first.status, 200) << first.raw;
  ASSERT_EQ(first.body.size(), 1u);
  EXPECT_EQ(first.body[0]["id"], doc_a_);
  EXPECT_EQ(first.Header("X-Total-Count"), "2");
  EXPECT_EQ(first.Header("Link"), "<" + base + "?limit=1&offset=1>; rel=\"next\"");
  Answer next = Get(base + "?limit=1&offset=1", &manager_);
  ASSERT_EQ(next.body.size(), 1u);
  EXPECT_EQ(next.body[0]["id"], reply_a_);
  EXPECT_EQ(next.Header("Link"), "");  // the last part
  EXPECT_EQ(Get(base + "?limit=5&offset=9", &manager_).body, json::array());
  // The whole listing is the parts together; a representative's parts are of what is granted.
  EXPECT_EQ(Get(base, &manager_).body, json::array({first.body[0], next.body[0]}));
  Who son = Login("son@example.org");
  Answer his = Get(base + "?limit=5", &son);
  EXPECT_EQ(his.Header("X-Total-Count"), "1");
  EXPECT_EQ(his.body.size(), 1u);
  for (const auto& [query, message] : std::vector<std::pair<std::string, std::string>>{
           {"?limit=0", "?limit= takes a number of entries, 1 to 1000"},
           {"?limit=1001", "?limit= takes a number of entries, 1 to 1000"},
           {"?offset=1", "?offset= goes with ?limit="},
           {"?limit=1&offset=-1", "?offset= takes the entry to begin at, 0 for the first"},
           {"?sort=name", "?sort= is not asked here: only ?limit= and ?offset="}}) {
    Answer a = Get(base + query, &manager_);
    EXPECT_EQ(a.status, 400) << query;
    EXPECT_EQ(a.body["message"], message) << query;
  }
}

TEST_F(ManageTest, AccountsAreKeptByTheirKeepersOverHttp) {
  Who admin = Login("admin@clinic");
  // An admin adds staff; a manager patients and representatives, and grants rights.
  Answer staff = Send(
      "POST", "/api/users",
      {{"name", "second.manager@clinic"}, {"role", "manager"}, {"password", kPassword}}, admin);
  ASSERT_EQ(staff.status, 201) << staff.raw;
  Answer refused =
      Send("POST", "/api/users", {{"name", "x@clinic"}, {"role", "admin"}, {"password", kPassword}},
           manager_);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.body["message"],
            "an account with the role manager may not add a admin account");
  Answer rep = Send("POST", "/api/users",
                    {{"name", "wife@example.org"},
                     {"role", "representative"},
                     {"password", kPassword},
                     {"patient", pat_b_},
                     {"rights", {"replies"}}},
                    manager_);
  ASSERT_EQ(rep.status, 201) << rep.raw;
  const std::string rep_id = rep.body["id"];
  Who wife = Login("wife@example.org");
  EXPECT_EQ(Get("/api/cases/" + case_b_ + "/documents", &wife).body, json::array());
  Answer granted =
      Send("PATCH", "/api/users/" + rep_id, {{"rights", {"view", "replies"}}}, manager_);
  ASSERT_EQ(granted.status, 200) << granted.raw;
  EXPECT_EQ(granted.body["rights"], json::array({"view", "replies"}));
  EXPECT_EQ(Get("/api/cases/" + case_b_ + "/documents", &wife).body.size(), 1u);  // at once
  // A short password, two changes at once: 400, nothing changed.
  Answer short_pw = Send("PATCH", "/api/users/" + rep_id, {{"password", "short"}}, manager_);
  EXPECT_EQ(short_pw.status, 400);
  EXPECT_EQ(short_pw.body["message"], "the password is too short: use at least 12 characters");
  Answer two = Send("PATCH", "/api/users/" + rep_id,
                    {{"password", "another long one 1"}, {"disabled", true}}, manager_);
  EXPECT_EQ(two.body["message"], "change one thing at a time: rights, password or disabled");
  // Disabled: the session ends at its next request.
  Answer disabled = Send("PATCH", "/api/users/" + rep_id, {{"disabled", true}}, manager_);
  EXPECT_EQ(disabled.body["status"], "disabled");
  EXPECT_EQ(Get("/api/me", &wife).status, 401);
  const auto events = Events("user.rights");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].actor, users_["manager@clinic"]);
}

}  // namespace
}  // namespace dossier
