// dossier serve over real HTTP on loopback, against a real vault (issue 19): the role table
// for every route and role, sessions (expiry and lockout on an injected clock), CSRF, the
// headers of every answer, TLS, bad input, and what the audit log and the request log keep.
#include "server/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/encoding.h"
#include "server/internal/connection.h"
#include "server/internal/routes.h"
#include "tests/server_fixture.h"
#include "tests/test_util.h"
#include "vault/audit.h"
#include "vault/vault.h"

namespace dossier {
namespace {

using nlohmann::json;
using testing::kPassphrase;

using namespace servertest;  // NOLINT: the fixture of every test here

TEST_F(ServerTest, EveryRouteAnswersEveryRoleAsTheRoleTableSays) {
  const std::map<std::string, std::string> login = {{"manager", "manager@clinic"},
                                                    {"compliance", "compliance@clinic"},
                                                    {"admin", "admin@clinic"},
                                                    {"patient", "maria@example.org"},
                                                    {"representative", "son@example.org"},
                                                    {"replies-only", "daughter@example.org"}};
  std::map<std::string, Who> who;
  for (const auto& [role, name] : login) who[role] = Login(name);
  // 200 allowed · 403 the role may not · 404 not theirs (as for an id that does not exist).
  struct Row {
    std::string path;
    std::map<std::string, int> expect;  // by role; anonymous always 401
  };
  const std::vector<Row> rows = {
      {"/api/me",
       {{"manager", 200},
        {"compliance", 200},
        {"admin", 200},
        {"patient", 200},
        {"representative", 200},
        {"replies-only", 200}}},
      {"/api/patients",
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 403},
        {"representative", 403},
        {"replies-only", 403}}},
      {"/api/patients/" + pat_a_,
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 200},
        {"representative", 200},
        {"replies-only", 200}}},
      {"/api/patients/" + pat_b_,
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 404},
        {"representative", 404},
        {"replies-only", 404}}},
      {"/api/cases",
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 200},
        {"representative", 200},
        {"replies-only", 200}}},
      {"/api/cases/" + case_a_,
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 200},
        {"representative", 200},
        {"replies-only", 200}}},
      {"/api/cases/" + case_b_,
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 404},
        {"representative", 404},
        {"replies-only", 404}}},
      {"/api/cases/" + case_a_ + "/documents",
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 200},
        {"representative", 200},
        {"replies-only", 200}}},
      {"/api/cases/" + case_b_ + "/documents",
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 404},
        {"representative", 404},
        {"replies-only", 404}}},
      {"/api/cases/" + case_a_ + "/series",
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 200},
        {"representative", 200},
        {"replies-only", 200}}},
      {"/api/cases/" + case_a_ + "/search?q=%D0%BD%D0%BE%D1%80%D0%BC%D0%B0",
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 403},
        {"representative", 403},
        {"replies-only", 403}}},
      {"/api/documents/" + doc_a_,
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 200},
        {"representative", 200},
        {"replies-only", 404}}},
      {"/api/documents/" + reply_a_,
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 200},
        {"representative", 404},
        {"replies-only", 200}}},
      {"/api/documents/" + doc_b_,
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 404},
        {"representative", 404},
        {"replies-only", 404}}},
      {"/api/documents/" + doc_a_ + "/content",
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 200},
        {"representative", 200},
        {"replies-only", 404}}},
      {"/api/documents/" + doc_b_ + "/content",
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 404},
        {"representative", 404},
        {"replies-only", 404}}},
      {"/api/documents/" + doc_a_ + "/text",
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 200},
        {"representative", 200},
        {"replies-only", 404}}},
      {"/api/documents/" + doc_b_ + "/text",
       {{"manager", 200},
        {"compliance", 403},
        {"admin", 403},
        {"patient", 404},
        {"representative", 404},
        {"replies-only", 404}}},
      {"/api/patients/" + pat_a_ + "/access-report",
       {{"manager", 403},
        {"compliance", 200},
        {"admin", 403},
        {"patient", 200},
        {"representative", 200},
        {"replies-only", 200}}},
      {"/api/patients/" + pat_b_ + "/access-report",
       {{"manager", 403},
        {"compliance", 200},
        {"admin", 403},
        {"patient", 404},
        {"representative", 404},
        {"replies-only", 404}}},
      {"/api/audit/verify",
       {{"manager", 403},
        {"compliance", 200},
        {"admin", 403},
        {"patient", 403},
        {"representative", 403},
        {"replies-only", 403}}},
      {"/api/audit/checkpoint",
       {{"manager", 403},
        {"compliance", 200},
        {"admin", 403},
        {"patient", 403},
        {"representative", 403},
        {"replies-only", 403}}},
      {"/api/audit",
       {{"manager", 403},
        {"compliance", 200},
        {"admin", 403},
        {"patient", 403},
        {"representative", 403},
        {"replies-only", 403}}},
  };
  for (const Row& row : rows) {
    Answer anon = Get(row.path);
    EXPECT_EQ(anon.status, 401) << row.path;
    EXPECT_EQ(anon.body.value("error", ""), "unauthenticated") << row.path;
    for (const auto& [role, status] : row.expect) {
      Answer a = Get(row.path, &who[role]);
      EXPECT_EQ(a.status, status) << role << " GET " << row.path << ": " << a.raw;
      if (status == 403) {
        EXPECT_EQ(a.body.value("error", ""), "forbidden") << row.path;
      }
      if (status == 404) {
        EXPECT_EQ(a.body.value("error", ""), "not_found") << row.path;
      }
    }
  }
  // Another patient's id answers exactly as an id that does not exist.
  Answer theirs = Get("/api/documents/" + doc_b_, &who["patient"]);
  Answer none = Get("/api/documents/doc_zzzzzzzzzzzzzzzz", &who["patient"]);
  EXPECT_EQ(theirs.body["message"], "no document " + doc_b_);
  EXPECT_EQ(none.body["message"], "no document doc_zzzzzzzzzzzzzzzz");
  EXPECT_EQ(none.status, 404);
  // A patient's case list is their own, whatever they ask for.
  Answer cases = Get("/api/cases?patient=" + pat_b_, &who["patient"]);
  ASSERT_EQ(cases.status, 200);
  ASSERT_EQ(cases.body.size(), 1u);
  EXPECT_EQ(cases.body[0]["id"], case_a_);
  // Listings show a representative what is granted: documents, or clinic replies.
  auto ids = [](const json& listing) {
    std::vector<std::string> out;
    for (const auto& d : listing) out.push_back(d.value("id", ""));
    return out;
  };
  EXPECT_EQ(ids(Get("/api/cases/" + case_a_ + "/documents", &who["representative"]).body),
            std::vector<std::string>{doc_a_});
  EXPECT_EQ(ids(Get("/api/cases/" + case_a_ + "/documents", &who["replies-only"]).body),
            std::vector<std::string>{reply_a_});
  EXPECT_EQ(ids(Get("/api/cases/" + case_a_ + "/documents", &who["patient"]).body),
            (std::vector<std::string>{doc_a_, reply_a_}));
  // The refusals are on record: the cross-patient attempts with the object and its patient.
  bool recorded = false;
  for (const auto& e : Events("access.refused")) {
    if (e.reason == "not_theirs" && e.objects == std::vector<std::string>{doc_b_} &&
        e.patient == pat_b_ && e.actor == users_["maria@example.org"] && e.role == "patient") {
      recorded = true;
    }
  }
  EXPECT_TRUE(recorded);
}

