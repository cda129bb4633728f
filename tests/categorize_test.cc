// The category rules (ingest/categorize.h): every phrase of the table, in a heading, gives its
// category with a reason naming the phrase; deeper in the page it does not; order decides.
#include "ingest/categorize.h"

#include <gtest/gtest.h>

#include <string>

namespace dossier::ingest {
namespace {

TEST(CategorizeTest, EveryPhraseOfTheTableInAHeadingGivesItsCategory) {
  int phrases = 0;
  for (const CategoryRule& rule : CategoryRules()) {
    for (std::string_view phrase : rule.phrases) {
      ++phrases;
      // After a clinic's letterhead.
      const std::string page =
          "ГБУЗ «Городская больница № 1»\nг. Москва\n\n" + std::string(phrase) + "\nПациент: …\n";
      auto got = InferCategory(page);
      ASSERT_TRUE(got.has_value()) << phrase;
      EXPECT_EQ(got->category, rule.category) << phrase;
      EXPECT_EQ(got->reason, "the first page's heading says «" + std::string(phrase) + "»");
    }
  }
  EXPECT_GE(phrases, 15);
}

TEST(CategorizeTest, RussianAndEnglishHeadingsInAnyCase) {
  EXPECT_EQ(InferCategory("ВЫПИСНОЙ ЭПИКРИЗ\nФИО: …")->category, Category::kEpicrisis);
  EXPECT_EQ(InferCategory("Discharge Summary\nName: …")->category, Category::kEpicrisis);
  EXPECT_EQ(InferCategory("ОБЩИЙ АНАЛИЗ КРОВИ\nГемоглобин 138 г/л")->category, Category::kLab);
  EXPECT_EQ(InferCategory("Complete Blood Count (CBC)\nHGB 13.8")->category, Category::kLab);
  EXPECT_EQ(InferCategory("НАПРАВЛЕНИЕ на консультацию")->category, Category::kReferral);
  EXPECT_EQ(InferCategory("МРТ поясничного отдела\nЗАКЛЮЧЕНИЕ\nГрыжа диска L5-S1")->category,
            Category::kConclusion);
  EXPECT_EQ(InferCategory("MRI REPORT\nFindings: …")->category, Category::kConclusion);
  // An epicrisis has a conclusion further down: the heading decides.
  EXPECT_EQ(InferCategory("Выписной эпикриз\nДиагноз: …\nЗаключение: …")->category,
            Category::kEpicrisis);
}

TEST(CategorizeTest, NoHeadingNoGuess) {
  EXPECT_FALSE(InferCategory("").has_value());
  EXPECT_FALSE(InferCategory("Уважаемый доктор,\nпрошу принять пациента").has_value());
  std::string deep = "Строка\n";
  for (int i = 0; i < kHeadingLines; ++i) deep += "текст " + std::to_string(i) + "\n";
  EXPECT_FALSE(InferCategory(deep + "ЗАКЛЮЧЕНИЕ\n").has_value());  // below the heading lines
  EXPECT_EQ(DicomCategory().category, Category::kImaging);
}

}  // namespace
}  // namespace dossier::ingest
