// A document's rendition (OCR check 3/3, doc/FORMAT.md §Renditions): the JPEG copy of a HEIC
// photo, a second sealed object of the same document. Kept durable and audited, shown by
// listings, moved with its document (its key rewrapped), deleted with it when it is removed or
// its patient erased, counted by `vault verify`, spared by the orphan sweep, and defended like
// every other row against whoever can write the vault folder.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "tests/test_util.h"
#include "vault/audit.h"
#include "vault/vault.h"

namespace dossier::vault {
namespace {

using testing::kPassphrase;

// Not a real JPEG: the vault keeps bytes; what makes them is ingest's business.
const std::string kJpeg = "\xFF\xD8\xFF\xE0 a JPEG copy of the photo \xFF\xD9";
const std::string kPhoto = "....ftypheic a HEIC photo of an epicrisis";

class RenditionTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    vault_ = dir_ / "vault";
    ASSERT_TRUE(Vault::Create(vault_, kPassphrase, actor_, {}).ok());
    auto v = Open();
    patient_ = *v->AddPatient({"Кузнецова Анна", "1971-03-08", "", ""});
    case_ = *v->OpenCase(patient_, "consultation");
    photo_ = Store(*v, case_, "IMG_0412.HEIC", "heic", kPhoto);
    ASSERT_TRUE(v->StoreRendition(photo_, "jpeg", AsBytes(kJpeg)).ok());
  }

  std::unique_ptr<Vault> Open() {
    auto v = Vault::Open(vault_, kPassphrase, actor_, {});
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? std::move(v).value() : nullptr;
  }

  static std::string Store(Vault& v, const std::string& case_id, const std::string& name,
                           const std::string& kind, const std::string& bytes) {
    auto w = v.BeginDocument({.case_id = case_id, .name = name, .kind = kind});
    EXPECT_TRUE(w.ok()) << w.status().message();
    EXPECT_TRUE((*w)->Write(AsBytes(bytes)).ok());
    auto stored = (*w)->Commit();
    EXPECT_TRUE(stored.ok()) << stored.status().message();
    return stored.ok() ? stored->doc_id : "";
  }

  static Result<std::string> Read(Vault& v, const std::string& doc,
                                  DocumentCopy copy = DocumentCopy::kRendition) {
    testing::StringSink out;
    DOSSIER_RETURN_IF_ERROR(v.ReadDocument(doc, out, copy));
    return out.data;
  }

  std::string RenditionObject() {
    return testing::QueryText(vault_ / "catalog.db",
                              "SELECT object_id FROM renditions WHERE doc_id = '" + photo_ + "'");
  }
  bool ObjectFileExists(const std::string& object_id) {
    return fs::exists(vault_ / "objects" / object_id.substr(0, 2) / object_id);
  }

  fs::path vault_;
  Actor actor_{"alice", "manager"};
  std::string patient_, case_, photo_;
};

TEST_F(RenditionTest, IsListedReadAsItselfAndPutOnRecord) {
  auto v = Open();
  auto list = v->ListDocuments(case_);
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].rendition, "jpeg");
  EXPECT_EQ((*list)[0].rendition_size, kJpeg.size());
  EXPECT_EQ((*list)[0].size, kPhoto.size());
  EXPECT_EQ(*Read(*v, photo_), kJpeg);
  EXPECT_EQ(*Read(*v, photo_, DocumentCopy::kAsUploaded), kPhoto);  // the photo, unchanged

  // Its own object: another file, another key, not the photo's re-encrypted.
  const std::string object = RenditionObject();
  ASSERT_EQ(object.size(), 32u);
  EXPECT_NE(object, (*list)[0].object_id);
  EXPECT_TRUE(ObjectFileExists(object));
  EXPECT_EQ(testing::FilesContaining(vault_, "a JPEG copy of the photo"),
            std::vector<std::string>{});

  auto events = ReadAuditLog(vault_, {.action = "document."});
  ASSERT_TRUE(events.ok());
  std::vector<std::string> seen;
  for (const auto& e : *events) {
    seen.push_back(e.action + (e.details.count("copy") ? ":" + e.details.at("copy") : ""));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"document.store", "document.render", "document.list",
                                            "document.read:rendition", "document.read"}));
  EXPECT_EQ((*events)[1].objects, (std::vector<std::string>{photo_, case_}));
}