TEST_F(ServerTest, TheContentIsTheDocumentAndItsReadIsOnRecordAsTheUser) {
  Who maria = Login("maria@example.org");
  Answer a = Get("/api/documents/" + doc_a_ + "/content", &maria);
  ASSERT_EQ(a.status, 200) << a.raw;
  EXPECT_EQ(a.raw, "%PDF-1.4 the epicrisis of A");
  EXPECT_EQ(a.Header("Content-Type"), "application/pdf");
  EXPECT_EQ(a.Header("Content-Disposition"), "attachment; filename=\"" + doc_a_ + "\"");
  EXPECT_EQ(a.Header("Cache-Control"), "no-store");
  auto reads = Events("document.read");
  ASSERT_FALSE(reads.empty());
  EXPECT_EQ(reads.back().actor, users_["maria@example.org"]);
  EXPECT_EQ(reads.back().role, "patient");
  EXPECT_EQ(reads.back().objects.front(), doc_a_);
}

// A browser shows no HEIC: ?copy=jpeg gives a photo's JPEG copy, on record as such.
TEST_F(ServerTest, ADownloadResumesFromTheByteItWasCutAt) {
  // A browser resuming a cut download asks for the rest with Range: 206 and those bytes.
  Who maria = Login("maria@example.org");
  const std::string whole = "%PDF-1.4 the epicrisis of A";
  const auto range = [&](const std::string& r) {
    return From(Client().Get("/api/documents/" + doc_a_ + "/content",
                             {{"Cookie", maria.cookie}, {"Range", r}}));
  };
  const size_t before = Events("document.read").size();
  Answer rest = range("bytes=9-");
  EXPECT_EQ(rest.status, 206) << rest.raw;
  EXPECT_EQ(rest.raw, whole.substr(9));
  EXPECT_EQ(rest.Header("Content-Range"), "bytes 9-26/27");
  Answer middle = range("bytes=5-10");
  EXPECT_EQ(middle.status, 206);
  EXPECT_EQ(middle.raw, "1.4 th");
  Answer tail = range("bytes=-4");
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.raw, "of A");
  // Past the end: cut to the last byte (a PDF viewer asks for a block), or refused.
  Answer block = range("bytes=0-65535");
  EXPECT_EQ(block.status, 206);
  EXPECT_EQ(block.raw, whole);
  EXPECT_EQ(block.Header("Content-Range"), "bytes 0-26/27");
  Answer longer = range("bytes=-100");
  EXPECT_EQ(longer.status, 206);
  EXPECT_EQ(longer.raw, whole);
  EXPECT_EQ(Events("document.read").size(), before + 5);  // each one a read on record
  for (const auto& [r, why] :
       {std::pair{"bytes=27-", "it has 27 bytes: a range must begin before its end"},
        std::pair{"bytes=30-40", "it has 27 bytes: a range must begin before its end"},
        std::pair{"bytes=0-0,5-6", "ask for one range of bytes at a time"}}) {
    Answer refused = range(r);
    EXPECT_EQ(refused.status, 416) << r;
    EXPECT_EQ(refused.body, json({{"error", "invalid_input"}, {"message", why}})) << r;
    EXPECT_EQ(refused.Header("Content-Range"), "bytes */27") << r;
  }
  EXPECT_EQ(Events("document.read").size(), before + 5);  // refused before any read
}

