// The pure parts of exports: the consent gate's decisions and reasons (every state a consent
// can be in, without waiting for a date to pass), the part plan, and the due date's working
// days.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "exporter/gate.h"
#include "exporter/plan.h"

namespace dossier::exporter {
namespace {

vault::ConsentRecord Consent(const std::string& id) {
  vault::ConsentRecord c;
  c.id = id;
  c.patient_id = "pat_1";
  c.clinic_id = "cli_1";
  c.purposes = {Purpose::kSecondOpinion};
  c.categories = {Category::kEpicrisis, Category::kImaging};
  c.actions = "transfer,storage";
  c.valid_from = "2026-01-01";
  c.valid_until = "2026-12-31";
  c.recorded_at = "2026-01-01T10:00:00Z";
  return c;
}

GateRequest Request(const std::string& today = "2026-06-01") {
  GateRequest r;
  r.patient_id = "pat_1";
  r.clinic_id = "cli_1";
  r.today = today;
  r.documents = {{"doc_a", Category::kEpicrisis}, {"doc_b", Category::kImaging}};
  return r;
}

TEST(GateTest, AnActiveConsentCoveringEverythingLetsTheExportThrough) {
  auto d = CheckConsent({Consent("con_1")}, Request());
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->consent_id, "con_1");
  EXPECT_EQ(d->purpose, Purpose::kSecondOpinion);  // the consent's only purpose
}

TEST(GateTest, EachStateOfAConsentRefusesWithItsDate) {
  EXPECT_EQ(CheckConsent({Consent("con_1")}, Request("2027-01-01")).status().message(),
            "consent con_1 expired on 2026-12-31: record a new consent");
  EXPECT_EQ(CheckConsent({Consent("con_1")}, Request("2025-12-31")).status().message(),
            "consent con_1 is valid only from 2026-01-01");
  auto revoked = Consent("con_1");
  revoked.revoked_at = "2026-05-02T09:00:00Z";
  revoked.revocation_received = "2026-05-01";
  const auto r = CheckConsent({revoked}, Request());
  EXPECT_EQ(r.status().code(), StatusCode::kRejected);
  EXPECT_EQ(r.status().message(),
            "consent con_1 was revoked on 2026-05-01: nothing goes to clinic cli_1 until a new "
            "consent is recorded");
  auto storage_only = Consent("con_1");
  storage_only.actions = "storage";
  EXPECT_EQ(CheckConsent({storage_only}, Request()).status().message(),
            "consent con_1 does not allow transfer to the clinic (it allows: storage)");
  EXPECT_EQ(CheckConsent({}, Request()).status().message(),
            "patient pat_1 has no consent for clinic cli_1: record one with `dossier consent "
            "add --patient pat_1 --clinic cli_1 …`");
  auto other_clinic = Consent("con_1");
  other_clinic.clinic_id = "cli_2";
  EXPECT_EQ(CheckConsent({other_clinic}, Request()).status().code(), StatusCode::kRejected);
}

TEST(GateTest, PurposesAndCategoriesAreCheckedDocumentByDocument) {
  auto req = Request();
  req.purpose = Purpose::kTreatment;
  EXPECT_EQ(CheckConsent({Consent("con_1")}, req).status().message(),
            "consent con_1 does not cover the purpose treatment (it covers: second-opinion)");
  auto two = Consent("con_1");
  two.purposes = {Purpose::kSecondOpinion, Purpose::kTreatment};
  const auto ask = CheckConsent({two}, Request());
  EXPECT_EQ(ask.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ask.status().message(),
            "consent con_1 covers several purposes (second-opinion, treatment): say which with "
            "--purpose");
  req = Request();
  req.documents.push_back({"doc_c", Category::kLab});
  req.documents.push_back({"doc_d", Category::kOther});
  EXPECT_EQ(CheckConsent({Consent("con_1")}, req).status().message(),
            "consent con_1 does not cover 2 of the chosen documents: doc_c (lab), doc_d (other); "
            "it covers epicrisis, imaging. Leave them out with --docs, or record a consent that "
            "covers them");
}

TEST(GateTest, TheClosestConsentExplainsARefusalAndAnyCoveringOneIsTaken) {
  auto expired = Consent("con_old");
  expired.valid_until = "2026-03-01";
  auto narrow = Consent("con_narrow");
  narrow.categories = {Category::kEpicrisis};
  // The active one comes closer than the expired one: its reason is given.
  EXPECT_EQ(CheckConsent({expired, narrow}, Request()).status().message(),
            "consent con_narrow does not cover one of the chosen documents: doc_b (imaging); it "
            "covers epicrisis. Leave them out with --docs, or record a consent that covers them");
  auto d = CheckConsent({expired, narrow, Consent("con_good")}, Request());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->consent_id, "con_good");
}

TEST(PlanTest, SeriesStayTogetherWhenTheyFitAndSplitByInstanceWhenNot) {
  std::vector<PlanItem> items = {
      {"doc_1", "", 300, 10},      {"doc_2", "", 300, 10},     {"i1", "ser_a", 200, 10},
      {"i2", "ser_a", 200, 10},    {"j1", "ser_b", 300, 10},   {"j2", "ser_b", 300, 10},
      {"j3", "ser_b", 300, 10},
  };
  auto plan = PlanParts(items, 1000, 100, 50, "1000");
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  for (const auto& p : *plan) EXPECT_LE(p.bound, 1000u);
  // doc_1 + doc_2 (620) and ser_a (470) do not fit one part of 900 room: ser_a opens part 2;
  // ser_b (980) fits no part whole, so it fills part 2, then part 3.
  ASSERT_EQ(plan->size(), 3u);
  EXPECT_EQ((*plan)[0].items, (std::vector<size_t>{0, 1}));
  EXPECT_EQ((*plan)[1].items, (std::vector<size_t>{2, 3, 4}));
  EXPECT_EQ((*plan)[2].items, (std::vector<size_t>{5, 6}));
  EXPECT_EQ((*plan)[0].bound, 100u + 620);
  EXPECT_EQ((*plan)[1].bound, 100u + 470 + 360);
  EXPECT_EQ((*plan)[2].bound, 100u + 360 + 310);
}

TEST(PlanTest, AFileLargerThanAnyPartIsRefusedByIdWithTheWaysOut) {
  auto plan = PlanParts({{"doc_big", "", 5000, 10}}, 1000, 100, 50, "1KB");
  EXPECT_EQ(plan.status().code(), StatusCode::kRejected);
  EXPECT_EQ(plan.status().message(),
            "document doc_big is 5000 bytes: larger than a part of --max-part 1KB can hold with "
            "its index (900 bytes). Give a larger --max-part, re-compress imaging with JPEG-LS, "
            "or send it on physical media");
  EXPECT_EQ(PlanParts({}, 100, 100, 50, "100").status().code(), StatusCode::kInvalidArgument);
}

TEST(DueDateTest, FiveWorkingDaysSkipTheWeekend) {
  EXPECT_EQ(AddWorkingDays("2026-11-30", 5), "2026-12-07");  // Monday → next Monday
  EXPECT_EQ(AddWorkingDays("2026-12-04", 5), "2026-12-11");  // Friday → next Friday
  EXPECT_EQ(AddWorkingDays("2026-12-05", 5), "2026-12-11");  // Saturday → Friday
  EXPECT_EQ(AddWorkingDays("2026-12-06", 1), "2026-12-07");  // Sunday → Monday
  EXPECT_EQ(AddWorkingDays("2026-12-30", 3), "2027-01-04");  // across the year
}

}  // namespace
}  // namespace dossier::exporter
