// A case's listing is kept in memory while nothing in the case changes (Server 1/4, issue 18;
// doc/FORMAT.md §Case changes): a server lists a 10,000-document case without checking and
// decrypting every row each time, and still shows every change at once — its own, another
// thread's, or another process's (here a second open of the same vault, as the CLI beside the
// server) — and still names a row an attacker changed. Real vault, real SQLite.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "tests/test_util.h"
#include "vault/audit.h"
#include "vault/vault.h"

namespace dossier::vault {
namespace {

using testing::kPassphrase;

class ListingCacheTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    vault_dir_ = dir_ / "vault";
    ASSERT_TRUE(Vault::Create(vault_dir_, kPassphrase, actor_).ok());
    server_ = Open();
    cli_ = Open();
    ASSERT_TRUE(server_ && cli_);
    patient_ = *cli_->AddPatient({"Соколова Вера", "1968-11-02", "", ""});
    case_ = *cli_->OpenCase(patient_, "consultation");
    other_case_ = *cli_->OpenCase(patient_, "second opinion");
    for (const char* name : {"epicrisis.pdf", "mri.pdf", "lab.pdf"}) {
      docs_.push_back(Store(*cli_, case_, name, std::string("%PDF-1.4 ") + name));
    }
  }

  std::unique_ptr<Vault> Open() {
    auto v = Vault::Open(vault_dir_, kPassphrase, actor_);
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? std::move(v).value() : nullptr;
  }

  static std::string Store(Vault& v, const std::string& case_id, const std::string& name,
                           const std::string& bytes) {
    auto w = v.BeginDocument({.case_id = case_id, .name = name, .kind = "pdf"});
    EXPECT_TRUE(w.ok()) << w.status().message();
    EXPECT_TRUE((*w)->Write(AsBytes(bytes)).ok());
    auto stored = (*w)->Commit();
    EXPECT_TRUE(stored.ok()) << stored.status().message();
    return stored.ok() ? stored->doc_id : "";
  }

  // The server's listing of `case_id`, document id → "name|category|status|series|warnings".
  std::map<std::string, std::string> Listed(const std::string& case_id) {
    auto docs = server_->ListDocuments(case_id);
    EXPECT_TRUE(docs.ok()) << docs.status().message();
    std::map<std::string, std::string> out;
    if (!docs.ok()) return out;
    for (const DocumentRecord& d : *docs) {
      std::string warnings;
      for (const std::string& w : d.warnings) warnings += w + ";";
      out[d.id] =
          fmt::format("{}|{}|{}|{}|{}", d.name, d.category, d.status, d.series_id, warnings);
    }
    return out;
  }

  fs::path vault_dir_;
  Actor actor_{"alice", "operator"};
  std::unique_ptr<Vault> server_, cli_;
  std::string patient_, case_, other_case_;
  std::vector<std::string> docs_;
};

TEST_F(ListingCacheTest, AnUnchangedCaseIsReadOnceAndEveryListingIsStillAudited) {
  const auto first = Listed(case_);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first.at(docs_[0]), "epicrisis.pdf|other|stored||");
  EXPECT_EQ(server_->listings_read(), 1u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Listed(case_), first);
  EXPECT_EQ(server_->listings_read(), 1u);

  // Another case changing is not this case changing.
  Store(*cli_, other_case_, "other.pdf", "%PDF-1.4 other");
  EXPECT_EQ(Listed(case_), first);
  EXPECT_EQ(server_->listings_read(), 1u);

  AuditFilter filter;
  filter.action = "document.list";
  auto events = ReadAuditLog(vault_dir_, filter);
  ASSERT_TRUE(events.ok()) << events.status().message();
  EXPECT_EQ(events->size(), 6u);  // one per listing, kept or not
}