TEST_F(ServerTest, AHeicPhotosJpegCopyIsGivenOnAsking) {
  auto w = v_->BeginDocument({case_a_, "IMG_0412.HEIC", "heic"});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(AsBytes(std::string("....ftypheic the photo"))).ok());
  const std::string photo = (*w)->Commit()->doc_id;
  ASSERT_TRUE(v_->StoreRendition(photo, "jpeg", AsBytes(std::string("\xFF\xD8\xFF copy"))).ok());
  Who maria = Login("maria@example.org");
  Answer shown = Get("/api/documents/" + photo, &maria);
  ASSERT_EQ(shown.status, 200) << shown.raw;
  EXPECT_EQ(shown.body["rendition"], nlohmann::json({{"kind", "jpeg"}, {"size", 8}}));
  Answer copy = Get("/api/documents/" + photo + "/content?copy=jpeg", &maria);
  ASSERT_EQ(copy.status, 200) << copy.raw;
  EXPECT_EQ(copy.raw, "\xFF\xD8\xFF copy");
  EXPECT_EQ(copy.Header("Content-Type"), "image/jpeg");
  auto reads = Events("document.read");
  ASSERT_FALSE(reads.empty());
  EXPECT_EQ(reads.back().objects.front(), photo);
  EXPECT_EQ(reads.back().details.at("copy"), "rendition");
  Answer heic = Get("/api/documents/" + photo + "/content", &maria);
  EXPECT_EQ(heic.raw, "....ftypheic the photo");
  EXPECT_EQ(heic.Header("Content-Type"), "image/heic");
  Answer none = Get("/api/documents/" + doc_a_ + "/content?copy=jpeg", &maria);
  EXPECT_EQ(none.status, 404) << none.raw;
  EXPECT_EQ(none.body["message"],
            "document " + doc_a_ + " has no JPEG copy: only a HEIC photo gets one");
  Answer png = Get("/api/documents/" + photo + "/content?copy=png", &maria);
  EXPECT_EQ(png.status, 400) << png.raw;
}

TEST_F(ServerTest, EveryAnswerCarriesTheSecurityHeaders) {
  Who m = Login("manager@clinic");
  for (const Answer& a : {Get("/api/me", &m), Get("/api/me"), Get("/api/nothing-here", &m),
                          Post("/api/session", "{")}) {
    EXPECT_EQ(a.Header("Content-Security-Policy"),
              "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
              "form-action 'self'; frame-ancestors 'none'")
        << a.raw;
    EXPECT_EQ(a.Header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(a.Header("Referrer-Policy"), "no-referrer");
    EXPECT_EQ(a.Header("Cache-Control"), "no-store");
    EXPECT_EQ(a.Header("Content-Type"), "application/json");
  }
  EXPECT_EQ(Get("/api/nothing-here", &m).body,
            json({{"error", "not_found"},
                  {"message", "no such route in the API (doc/API.md lists them)"}}));
}

TEST_F(ServerTest, SignInAnswersTheUserAndSetsAStrictHttpOnlyCookie) {
  Answer a = LoginAnswer("Maria@Example.org");  // names are compared case-insensitively
  ASSERT_EQ(a.status, 200) << a.raw;
  EXPECT_EQ(a.body["user"], users_["maria@example.org"]);
  EXPECT_EQ(a.body["role"], "patient");
  EXPECT_EQ(a.body["csrf"].get<std::string>().size(), 43u);
  const std::string cookie = a.Header("Set-Cookie");
  EXPECT_EQ(cookie.substr(0, 16), "dossier_session=");
  EXPECT_EQ(cookie.substr(cookie.find(';')), "; Path=/; HttpOnly; SameSite=Strict");
  EXPECT_EQ(cookie.find(';') - 16, 43u);
  Who w{cookie.substr(0, cookie.find(';')), a.body["csrf"], a.body["user"]};
  Answer me = Get("/api/me", &w);
  EXPECT_EQ(me.body, json({{"user", users_["maria@example.org"]},
                           {"name", "maria@example.org"},
                           {"role", "patient"},
                           {"patient", pat_a_}}));
  auto logins = Events("session.login");
  ASSERT_EQ(logins.size(), 1u);
  EXPECT_EQ(logins[0].actor, users_["maria@example.org"]);
  EXPECT_EQ(logins[0].patient, pat_a_);
}

TEST_F(ServerTest, AWrongPasswordAndAnUnknownNameGetTheSameAnswer) {
  Answer wrong = LoginAnswer("maria@example.org", "not the password at all");
  Answer unknown = LoginAnswer("nobody@example.org", "not the password at all");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body,
            json({{"error", "bad_credentials"}, {"message", "wrong user name or password"}}));
  EXPECT_EQ(unknown.raw, wrong.raw);
  EXPECT_EQ(Events("session.login_failed").size(), 2u);
}

TEST_F(ServerTest, FiveFailuresLockTheNameForFifteenMinutes) {
  for (int i = 1; i <= 4; ++i) {
    EXPECT_EQ(LoginAnswer("maria@example.org", "wrong password here").status, 401) << i;
  }
  Answer fifth = LoginAnswer("maria@example.org", "wrong password here");
  EXPECT_EQ(fifth.status, 429);
  EXPECT_EQ(fifth.body, json({{"error", "locked"},
                              {"message",
                               "too many failed logins for this name: try again in "
                               "15 minutes"}}));
  EXPECT_EQ(fifth.Header("Retry-After"), "900");
  EXPECT_EQ(Events("session.locked").size(), 1u);
  // Locked: even the right password is refused, without being checked.
  clock_.Advance(std::chrono::seconds(14 * 60));
  Answer still = LoginAnswer("maria@example.org");
  EXPECT_EQ(still.status, 429);
  EXPECT_EQ(still.Header("Retry-After"), "60");
  EXPECT_EQ(still.body["message"], "too many failed logins for this name: try again in 1 minute");
  // Another name is not locked.
  EXPECT_EQ(LoginAnswer("petr@example.org").status, 200);
  clock_.Advance(std::chrono::seconds(60));
  EXPECT_EQ(LoginAnswer("maria@example.org").status, 200);
}