TEST_F(RenditionTest, OnlyAStoredDocumentTakesOneJpegOnlyOnce) {
  auto v = Open();
  const std::string pdf = Store(*v, case_, "epicrisis.pdf", "pdf", "%PDF-1.4 epicrisis");
  const Status twice = v->StoreRendition(photo_, "jpeg", AsBytes(kJpeg));
  EXPECT_EQ(twice.code(), StatusCode::kRejected);
  EXPECT_EQ(twice.message(), "document " + photo_ + " has a rendition already");
  EXPECT_EQ(v->StoreRendition(pdf, "png", AsBytes(kJpeg)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(v->StoreRendition(pdf, "jpeg", {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(v->StoreRendition("doc_0000000000", "jpeg", AsBytes(kJpeg)).code(),
            StatusCode::kNotFound);
  auto none = Read(*v, pdf);
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(none.status().message(), "document " + pdf +
                                         " has no rendition: only a HEIC photo gets one (its "
                                         "JPEG copy)");
  ASSERT_TRUE(v->Remove(pdf, "sent by mistake").ok());
  const Status removed = v->StoreRendition(pdf, "jpeg", AsBytes(kJpeg));
  EXPECT_EQ(removed.code(), StatusCode::kRejected);
  EXPECT_EQ(removed.message(), "document " + pdf + " is removed: it takes no rendition");
  // Nothing was left behind by the refusals: no orphan object.
  auto verify = v->Verify(false, nullptr);
  ASSERT_TRUE(verify.ok());
  EXPECT_TRUE(verify->orphans.empty());
}

TEST_F(RenditionTest, IsCheckedByVerifyAndSparedByTheOrphanSweep) {
  const std::string object = RenditionObject();
  {
    auto v = Open();  // each open sweeps orphans: the copy is not one
    auto verify = v->Verify(false, nullptr);
    ASSERT_TRUE(verify.ok());
    EXPECT_TRUE(verify->intact());
    EXPECT_TRUE(verify->orphans.empty());
    EXPECT_EQ(verify->checked, 2);  // the photo and its copy
    EXPECT_EQ(verify->bytes, kPhoto.size() + kJpeg.size());
  }
  EXPECT_TRUE(ObjectFileExists(object));
  fs::remove(vault_ / "objects" / object.substr(0, 2) / object);
  auto v = Open();
  auto verify = v->Verify(false, nullptr);
  ASSERT_TRUE(verify.ok());
  ASSERT_EQ(verify->issues.size(), 1u);
  EXPECT_EQ(verify->issues[0].doc_id, photo_);
  EXPECT_EQ(verify->issues[0].problem, "missing");
  EXPECT_EQ(verify->issues[0].detail, "object file " + object + " is missing");
}

TEST_F(RenditionTest, MovesWithItsDocumentToAnotherPatientsCase) {
  auto v = Open();
  const std::string other = *v->AddPatient({"Петров Пётр", "1960-01-01", "", ""});
  const std::string other_case = *v->OpenCase(other, "consultation");
  auto moved = v->Move(photo_, other_case);
  ASSERT_TRUE(moved.ok()) << moved.status().message();
  // Its key was wrapped anew for the new patient and case: it still opens.
  EXPECT_EQ(*Read(*v, photo_), kJpeg);
  auto list = v->ListDocuments(other_case);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].rendition, "jpeg");
  auto verify = v->Verify(false, nullptr);
  EXPECT_TRUE(verify->intact());
}

TEST_F(RenditionTest, GoesWhenItsDocumentIsRemovedOrItsPatientErased) {
  const std::string first = RenditionObject();
  std::string second;
  std::string photo2;
  {
    auto v = Open();
    photo2 = Store(*v, case_, "IMG_0413.HEIC", "heic", kPhoto + " 2");
    ASSERT_TRUE(v->StoreRendition(photo2, "jpeg", AsBytes(kJpeg + " 2")).ok());
    second = testing::QueryText(vault_ / "catalog.db",
                                "SELECT object_id FROM renditions WHERE doc_id = '" + photo2 + "'");
    ASSERT_TRUE(v->Remove(photo_, "a photo of the wrong page").ok());
    EXPECT_FALSE(ObjectFileExists(first));
    auto read = Read(*v, photo_);
    EXPECT_EQ(read.status().code(), StatusCode::kRejected);
    auto list = v->ListDocuments(case_);
    EXPECT_EQ((*list)[0].rendition, "");
    ASSERT_TRUE(v->ErasePatient(patient_).ok());
    EXPECT_FALSE(ObjectFileExists(second));
    auto verify = v->Verify(false, nullptr);
    ASSERT_TRUE(verify.ok());
    EXPECT_TRUE(verify->intact());
    EXPECT_TRUE(verify->orphans.empty());
  }
  EXPECT_EQ(testing::QueryText(vault_ / "catalog.db", "SELECT count(*) FROM renditions"), "0");
}

TEST_F(RenditionTest, AChangedOrSwappedRowIsNamed) {
  std::string photo2;
  {
    auto v = Open();
    photo2 = Store(*v, case_, "IMG_0413.HEIC", "heic", kPhoto + " 2");
    ASSERT_TRUE(v->StoreRendition(photo2, "jpeg", AsBytes(kJpeg + " 2")).ok());
  }
  testing::RunSql(vault_ / "catalog.db",
                  fmt::format("UPDATE renditions SET size = 3 WHERE doc_id = '{}'", photo_));
  {
    auto v = Open();
    auto list = v->ListDocuments(case_);
    EXPECT_EQ(list.status().code(), StatusCode::kCorrupt);
    EXPECT_EQ(list.status().message(),
              "the rendition of document " + photo_ +
                  " was changed outside Dossier: its catalog row no longer matches its MAC; "
                  "restore the vault from a backup");
    EXPECT_EQ(Read(*v, photo_).status().code(), StatusCode::kCorrupt);
  }
  // The keys of two copies swapped: each is bound to its own object and document.
  testing::RunSql(vault_ / "catalog.db",
                  fmt::format("UPDATE renditions SET size = {} WHERE doc_id = '{}'; "
                              "UPDATE renditions SET wrapped_key = (SELECT wrapped_key FROM "
                              "renditions WHERE doc_id = '{}') WHERE doc_id = '{}'",
                              kJpeg.size(), photo_, photo2, photo_));
  auto v = Open();
  auto swapped = Read(*v, photo_);
  EXPECT_EQ(swapped.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(swapped.status().message().find("its data key does not open"), std::string::npos)
      << swapped.status().message();
}

}  // namespace
}  // namespace dossier::vault