// Each kind of change another process makes to the case — every table the listing shows —
// is seen by the very next listing, and only that listing reads the rows again.
TEST_F(ListingCacheTest, EveryChangeByAnotherProcessIsShownByTheNextListing) {
  ASSERT_EQ(Listed(case_).size(), 3u);
  uint64_t reads = server_->listings_read();
  auto changed_once = [&] {
    EXPECT_EQ(server_->listings_read(), ++reads);
    Listed(case_);
    EXPECT_EQ(server_->listings_read(), reads);  // then kept again
  };

  ASSERT_TRUE(cli_->SetCategory(docs_[0], "epicrisis").ok());  // documents, document_categories
  EXPECT_EQ(Listed(case_).at(docs_[0]), "epicrisis.pdf|epicrisis|stored||");
  changed_once();

  ASSERT_TRUE(cli_->AddWarnings(docs_[1], {"the scan is blurred"}).ok());  // document_warnings
  EXPECT_EQ(Listed(case_).at(docs_[1]), "mri.pdf|other|stored||the scan is blurred;");
  changed_once();

  auto series = cli_->AddDicomInstance(docs_[1], {"1.2.3", "1.2.3.4", "1.2.3.4.5", 1, "{}", ""});
  ASSERT_TRUE(series.ok()) << series.status().message();  // dicom_instances
  EXPECT_EQ(Listed(case_).at(docs_[1]),
            "mri.pdf|other|stored|" + *series + "|the scan is blurred;");
  changed_once();

  ASSERT_TRUE(cli_->Remove(docs_[2], "a duplicate of the March scan").ok());  // removals
  EXPECT_EQ(Listed(case_).at(docs_[2]), "|other|removed||");
  changed_once();

  ASSERT_TRUE(cli_->Move(docs_[0], other_case_).ok());  // documents.case_id, both cases
  EXPECT_EQ(Listed(case_).count(docs_[0]), 0u);
  changed_once();
  EXPECT_EQ(Listed(other_case_).at(docs_[0]), "epicrisis.pdf|epicrisis|stored||");

  const std::string added = Store(*cli_, case_, "new.pdf", "%PDF-1.4 new");
  EXPECT_EQ(Listed(case_).at(added), "new.pdf|other|stored||");
}

// The server's own writes, from another thread of the same open, count the same way.
TEST_F(ListingCacheTest, AChangeThroughTheSameOpenIsShownByTheNextListing) {
  ASSERT_EQ(Listed(case_).size(), 3u);
  ASSERT_TRUE(server_->SetCategory(docs_[1], "imaging").ok());
  EXPECT_EQ(Listed(case_).at(docs_[1]), "mri.pdf|imaging|stored||");
  EXPECT_EQ(server_->listings_read(), 2u);
}

// The kept listing is no way around the row MACs: a row changed behind Dossier's back after
// the case was listed is named by the next listing, as it would be without one kept.
TEST_F(ListingCacheTest, ARowChangedOutsideDossierAfterAListingIsStillNamed) {
  ASSERT_EQ(Listed(case_).size(), 3u);
  testing::RunSql(vault_dir_ / "catalog.db",
                  fmt::format("UPDATE documents SET category = 'lab' WHERE id = '{}'", docs_[0]));
  auto docs = server_->ListDocuments(case_);
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(docs.status().message(),
            "document " + docs_[0] +
                " was changed outside Dossier: its catalog row no longer matches its MAC; "
                "restore the vault from a backup");
}

// An erasure by another process or by this one leaves no name of the patient's documents in
// what the server lists.
TEST_F(ListingCacheTest, AnErasedPatientsDocumentsAreNotListedByName) {
  ASSERT_EQ(Listed(case_).size(), 3u);
  ASSERT_EQ(Listed(other_case_).size(), 0u);
  ASSERT_TRUE(cli_->ErasePatient(patient_).ok());
  const auto listed = Listed(case_);
  EXPECT_EQ(listed.size(), 3u);
  for (const auto& [id, shown] : listed) EXPECT_EQ(shown, "|other|erased||") << id;
}

TEST_F(ListingCacheTest, AnErasureByTheSameOpenDropsTheKeptListing) {
  ASSERT_EQ(Listed(case_).size(), 3u);
  ASSERT_TRUE(server_->ErasePatient(patient_).ok());
  for (const auto& [id, shown] : Listed(case_)) EXPECT_EQ(shown, "|other|erased||") << id;
  EXPECT_EQ(server_->listings_read(), 2u);
}

}  // namespace
}  // namespace dossier::vault