TEST_F(ServerTest, SessionsEndAfterThirtyIdleMinutesAndTwelveHoursInAnyCase) {
  Who idle = Login("maria@example.org");
  Who busy = Login("manager@clinic");
  clock_.Advance(std::chrono::seconds(29 * 60));
  EXPECT_EQ(Get("/api/me", &idle).status, 200);
  clock_.Advance(std::chrono::seconds(30 * 60));
  Answer gone = Get("/api/me", &idle);
  EXPECT_EQ(gone.status, 401);
  EXPECT_EQ(gone.body["error"], "unauthenticated");
  // Used every 20 minutes, a session still ends 12 hours after sign-in.
  Who fresh = Login("petr@example.org");
  for (int i = 0; i < 35; ++i) {
    clock_.Advance(std::chrono::seconds(20 * 60));
    ASSERT_EQ(Get("/api/me", &fresh).status, 200) << i;
  }
  clock_.Advance(std::chrono::seconds(20 * 60));  // 12 h since sign-in
  EXPECT_EQ(Get("/api/me", &fresh).status, 401);
  EXPECT_EQ(Get("/api/me", &busy).status, 401);
}

TEST_F(ServerTest, SigningOutNeedsTheCsrfTokenAndEndsTheSession) {
  Who w = Login("maria@example.org");
  Answer no_token = Delete("/api/session", &w, false);
  EXPECT_EQ(no_token.status, 403);
  EXPECT_EQ(no_token.body["error"], "csrf");
  Who forged = w;
  forged.csrf = std::string(43, 'A');
  EXPECT_EQ(Delete("/api/session", &forged).status, 403);
  EXPECT_EQ(Get("/api/me", &w).status, 200);  // still signed in
  Answer out = Delete("/api/session", &w);
  EXPECT_EQ(out.status, 204);
  EXPECT_EQ(out.Header("Set-Cookie"),
            "dossier_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  EXPECT_EQ(Get("/api/me", &w).status, 401);
  EXPECT_EQ(Events("session.logout").size(), 1u);
  bool csrf_refusal = false;
  for (const auto& e : Events("access.refused")) csrf_refusal |= e.reason == "csrf";
  EXPECT_TRUE(csrf_refusal);
}

TEST_F(ServerTest, ADisabledAccountLosesItsSessionAtOnce) {
  Who w = Login("son@example.org");
  EXPECT_EQ(Get("/api/me", &w).status, 200);
  ASSERT_TRUE(v_->DisableUser("son@example.org").ok());
  Answer a = Get("/api/me", &w);
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.body["message"], "this account is disabled: ask the coordinator's office");
  EXPECT_EQ(LoginAnswer("son@example.org").status, 401);
}

TEST_F(ServerTest, ARevokedRightCountsAtTheNextRequest) {
  Who w = Login("son@example.org");
  EXPECT_EQ(Get("/api/documents/" + doc_a_, &w).status, 200);
  ASSERT_TRUE(v_->SetRights(users_["son@example.org"], {}).ok());
  EXPECT_EQ(Get("/api/documents/" + doc_a_, &w).status, 404);
}

TEST_F(ServerTest, BadInputGetsItsCodeAndChangesNothing) {
  struct Case {
    std::string body, type;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"{", "application/json", 400,
       "the body is not a JSON object: send {\"username\": …, \"password\": …}"},
      {"[1,2]", "application/json", 400,
       "the body is not a JSON object: send {\"username\": …, \"password\": …}"},
      {R"({"username": 5, "password": "x"})", "application/json", 400,
       "`username` must be a string"},
      {R"({"username": "a", "password": "b", "admin": true})", "application/json", 400,
       "unknown field `admin`: a login has only username and password"},
      {R"({"username": "a"})", "application/json", 400, "a login needs both username and password"},
      {"username=a&password=b", "application/x-www-form-urlencoded", 400,
       "send the login as JSON, with Content-Type: application/json"},
  };
  for (const Case& c : cases) {
    Answer a = Post("/api/session", c.body, c.type);
    EXPECT_EQ(a.status, c.status) << c.body;
    EXPECT_EQ(a.body, json({{"error", "invalid_input"}, {"message", c.message}})) << c.body;
  }
  Answer big = Post("/api/session", std::string(65 * 1024, 'x'));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.body, json({{"error", "too_large"},
                            {"message", "the request body is over the server's limit of 64 KiB"}}));
  httplib::Headers many;
  for (int i = 0; i < 70; ++i) many.emplace("X-Filler-" + std::to_string(i), "x");
  Answer headers = From(Client().Get("/api/me", many));
  EXPECT_EQ(headers.status, 413);
  EXPECT_EQ(headers.body["error"], "too_large");
  Who m = Login("manager@clinic");
  Answer wrong_kind = Get("/api/cases/" + doc_a_ + "/documents", &m);
  EXPECT_EQ(wrong_kind.status, 400);
  EXPECT_EQ(wrong_kind.body["message"], "the path needs a case id (case_…)");
  Answer no_query = Get("/api/cases/" + case_a_ + "/search", &m);
  EXPECT_EQ(no_query.status, 400);
  EXPECT_EQ(no_query.body["message"], "?q= takes the text to look for, 1 to 200 bytes");
  // Nothing was signed in by any of it, and the server still answers.
  EXPECT_TRUE(Events("session.login").size() == 1u);
  EXPECT_EQ(Get("/api/me", &m).status, 200);
}

TEST_F(ServerTest, TheLogHasRouteTemplatesAndIdsNeverNamesQueriesOrTokens) {
  Who m = Login("manager@clinic");
  Answer hits = Get("/api/cases/" + case_a_ + "/search?q=%D0%BD%D0%BE%D1%80%D0%BC%D0%B0", &m);
  ASSERT_EQ(hits.status, 200) << hits.raw;
  EXPECT_EQ(hits.body.size(), 1u);
  (void)LoginAnswer("maria@example.org", "a wrong password here");
  const std::string log = Log(3);
  EXPECT_NE(log.find(" GET /api/cases/{id}/search 200 " + users_["manager@clinic"] + " "),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(" POST /api/session 200 " + users_["manager@clinic"] + " "), std::string::npos)
      << log;
  EXPECT_NE(log.find(" POST /api/session 401 - "), std::string::npos) << log;
  for (const std::string& secret :
       {std::string("норма"), std::string("%D0%BD"), std::string("maria@"), case_a_,
        m.cookie.substr(16), m.csrf, std::string("a wrong password")}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret;
  }
}

