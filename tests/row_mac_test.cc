// Row MACs (doc/SECURITY.md, Security 3/3 §2): whoever can write the catalog cannot change a
// plaintext column that a decision reads — a category a consent is checked against, the
// "another patient?" flag that stops a DICOM export, "erased", a page's verdict — without the
// next read naming the row.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "common/encoding.h"
#include "tests/test_util.h"
#include "vault/audit.h"
#include "vault/vault.h"

namespace dossier::vault {
namespace {

using testing::kPassphrase;

std::string Changed(const std::string& what) {
  return what +
         " was changed outside Dossier: its catalog row no longer matches its MAC; restore the "
         "vault from a backup";
}

class RowMacTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    vault_ = dir_ / "vault";
    ASSERT_TRUE(Vault::Create(vault_, kPassphrase, actor_, options_).ok());
    Fill();
  }

  void Fill() {
    auto v = Open();
    patient_ = *v->AddPatient({"Кузнецова Анна", "1971-03-08", "", ""});
    case_ = *v->OpenCase(patient_, "consultation");
    other_case_ = *v->OpenCase(patient_, "second clinic");
    doc_ = Store(*v, "epicrisis.pdf", "%PDF-1.4 epicrisis");
    dicom_ = Store(*v, "IM0001", "DICM bytes");
    ASSERT_TRUE(v->SetCategory(doc_, "epicrisis").ok());
    ASSERT_TRUE(
        v->SetAnalysis(doc_, "handwritten", 1,
                       {{1, "handwritten", 0.9, 0, "ocr", R"({"words":4})", "рукописный текст"}})
            .ok());
    auto series = v->AddDicomInstance(
        dicom_, {"1.2.3", "1.2.3.4", "1.2.3.4.5", 1, "{}", "the name on the disc differs"});
    ASSERT_TRUE(series.ok()) << series.status().message();
    series_ = *series;
  }

  std::unique_ptr<Vault> Open() {
    auto v = Vault::Open(vault_, kPassphrase, actor_, options_);
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? std::move(v).value() : nullptr;
  }

  std::string Store(Vault& v, const std::string& name, const std::string& bytes) {
    auto w = v.BeginDocument({.case_id = case_, .name = name, .kind = "pdf"});
    EXPECT_TRUE(w.ok()) << w.status().message();
    EXPECT_TRUE((*w)->Write(AsBytes(bytes)).ok());
    auto stored = (*w)->Commit();
    EXPECT_TRUE(stored.ok()) << stored.status().message();
    return stored.ok() ? stored->doc_id : "";
  }

  void Tamper(const std::string& sql) { testing::RunSql(vault_ / "catalog.db", sql); }

  fs::path vault_;
  Actor actor_{"alice", "operator"};
  VaultOptions options_;
  std::string patient_, case_, other_case_, doc_, dicom_, series_;
};