TEST_F(ServerTest, ListeningBeyondLoopbackNeedsTlsOrInsecureHttp) {
  server::ServeOptions o;
  o.host = "0.0.0.0";
  Status st = server::CheckServeOptions(o);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "--listen 0.0.0.0: only loopback is served without TLS. Give --tls-cert and "
            "--tls-key, or, behind a TLS proxy, --insecure-http");
  o.insecure_http = true;
  EXPECT_TRUE(server::CheckServeOptions(o).ok());
  o = {};
  o.host = "::1";
  EXPECT_TRUE(server::CheckServeOptions(o).ok());
  o.tls_cert = "cert.pem";
  EXPECT_EQ(server::CheckServeOptions(o).message(),
            "--tls-cert and --tls-key go together: give both, or neither");
}

TEST_F(ServerTest, UnderTlsTheCookieIsSecureAndPlainHttpIsNotAnswered) {
  const auto [rc, out] = testing::Shell(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout '" +
      (dir_ / "key.pem").string() + "' -out '" + (dir_ / "cert.pem").string() + "' 2>&1");
  ASSERT_EQ(rc, 0) << out;
  StopServer();
  server::ServeOptions o;
  o.tls_cert = (dir_ / "cert.pem").string();
  o.tls_key = (dir_ / "key.pem").string();
  StartServer(o);
  httplib::SSLClient tls("127.0.0.1", server_->port());
  tls.set_ca_cert_path(o.tls_cert.c_str());
  tls.enable_server_certificate_verification(false);  // issued for localhost, asked as 127.0.0.1
  auto r =
      tls.Post("/api/session", json{{"username", "manager@clinic"}, {"password", kPassword}}.dump(),
               "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  const std::string cookie = r->get_header_value("Set-Cookie");
  EXPECT_EQ(cookie.substr(cookie.find(';')), "; Path=/; HttpOnly; SameSite=Strict; Secure");
  EXPECT_EQ(r->get_header_value("Strict-Transport-Security"), "max-age=31536000");
  httplib::Client plain("127.0.0.1", server_->port());
  plain.set_read_timeout(5, 0);
  auto p = plain.Get("/api/me");
  EXPECT_TRUE(!p || p->status != 200);
  // A certificate that does not load is refused before anything listens.
  server::ServeOptions bad = o;
  bad.tls_key = o.tls_cert;
  auto refused = server::Server::Create(*v_, bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ServerTest, AnAddressFailingOnManyNamesIsThrottledBehindATrustedProxy) {
  StopServer();
  server::ServeOptions o;
  o.trust_proxy = true;
  o.failures_per_address = 3;
  StartServer(o);
  auto login = [&](const std::string& name, const std::string& from) {
    httplib::Headers h = {{"X-Forwarded-For", "10.0.0.1, " + from}};
    return From(Client().Post("/api/session", h,
                              json{{"username", name}, {"password", "wrong password here"}}.dump(),
                              "application/json"));
  };
  EXPECT_EQ(login("a@example.org", "203.0.113.7").status, 401);
  EXPECT_EQ(login("b@example.org", "203.0.113.7").status, 401);
  EXPECT_EQ(login("c@example.org", "203.0.113.7").status, 401);
  Answer throttled = login("d@example.org", "203.0.113.7");
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(throttled.body, json({{"error", "throttled"},
                                  {"message",
                                   "too many failed logins from your address: try "
                                   "again in 15 minutes"}}));
  // Another address (the proxy's last hop says which) is not slowed down.
  EXPECT_EQ(login("d@example.org", "198.51.100.2").status, 401);
}

TEST_F(ServerTest, LongDownloadsCannotTakeTheThreadsShortRequestsNeed) {
  StopServer();
  const std::string big = testing::PseudoRandom(48 << 20, 7);
  const std::string big_id = Store(case_a_, "scan.pdf", big);
  server::ServeOptions o;
  o.threads = 4;
  o.long_requests = 1;
  o.write_timeout = std::chrono::seconds(3);
  StartServer(o);
  Who m = Login("manager@clinic");
  // A client that asks for the download and does not read it: the answer fills the socket's
  // buffers and its thread waits, holding the one long-request slot.
  std::thread stalled([&] {
    const int fd = Connect(4096);
    ASSERT_GE(fd, 0);
    const std::string request = "GET /api/documents/" + big_id +
                                "/content HTTP/1.1\r\nHost: x\r\nCookie: " + m.cookie + "\r\n\r\n";
    ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
    std::this_thread::sleep_for(std::chrono::seconds(2));
    ::close(fd);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Answer busy = Get("/api/documents/" + doc_a_ + "/content", &m);
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.body, json({{"error", "unavailable"},
                             {"message",
                              "the server is busy with other uploads and downloads: try "
                              "again in a minute"}}));
  EXPECT_EQ(busy.Header("Retry-After"), "60");
  EXPECT_EQ(Get("/api/me", &m).status, 200);  // short requests still answered
  stalled.join();
  // Once the stalled download has given up its slot, downloads are served again.
  Answer again;
  for (int i = 0; i < 100; ++i) {
    again = Get("/api/documents/" + doc_a_ + "/content", &m);
    if (again.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.raw, "%PDF-1.4 the epicrisis of A");
}

TEST_F(ServerTest, TheContractDescribesEveryRouteOfTheRoleTableAndNoOther) {
  json table = json::array();
  for (const auto& r : server::internal::Routes())
    table.push_back({{"method", r.method}, {"path", r.path}});
  testing::WriteFile(dir_ / "routes.json", table.dump());
  const auto [rc, out] = Contract("--routes " + (dir_ / "routes.json").string());
  EXPECT_EQ(rc, 0) << out;
  // A route the document lacks fails; so does an operation the table lacks.
  table.push_back({{"method", "GET"}, {"path", "/api/nowhere"}});
  table.erase(table.begin());  // POST /api/session
  testing::WriteFile(dir_ / "routes.json", table.dump());
  const auto [rc2, out2] = Contract("--routes " + (dir_ / "routes.json").string());
  EXPECT_EQ(rc2, 1);
  EXPECT_EQ(out2,
            "the route GET /api/nowhere is not in doc/openapi.yaml\n"
            "doc/openapi.yaml describes POST /api/session, which the role table does not have\n");
}

TEST_F(ServerTest, TheContractCheckRefusesAnswersTheDocumentDoesNotDescribe) {
  // The check itself can fail: an undocumented field, route and status.
  Who m = Login("manager@clinic");
  const Answer real = Get("/api/me", &m);
  ASSERT_EQ(real.status, 200);
  const auto me = [&](int status, const json& body) {
    json headers = json::array();
    for (const auto& [k, v] : real.headers) headers.push_back({k, v});
    return json{{"test", "T"},      {"method", "GET"},    {"route", "/api/me"},
                {"status", status}, {"headers", headers}, {"body", body.dump()}}
        .dump();
  };
  json extra = real.body;
  extra["password"] = "x";
  json elsewhere = json::parse(me(200, real.body));
  elsewhere["route"] = "/api/everything";
  testing::WriteFile(dir_ / "bad.jsonl",
                     me(200, extra) + "\n" + elsewhere.dump() + "\n" + me(418, real.body) + "\n");
  const auto [rc, out] = Contract("--answers " + (dir_ / "bad.jsonl").string());
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out,
            "T: GET /api/me → 200: body: (body) must NOT have additional properties\n"
            "T: GET /api/everything → 200: the route is not in doc/openapi.yaml\n"
            "T: GET /api/me → 418: status 418 is not among the operation's responses\n");
}

TEST_F(ServerTest, TheComplianceOfficerPagesThroughTheAuditLogByItsFilters) {
  Who maria = Login("maria@example.org");
  for (int i = 0; i < 5; ++i) Get("/api/documents/" + doc_a_, &maria);  // five looks at A's
  Get("/api/documents/" + doc_b_, &maria);                              // one refused
  Who c = Login("compliance@clinic");
  // What Maria did to patient A's documents (the fixture stored them: not hers), two at a
  // time, oldest first.
  const std::string reads = "/api/audit?patient=" + pat_a_ +
                            "&action=document.&actor=" + users_["maria@example.org"] + "&limit=2";
  std::vector<int64_t> seqs;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    Answer a = Get(reads + (after.empty() ? "" : "&after=" + after), &c);
    ASSERT_EQ(a.status, 200) << a.raw;
    for (const json& e : a.body["events"]) {
      EXPECT_EQ(e["action"], "document.show");
      EXPECT_EQ(e["patient"], pat_a_);
      EXPECT_EQ(e["actor"], users_["maria@example.org"]);
      EXPECT_EQ(e["role"], "patient");
      EXPECT_EQ(e["objects"], json::array({doc_a_, case_a_}));
      EXPECT_EQ(e["outcome"], "ok");
      seqs.push_back(e["seq"].get<int64_t>());
    }
    if (a.body["next"].is_null()) break;
    EXPECT_EQ(a.body["events"].size(), 2u);
    after = a.body["next"].get<std::string>();
    EXPECT_EQ(after, std::to_string(seqs.back()));
  }
  EXPECT_EQ(seqs.size(), 5u);
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  EXPECT_EQ(std::adjacent_find(seqs.begin(), seqs.end()), seqs.end());
  // The refusal, by its outcome: another patient's document, on record with its reason.
  Answer refused = Get("/api/audit?outcome=refused&actor=" + users_["maria@example.org"], &c);
  ASSERT_EQ(refused.status, 200) << refused.raw;
  ASSERT_EQ(refused.body["events"].size(), 1u) << refused.raw;
  EXPECT_EQ(refused.body["events"][0]["objects"], json::array({doc_b_}));
  EXPECT_EQ(refused.body["events"][0]["reason"], "not_theirs");
  EXPECT_TRUE(refused.body["next"].is_null());
  // A period with nothing in it (the clock of this test is in 2026).
  Answer none = Get("/api/audit?since=2030-01-01", &c);
  EXPECT_EQ(none.body, json({{"events", json::array()}, {"next", nullptr}}));
  // Filters badly written, or not filters: 400 with what to write instead.
  const std::vector<std::pair<std::string, std::string>> bad_filters = {
      {"patient=case_1", "?patient= takes a patient id (pat_…)"},
      {"outcome=maybe", "?outcome= takes ok, refused or failed"},
      {"since=29.11.2026", "?since= takes a date, YYYY-MM-DD"},
      {"since=2026-11-29&until=2026-11-01", "?until=2026-11-01 is before ?since=2026-11-29"},
      {"limit=0", "?limit= takes a number of events, 1 to 1000"},
      {"limit=1001", "?limit= takes a number of events, 1 to 1000"},
      {"after=-1", "?after= takes the `next` of the page before"},
      {"action=DROP%20TABLE",
       "?action= takes an action (document.read), or every action that begins so "
       "when it ends in a dot (document.)"},
      {"patient_id=" + pat_a_,
       "?patient_id= is not a filter of the audit log: patient, actor, action, "
       "outcome, since, until, limit, after"}};
  for (const auto& [query, why] : bad_filters) {
    Answer bad = Get("/api/audit?" + query, &c);
    EXPECT_EQ(bad.status, 400) << query;
    EXPECT_EQ(bad.body, json({{"error", "invalid_input"}, {"message", why}})) << query;
  }
}

TEST_F(ServerTest, APatientsAccessReportSaysWhoDidWhatWithTheirData) {
  Who maria = Login("maria@example.org");
  Who m = Login("manager@clinic");
  Get("/api/documents/" + doc_a_ + "/content", &m);  // the manager reads A's epicrisis
  Get("/api/documents/" + doc_b_, &maria);           // Maria tries B's: on B's report, not hers
  const std::string manager = users_["manager@clinic"];
  // As JSON: every event about her, oldest first: the manager's read, then her asking for
  // this report (on record before it is read).
  Answer mine = Get("/api/patients/" + pat_a_ + "/access-report", &maria);
  ASSERT_EQ(mine.status, 200) << mine.raw;
  EXPECT_EQ(mine.body["patient"], pat_a_);
  const json& events = mine.body["events"];
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[events.size() - 2], json({{"time", events[events.size() - 2]["time"]},
                                             {"actor_id", manager},
                                             {"actor_role", "manager"},
                                             {"action", "document.read"},
                                             {"objects", json::array({doc_a_})},
                                             {"request_id", ""},
                                             {"outcome", "ok"}}));
  EXPECT_EQ(events.back(), json({{"time", events.back()["time"]},
                                 {"actor_id", users_["maria@example.org"]},
                                 {"actor_role", "patient"},
                                 {"action", "audit.report"},
                                 {"objects", json::array({pat_a_})},
                                 {"request_id", ""},
                                 {"outcome", "ok"}}));
  for (const json& e : events) EXPECT_NE(e["objects"], json::array({doc_b_})) << e;
  Who c = Login("compliance@clinic");
  Answer theirs = Get("/api/patients/" + pat_b_ + "/access-report", &c);
  ASSERT_EQ(theirs.status, 200);
  const json& b_events = theirs.body["events"];
  ASSERT_GE(b_events.size(), 2u);
  EXPECT_EQ(b_events[b_events.size() - 2]["actor_id"], users_["maria@example.org"]);
  EXPECT_EQ(b_events[b_events.size() - 2]["outcome"], "refused");
  EXPECT_EQ(b_events.back()["actor_id"], users_["compliance@clinic"]);
  EXPECT_EQ(b_events.back()["action"], "audit.report");
  // As CSV, for a spreadsheet: a BOM, the header row, one CRLF line per event, the same events.
  Answer csv = Get("/api/patients/" + pat_a_ + "/access-report?format=csv", &c);
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.Header("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv.Header("Content-Disposition"),
            "attachment; filename=\"access-report-" + pat_a_ + ".csv\"");
  const std::string header =
      "\xEF\xBB\xBFtime,actor_id,actor_role,action,objects,request_id,outcome\r\n";
  ASSERT_EQ(csv.raw.rfind(header, 0), 0u) << csv.raw;
  const std::string read = "\r\n" + events[events.size() - 2]["time"].get<std::string>() + "," +
                           manager + ",manager,document.read," + doc_a_ + ",,ok\r\n";
  EXPECT_NE(csv.raw.find(read), std::string::npos) << csv.raw;
  const std::string last =
      "," + users_["compliance@clinic"] + ",compliance,audit.report," + pat_a_ + ",,ok\r\n";
  EXPECT_EQ(csv.raw.substr(csv.raw.size() - last.size()), last);
  EXPECT_EQ(std::count(csv.raw.begin(), csv.raw.end(), '\n'),
            static_cast<std::ptrdiff_t>(events.size() + 2));  // the header, and this asking
  // An actor's name (the CLI's --actor) a spreadsheet would run as a formula is text there.
  {
    vault::ActingAs hostile(*v_, {"=HYPERLINK(\"x\",\"y\")", "operator"});
    ASSERT_TRUE(v_->GetPatient(pat_a_).ok());
  }
  Answer quoted = Get("/api/patients/" + pat_a_ + "/access-report?format=csv", &c);
  EXPECT_NE(quoted.raw.find(",\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\",operator,patient.read,"),
            std::string::npos)
      << quoted.raw;
  Answer bad = Get("/api/patients/" + pat_a_ + "/access-report?format=xlsx", &c);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body,
            json({{"error", "invalid_input"}, {"message", "?format= takes json or csv"}}));
}

TEST_F(ServerTest, TheComplianceOfficerVerifiesTheLogAndTakesACheckpointOutside) {
  Who c = Login("compliance@clinic");
  auto key = vault::ReadAuditPublicKey(dir_ / "vault");
  ASSERT_TRUE(key.ok());
  Answer self = Get("/api/audit/verify", &c);
  ASSERT_EQ(self.status, 200) << self.raw;
  EXPECT_EQ(self.body["intact"], true);
  EXPECT_EQ(self.body["anchored"], false);  // checked against itself only
  EXPECT_EQ(self.body["public_key"], *key);
  EXPECT_EQ(self.body["problems"], json::array());
  Answer pinned = Get("/api/audit/verify?pinned_key=" + *key, &c);
  EXPECT_EQ(pinned.body["intact"], true);
  EXPECT_EQ(pinned.body["anchored"], true);
  Answer other = Get("/api/audit/verify?pinned_key=" + std::string(64, '0'), &c);
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.body["intact"], false);
  EXPECT_EQ(other.body["problems"],
            json::array({"the audit log is signed by key " + key->substr(0, 16) +
                         " but you pinned 0000000000000000"}));
  Answer bad = Get("/api/audit/verify?pinned_key=xyz", &c);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(
      bad.body,
      json({{"error", "invalid_input"},
            {"message", "a pinned audit key is 64 hex characters (`dossier audit pubkey`)"}}));
  // A checkpoint taken through the server: the log, grown since, still extends it.
  Answer cp = Get("/api/audit/checkpoint", &c);
  ASSERT_EQ(cp.status, 200) << cp.raw;
  EXPECT_EQ(cp.Header("Content-Disposition"), "attachment; filename=\"audit-checkpoint.txt\"");
  Get("/api/me", &c);
  Login("maria@example.org");  // one more event
  auto later = vault::VerifyAuditLog(dir_ / "vault", {.checkpoint = cp.raw});
  ASSERT_TRUE(later.ok()) << later.status().message();
  EXPECT_TRUE(later->intact()) << later->problems.front();
  ASSERT_TRUE(later->checkpoint_size.has_value());
  EXPECT_LT(*later->checkpoint_size, later->events);
  EXPECT_GE(*later->checkpoint_size, self.body["events"].get<int64_t>());  // lone events come
                                                                           // in group commits
  // Reading the log is itself on record, as the compliance officer who read it.
  const auto verified = Events("audit.verify");
  ASSERT_FALSE(verified.empty());
  EXPECT_EQ(verified.back().actor, users_["compliance@clinic"]);
  Get("/api/audit?limit=1&patient=" + pat_a_, &c);
  const auto read = Events("audit.read");
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].patient, pat_a_);
}