TEST_F(RowMacTest, AChangedCategoryIsNamedOnTheNextRead) {
  Tamper(fmt::format("UPDATE documents SET category = 'lab' WHERE id = '{}'", doc_));
  auto v = Open();
  auto d = v->GetDocument(doc_);
  EXPECT_EQ(d.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(d.status().message(), Changed("document " + doc_));
  EXPECT_EQ(v->ListDocuments(case_).status().message(), Changed("document " + doc_));
  EXPECT_EQ(v->Verify(true).status().message(), Changed("document " + doc_));
}

// The review's attack: clearing `mismatch` lifted the DICOM export's "another patient?" refusal.
TEST_F(RowMacTest, AClearedAnotherPatientFlagIsNamed) {
  {
    auto v = Open();
    auto series = v->ListDicomSeries(case_);
    ASSERT_TRUE(series.ok());
    ASSERT_EQ(series->size(), 1u);
    EXPECT_EQ((*series)[0].mismatch, "the name on the disc differs");
  }
  Tamper("UPDATE dicom_series SET mismatch = ''");
  auto v = Open();
  EXPECT_EQ(v->ListDicomSeries(case_).status().message(), Changed("series " + series_));
  EXPECT_EQ(v->GetSeriesPreview(series_).status().message(), Changed("series " + series_));
}

// A later instance adds its reason to the series' flag; a flag cleared outside Dossier is
// named then, never sealed anew by the update.
TEST_F(RowMacTest, EveryReasonIsKeptAndATamperedFlagIsNotSealedAnew) {
  {
    auto v = Open();
    const std::string second = Store(*v, "IM0002", "DICM second");
    ASSERT_TRUE(v->AddDicomInstance(
                     second, {"1.2.3", "1.2.3.4", "1.2.3.4.6", 2, "{}", "the birth date differs"})
                    .ok());
    const std::string third = Store(*v, "IM0003", "DICM third");
    ASSERT_TRUE(v->AddDicomInstance(third, {"1.2.3", "1.2.3.4", "1.2.3.4.7", 3, "{}",
                                            "the birth date differs and the name on the disc "
                                            "differs"})
                    .ok());
    auto series = v->ListDicomSeries(case_);
    ASSERT_TRUE(series.ok()) << series.status().message();
    EXPECT_EQ((*series)[0].mismatch, "the name on the disc differs and the birth date differs");
  }
  Tamper("UPDATE dicom_series SET mismatch = ''");
  auto v = Open();
  const std::string fourth = Store(*v, "IM0004", "DICM fourth");
  EXPECT_EQ(v->AddDicomInstance(
                 fourth, {"1.2.3", "1.2.3.4", "1.2.3.4.8", 4, "{}", "the name on the disc differs"})
                .status()
                .message(),
            Changed("series " + series_));
}

// What an upload said about a document (a wrong-patient warning) cannot be hidden unseen.
TEST_F(RowMacTest, RemovedWarningsAreNamed) {
  {
    auto v = Open();
    ASSERT_TRUE(v->AddWarnings(doc_, {"first", "second"}).ok());
    ASSERT_TRUE(v->AddWarnings(doc_, {"second", "third"}).ok());  // added to, never dropped
    EXPECT_EQ(v->GetDocument(doc_)->warnings,
              (std::vector<std::string>{"first", "second", "third"}));
  }
  EXPECT_EQ(testing::FilesContaining(vault_, "third"), std::vector<std::string>{});  // sealed
  Tamper("UPDATE document_warnings SET warnings_enc = NULL");
  EXPECT_EQ(Open()->GetDocument(doc_).status().message(),
            Changed("the warning list of document " + doc_));
  EXPECT_EQ(Open()->ListDocuments(case_).status().message(),
            Changed("the warning list of document " + doc_));
}

TEST_F(RowMacTest, AMovedDocumentAndAChangedVerdictAreNamed) {
  Tamper(fmt::format("UPDATE documents SET case_id = '{}' WHERE id = '{}'", other_case_, doc_));
  EXPECT_EQ(Open()->ListDocuments(other_case_).status().message(), Changed("document " + doc_));
  Tamper(fmt::format("UPDATE documents SET case_id = '{}' WHERE id = '{}'", case_, doc_));
  ASSERT_TRUE(Open()->ListDocuments(case_).ok());  // put back exactly: valid again

  Tamper("UPDATE pages SET verdict = 'printed'");
  EXPECT_EQ(Open()->GetPages(doc_, false).status().message(), Changed("page " + doc_ + " page 1"));
}

// An erased row keeps a valid MAC (the key is the vault's), so "erased" cannot be forged
// either way.
TEST_F(RowMacTest, ErasureCannotBeForgedOrUndone) {
  ASSERT_TRUE(Open()->ErasePatient(patient_).ok());
  {
    auto v = Open();
    auto patients = v->ListPatients();
    ASSERT_TRUE(patients.ok()) << patients.status().message();
    EXPECT_TRUE((*patients)[0].erased);
    EXPECT_TRUE(v->Verify(true).ok());
  }
  Tamper("UPDATE patients SET erased_at = NULL");
  EXPECT_EQ(Open()->ListPatients().status().message(), Changed("patient " + patient_));
  Tamper("UPDATE patients SET erased_at = '2026-11-29T00:00:00Z'");
  Tamper(fmt::format("UPDATE documents SET status = 'stored' WHERE id = '{}'", doc_));
  EXPECT_EQ(Open()->GetDocument(doc_).status().message(), Changed("document " + doc_));
}

TEST_F(RowMacTest, AManagersCategoryIsNeverOverwrittenAndItsRecordIsSealed) {
  {
    auto v = Open();
    ASSERT_TRUE(v->InferCategory(doc_, Category::kLab, "a test's reason").ok());
    auto c = v->GetCategory(doc_);  // SetUp's set-category was a manager's
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->category, Category::kEpicrisis);
    EXPECT_EQ(c->source, "manager");
  }
  Tamper("UPDATE document_categories SET source = 'inferred'");
  EXPECT_EQ(Open()->GetCategory(doc_).status().message(),
            Changed("the category of document " + doc_));
}

TEST_F(RowMacTest, AnOlderVaultIsUpgradedOnceAndTheKeyCannotBeRemovedAfterwards) {
  // A vault as versions before row MACs made it, with rows in every table.
  vault_ = dir_ / "older";
  options_.legacy_without_row_macs = true;
  ASSERT_TRUE(Vault::Create(vault_, kPassphrase, actor_, options_).ok());
  Fill();
  options_.legacy_without_row_macs = false;
  {
    auto v = Open();  // the first unlock upgrades
    ASSERT_NE(v, nullptr);
    EXPECT_TRUE(v->Verify(true).ok());
    EXPECT_EQ(v->ListDicomSeries(case_)->size(), 1u);
  }
  ASSERT_NE(Open(), nullptr);  // and only once
  auto events = ReadAuditLog(vault_, {});
  int upgrades = 0;
  for (const auto& e : *events) upgrades += e.action == "vault.upgrade";
  EXPECT_EQ(upgrades, 1);
  auto audit = VerifyAuditLog(vault_);
  EXPECT_TRUE(audit->intact());

  // Deleting the key, to have tampered rows sealed anew by an "upgrade", is refused.
  Tamper(
      "DELETE FROM meta WHERE key = 'row_mac_key';"
      "UPDATE documents SET category = 'lab', row_mac = NULL;");
  auto v = Vault::Open(vault_, kPassphrase, actor_, options_);
  EXPECT_EQ(v.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(v.status().message(),
            "the row MAC key was removed from the catalog outside Dossier (the audit log shows "
            "this vault had one): restore the vault from a backup");
}

}  // namespace
}  // namespace dossier::vault