TEST_F(ServerTest, ConnectionsSendWithoutWaitingForDelayedAcks) {
  // The server answers its headers and body in two writes: with Nagle's algorithm on, a
  // client that does not set TCP_NODELAY (wrk, many scripts) waits 40 ms for each answer of a
  // keep-alive connection. The server's end of the connection must have TCP_NODELAY set.
  const int fd = Connect();
  ASSERT_GE(fd, 0);
  const std::string request = "GET /api/me HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  char buf[4096];
  ASSERT_GT(::recv(fd, buf, sizeof buf, 0), 0);  // answered: the server has accepted it
  sockaddr_in mine{};
  socklen_t len = sizeof mine;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &len), 0);
  // The server runs in this process: its end is the socket whose peer is our end.
  int found = 0, nodelay = -1;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int other = std::atoi(entry.path().filename().c_str());
    sockaddr_in peer{};
    socklen_t plen = sizeof peer;
    if (other == fd || ::getpeername(other, reinterpret_cast<sockaddr*>(&peer), &plen) != 0 ||
        peer.sin_family != AF_INET || peer.sin_port != mine.sin_port) {
      continue;
    }
    ++found;
    int on = 0;
    socklen_t olen = sizeof on;
    ASSERT_EQ(::getsockopt(other, IPPROTO_TCP, TCP_NODELAY, &on, &olen), 0);
    nodelay = on;
  }
  ::close(fd);
  EXPECT_EQ(found, 1);
  EXPECT_EQ(nodelay, 1);
}

TEST_F(ServerTest, NoAnswerIsCompressedWhateverTheClientAccepts) {
  // What every browser sends: httplib would answer brotli, at a cost of 50 times the answer's
  // time for a page of a listing.
  Who m = Login("manager@clinic");
  for (const std::string& path : {"/api/cases/" + case_a_ + "/documents", std::string("/api/me"),
                                  std::string("/api/nowhere")}) {
    httplib::Headers h = {{"Cookie", m.cookie}, {"Accept-Encoding", "gzip, deflate, br"}};
    httplib::Client c = Client();
    c.set_decompress(false);
    Answer a = From(c.Get(path, h));
    EXPECT_NE(a.status, 0) << path;
    EXPECT_EQ(a.Header("Content-Encoding"), "") << path;
    EXPECT_FALSE(a.body.is_discarded()) << path << ": " << a.raw.substr(0, 40);
  }
}

TEST_F(ServerTest, RequestsSentTogetherOnOneConnectionAreEachAnswered) {
  // A client may send its next request before the answer to the last (HTTP/1.1 pipelining,
  // or a retry racing an answer): the bytes that came with one request begin the next one.
  const int fd = Connect();
  ASSERT_GE(fd, 0);
  timeval wait{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  const std::string two =
      "GET /api/me HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /api/cases HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(fd, two.data(), two.size(), 0), static_cast<ssize_t>(two.size()));
  std::string answers;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answers.append(buf, n);
  ::close(fd);
  size_t count = 0;
  for (size_t at = 0; (at = answers.find("HTTP/1.1 401 Unauthorized\r\n", at)) != std::string::npos;
       ++at) {
    ++count;
  }
  EXPECT_EQ(count, 2u) << answers;
  const auto second = answers.rfind("HTTP/1.1 ");
  EXPECT_NE(answers.find("Connection: close", second), std::string::npos);
}

// httplib asks its stream for a request body 4 KiB at a time; ConnectionStream answers from
// one receive of up to 128 KiB, where httplib's own stream polls and receives for each 4 KiB.
TEST(ConnectionStreamTest, ABodyAskedForIn4KiBPiecesIsReceivedInLargeOnes) {
  int ends[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, ends), 0);
  const std::string body = testing::PseudoRandom(size_t{1} << 20, 5);
  std::thread sender([&] {
    for (size_t at = 0; at < body.size();) {
      const ssize_t n = ::send(ends[1], body.data() + at, body.size() - at, 0);
      if (n <= 0) break;
      at += static_cast<size_t>(n);
    }
    ::close(ends[1]);
  });
  server::internal::ConnectionStream stream(ends[0], std::chrono::seconds(10),
                                            std::chrono::seconds(10));
  std::string got;
  char piece[4096];
  for (ssize_t n; (n = stream.read(piece, sizeof piece)) > 0;) got.append(piece, n);
  sender.join();
  ::close(ends[0]);
  EXPECT_EQ(got.size(), body.size());
  EXPECT_TRUE(got == body);
  // 256 receives in 4 KiB pieces; a socket pair hands over at least 32 KiB at a time.
  EXPECT_LE(stream.receives(), 64u);
  EXPECT_GE(stream.receives(), 8u);  // 128 KiB at most each
}

}  // namespace
}  // namespace dossier
