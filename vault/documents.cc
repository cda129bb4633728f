// Documents: streamed storage with duplicate detection, audited reads, verification.
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "common/encoding.h"
#include "vault/internal/crypto.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::Stmt;
using internal::Transaction;

namespace {

class DocumentWriterImpl final : public DocumentWriter {
 public:
  DocumentWriterImpl(Vault::Impl& v, NewDocument doc, std::string patient_id, std::string object_id,
                     SecureBuffer data_key, std::unique_ptr<internal::ObjectWriter> writer)
      : v_(v),
        doc_(std::move(doc)),
        patient_id_(std::move(patient_id)),
        object_id_(std::move(object_id)),
        data_key_(std::move(data_key)),
        writer_(std::move(writer)) {}

  Status Write(std::span<const uint8_t> data) override { return writer_->Write(data); }

  Result<StoreOutcome> Commit() override {
    if (doc_.digest_by_caller) return Internal("this document's digest comes from the caller");
    return CommitObject(std::nullopt);
  }

  Result<StoreOutcome> CommitWithDigest(const ContentDigest& digest) override {
    if (!doc_.digest_by_caller) return Internal("this document is hashed by the vault");
    return CommitObject(digest);
  }

 private:
  Result<StoreOutcome> CommitObject(std::optional<ContentDigest> digest) {
    auto writing = v_.Write();
    // 1. The object becomes durable (temp → fsync → rename → fsync dir) ...
    const bool batched = v_.batch_.has_value() && v_.OwnsBatch();
    DOSSIER_ASSIGN_OR_RETURN(internal::WrittenObject obj, writer_->Finish(!batched));
    if (!digest) digest = obj.content_digest;
    // Duplicates are found by a keyed MAC of the digest: the catalog reveals nothing about
    // the content to whoever lacks the vault's key.
    Bytes content_mac(32);
    crypto_generichash(content_mac.data(), content_mac.size(), digest->data(), digest->size(),
                       v_.mac_key_.data(), v_.mac_key_.size());
    StoreOutcome out;
    out.size = obj.plain_size;
    // 2. ... and only then does a committed row refer to it. A crash in between leaves an
    // orphan object that the next open sweeps.
    auto result = [&]() -> Status {
      DOSSIER_ASSIGN_OR_RETURN(auto tx, Vault::Impl::Tx::Begin(v_));
      // Another process may have closed the case since BeginDocument (an erasure is caught
      // by Keys).
      DOSSIER_ASSIGN_OR_RETURN(Vault::Impl::CaseRef c, v_.FindCase(doc_.case_id));
      DOSSIER_RETURN_IF_ERROR(Vault::Impl::CheckTakesDocuments(doc_.case_id, c));
      DOSSIER_ASSIGN_OR_RETURN(Stmt dup,
                               v_.Conn().Prepare("SELECT id FROM documents WHERE case_id = ? AND "
                                                 "content_mac = ? AND status = 'stored' LIMIT 1"));
      dup.Bind(1, doc_.case_id).BindBlob(2, content_mac);
      DOSSIER_ASSIGN_OR_RETURN(bool is_dup, dup.Step());
      if (is_dup) {
        out.duplicate = true;
        out.doc_id = dup.Text(0);
        DOSSIER_RETURN_IF_ERROR(
            v_.Audit("document.duplicate", {out.doc_id, doc_.case_id}, patient_id_));
        return tx.Commit();
      }
      out.doc_id = RandomId("doc");
      DOSSIER_ASSIGN_OR_RETURN(Bytes name_enc,
                               v_.SealField(patient_id_, "documents.name", out.doc_id, doc_.name));
      const Vault::Impl::ObjectBinding binding{patient_id_,  object_id_,     out.doc_id,
                                               doc_.case_id, obj.plain_size, obj.stored_size};
      DOSSIER_ASSIGN_OR_RETURN(Bytes wrapped, v_.WrapObjectKey(binding, data_key_));
      DOSSIER_ASSIGN_OR_RETURN(
          Stmt ins, v_.Conn().Prepare(
                        "INSERT INTO documents(id, case_id, patient_id, object_id, name_enc, kind, "
                        "category, size, stored_size, wrapped_key, content_mac, added_at) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"));
      ins.Bind(1, out.doc_id).Bind(2, doc_.case_id).Bind(3, patient_id_).Bind(4, object_id_);
      ins.BindBlob(5, name_enc).Bind(6, doc_.kind).Bind(7, doc_.category);
      ins.Bind(8, static_cast<int64_t>(obj.plain_size))
          .Bind(9, static_cast<int64_t>(obj.stored_size));
      ins.BindBlob(10, wrapped).BindBlob(11, content_mac).Bind(12, v_.Now());
      DOSSIER_RETURN_IF_ERROR(ins.Run());
      DOSSIER_RETURN_IF_ERROR(v_.SealRows(internal::RowTable::kDocuments, "id = ?1", {out.doc_id}));
      if (!doc_.category_reason.empty()) {
        DOSSIER_ASSIGN_OR_RETURN(
            Stmt how, v_.Conn().Prepare("INSERT INTO document_categories(doc_id, source, reason) "
                                        "VALUES (?, ?, ?)"));
        how.Bind(1, out.doc_id)
            .Bind(2, doc_.reply_to.empty() ? "inferred" : "reply")
            .Bind(3, doc_.category_reason);
        DOSSIER_RETURN_IF_ERROR(how.Run());
        DOSSIER_RETURN_IF_ERROR(
            v_.SealRows(internal::RowTable::kDocumentCategories, "doc_id = ?1", {out.doc_id}));
      }
      DOSSIER_RETURN_IF_ERROR(v_.Audit("document.store", {out.doc_id, doc_.case_id}, patient_id_));
      if (!doc_.reply_to.empty()) {
        DOSSIER_RETURN_IF_ERROR(v_.FileReply(doc_.reply_to, out.doc_id, doc_.case_id, patient_id_));
      }
      return tx.Commit();
    }();
    // On failure the object stays: if the commit did reach the disk its row needs it, and if
    // not, the next open sweeps it as an orphan.
    if (!result.ok()) {
      // A whole batch that gave way keeps nothing: this object was never in a transaction.
      if (batched && v_.batch_->whole && !v_.batch_->lost.ok()) {
        (void)v_.objects_.Remove(object_id_, false);
      }
      return result;
    }
    if (out.duplicate) {
      DOSSIER_RETURN_IF_ERROR(v_.objects_.Remove(object_id_, !batched));
    } else if (batched) {
      if (v_.batch_->whole) v_.batch_->objects.push_back(object_id_);
      v_.batch_->documents += 1;
      v_.batch_->bytes += obj.stored_size;
      DOSSIER_RETURN_IF_ERROR(v_.FlushBatchIfFull());
    }
    return out;
  }

  Vault::Impl& v_;
  NewDocument doc_;
  std::string patient_id_;
  std::string object_id_;
  SecureBuffer data_key_;
  std::unique_ptr<internal::ObjectWriter> writer_;
};

constexpr const char* kDocColumns =
    "SELECT id, case_id, patient_id, object_id, name_enc, kind, category, status, added_at, "
    "size, stored_size, wrapped_key, verdict, pages, "
    "(SELECT source || char(0) || reason FROM document_categories WHERE doc_id = id), "
    "(SELECT series_id FROM dicom_instances WHERE doc_id = id), "
    "(SELECT removed_at FROM document_removals WHERE doc_id = id), "
    "(SELECT reason_enc FROM document_removals WHERE doc_id = id), "
    "(SELECT warnings_enc FROM document_warnings WHERE doc_id = id), "
    "(SELECT kind FROM renditions WHERE doc_id = id), "
    "(SELECT size FROM renditions WHERE doc_id = id) "
    "FROM documents";

// A removed document whose row saying when and why was deleted.
Status RemovalRecordMissing(const std::string& doc_id) {
  return Corrupt("document " + doc_id +
                 " is marked removed but its removal record is missing from the catalog; "
                 "restore the vault from a backup");
}

// A document's sealed warnings (a JSON array of strings) as a list.
Result<std::vector<std::string>> OpenWarnings(Vault::Impl& v, const std::string& patient_id,
                                              const std::string& doc_id, const Bytes& sealed) {
  std::vector<std::string> out;
  if (sealed.empty()) return out;
  DOSSIER_ASSIGN_OR_RETURN(std::string json,
                           v.OpenField(patient_id, "documents.warnings", doc_id, sealed, true));
  const auto list = nlohmann::json::parse(json, nullptr, false);
  if (!list.is_array()) return Corrupt("the warnings of document " + doc_id + " are malformed");
  for (const auto& w : list) {
    if (!w.is_string()) return Corrupt("the warnings of document " + doc_id + " are malformed");
    out.push_back(w.get<std::string>());
  }
  return out;
}

Result<DocumentRecord> ReadDocRow(Vault::Impl& v, const Stmt& s) {
  DocumentRecord d;
  d.id = s.Text(0);
  d.case_id = s.Text(1);
  d.patient_id = s.Text(2);
  d.object_id = s.Text(3);
  d.kind = s.Text(5);
  d.category = s.Text(6);
  d.status = s.Text(7);
  d.added_at = s.Text(8);
  d.size = static_cast<uint64_t>(s.Int(9));
  d.stored_size = static_cast<uint64_t>(s.Int(10));
  d.verdict = s.Text(12);
  d.pages = static_cast<int>(s.Int(13));
  if (s.IsNull(14)) {  // before categories were recorded, anything but `other` was a manager's
    d.category_source = d.category == "other" ? "default" : "manager";
  } else {
    const std::string how = s.Text(14);
    const size_t nul = how.find('\0');
    d.category_source = how.substr(0, nul);
    d.category_reason = nul == std::string::npos ? "" : how.substr(nul + 1);
  }
  d.series_id = s.Text(15);
  d.removed_at = s.Text(16);
  if (d.status == "stored") {
    DOSSIER_ASSIGN_OR_RETURN(d.name,
                             v.OpenField(d.patient_id, "documents.name", d.id, s.Blob(4), true));
  } else if (d.status == "removed") {
    if (s.IsNull(16)) return RemovalRecordMissing(d.id);
    DOSSIER_ASSIGN_OR_RETURN(d.removal_reason, v.OpenField(d.patient_id, "document_removals.reason",
                                                           d.id, s.Blob(17), true));
  }
  DOSSIER_ASSIGN_OR_RETURN(d.warnings, OpenWarnings(v, d.patient_id, d.id, s.Blob(18)));
  d.rendition = s.Text(19);
  d.rendition_size = static_cast<uint64_t>(s.Int(20));
  return d;
}

}  // namespace

Result<std::unique_ptr<DocumentWriter>> Vault::BeginDocument(const NewDocument& given) {
  auto writing = impl_->Write();
  NewDocument doc = given;
  if (!doc.reply_to.empty()) {  // whatever it looks like, it is the clinic's reply
    doc.category = std::string(ToString(Category::kClinicReply));
    doc.category_reason = "filed as the clinic's reply to " + doc.reply_to;
  }
  DOSSIER_ASSIGN_OR_RETURN(Impl::CaseRef c, impl_->FindCase(doc.case_id));
  DOSSIER_RETURN_IF_ERROR(Impl::CheckTakesDocuments(doc.case_id, c));
  DOSSIER_RETURN_IF_ERROR(impl_->Keys(c.patient_id).status());
  const std::string object_id = internal::ObjectStore::NewObjectId();
  SecureBuffer data_key = SecureBuffer::Random(internal::kKeyBytes);
  DOSSIER_ASSIGN_OR_RETURN(auto writer,
                           impl_->objects_.Create(object_id, data_key, !doc.digest_by_caller));
  return std::unique_ptr<DocumentWriter>(new DocumentWriterImpl(
      *impl_, doc, c.patient_id, object_id, std::move(data_key), std::move(writer)));
}

Status Vault::StoreRendition(const std::string& doc_id, const std::string& kind,
                             std::span<const uint8_t> bytes) {
  if (kind != "jpeg") return InvalidArgument("a rendition is a JPEG, not " + kind);
  if (bytes.empty()) return InvalidArgument("an empty rendition of document " + doc_id);
  auto writing = impl_->Write();
  // Its document: stored, without a rendition (checked again when the row is written).
  auto check = [&]() -> Result<std::pair<std::string, std::string>> {
    DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(internal::RowTable::kDocuments, "id = ?1", {doc_id}));
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s, impl_->Conn().Prepare("SELECT patient_id, case_id, status, EXISTS (SELECT 1 FROM "
                                      "renditions WHERE doc_id = id) FROM documents WHERE id = ?"));
    s.Bind(1, doc_id);
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return NotFound("no document " + doc_id);
    if (s.Text(2) != "stored") {
      return Rejected("document " + doc_id + " is " + s.Text(2) + ": it takes no rendition");
    }
    if (s.Int(3) != 0) return Rejected("document " + doc_id + " has a rendition already");
    return std::make_pair(s.Text(0), s.Text(1));
  };
  DOSSIER_ASSIGN_OR_RETURN(auto owner, check());
  DOSSIER_RETURN_IF_ERROR(impl_->Keys(owner.first).status());
  const std::string object_id = internal::ObjectStore::NewObjectId();
  SecureBuffer data_key = SecureBuffer::Random(internal::kKeyBytes);
  DOSSIER_ASSIGN_OR_RETURN(auto writer, impl_->objects_.Create(object_id, data_key, false));
  DOSSIER_RETURN_IF_ERROR(writer->Write(bytes));
  // Durable before a row refers to it (as a document's object: DocumentWriterImpl).
  const bool batched = impl_->batch_.has_value() && impl_->OwnsBatch();
  DOSSIER_ASSIGN_OR_RETURN(internal::WrittenObject obj, writer->Finish(!batched));
  Status st = [&]() -> Status {
    DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
    // Another process may have moved, removed or erased it meanwhile.
    DOSSIER_ASSIGN_OR_RETURN(owner, check());
    const auto& [patient_id, case_id] = owner;
    const Impl::ObjectBinding binding{patient_id, object_id,      doc_id,
                                      case_id,    obj.plain_size, obj.stored_size};
    DOSSIER_ASSIGN_OR_RETURN(Bytes wrapped, impl_->WrapObjectKey(binding, data_key));
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt ins, impl_->Conn().Prepare("INSERT INTO renditions(doc_id, kind, object_id, size, "
                                        "stored_size, wrapped_key, added_at) "
                                        "VALUES (?,?,?,?,?,?,?)"));
    ins.Bind(1, doc_id).Bind(2, kind).Bind(3, object_id);
    ins.Bind(4, static_cast<int64_t>(obj.plain_size))
        .Bind(5, static_cast<int64_t>(obj.stored_size));
    ins.BindBlob(6, wrapped).Bind(7, impl_->Now());
    DOSSIER_RETURN_IF_ERROR(ins.Run());
    DOSSIER_RETURN_IF_ERROR(
        impl_->SealRows(internal::RowTable::kRenditions, "doc_id = ?1", {doc_id}));
    DOSSIER_RETURN_IF_ERROR(impl_->Audit("document.render", {doc_id, case_id}, patient_id));
    return tx.Commit();
  }();
  if (!st.ok()) {
    (void)impl_->objects_.Remove(object_id, !batched);  // no row refers to it
    return st.WithContext("the rendition of document " + doc_id);
  }
  if (batched) {
    impl_->batch_->bytes += obj.stored_size;
    DOSSIER_RETURN_IF_ERROR(impl_->FlushBatchIfFull());
  }
  return Status::Ok();
}

Result<DocumentList> Vault::ListDocuments(const std::string& case_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  // Not GetCase: its document counts would scan the case's every row again.
  DOSSIER_ASSIGN_OR_RETURN(Impl::CaseRef c, impl_->FindCase(case_id));
  auto read = [&]() -> Result<std::vector<DocumentRecord>> {
    DOSSIER_RETURN_IF_ERROR(
        impl_->CheckRows(internal::RowTable::kDocuments, "case_id = ?1", {case_id}));
    for (internal::RowTable t :
         {internal::RowTable::kDocumentCategories, internal::RowTable::kDocumentRemovals,
          internal::RowTable::kDocumentWarnings, internal::RowTable::kDicomInstances,
          internal::RowTable::kRenditions}) {
      DOSSIER_RETURN_IF_ERROR(
          // Row by row of the (small) table, not the case's every document gathered first.
          impl_->CheckRows(t,
                           "EXISTS (SELECT 1 FROM documents d WHERE d.id = doc_id AND "
                           "d.case_id = ?1)",
                           {case_id}));
    }
    DOSSIER_ASSIGN_OR_RETURN(Stmt s, impl_->Conn().Prepare(std::string(kDocColumns) +
                                                           " WHERE case_id = ? ORDER BY rowid"));
    s.Bind(1, case_id);
    return s.Collect<DocumentRecord>([&](const Stmt& row) { return ReadDocRow(*impl_, row); });
  };
  // Kept while nothing in the case changes (Impl::CaseListing): a server's listings of a
  // large case cost neither a check and a decryption of every row nor a copy each time.
  DOSSIER_ASSIGN_OR_RETURN(Impl::Listing listed, impl_->CaseListing(case_id, c.patient_id, read));
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("document.list", {case_id}, c.patient_id));
  return DocumentList(std::move(listed));
}

Result<DocumentRecord> Vault::GetDocument(const std::string& doc_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(internal::RowTable::kDocuments, "id = ?1", {doc_id}));
  for (internal::RowTable t :
       {internal::RowTable::kDocumentCategories, internal::RowTable::kDocumentRemovals,
        internal::RowTable::kDocumentWarnings, internal::RowTable::kDicomInstances}) {
    DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(t, "doc_id = ?1", {doc_id}));
  }
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           impl_->Conn().Prepare(std::string(kDocColumns) + " WHERE id = ?"));
  s.Bind(1, doc_id);
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("no document " + doc_id + " (see `dossier docs --case ID`)");
  return ReadDocRow(*impl_, s);
}

Result<DocumentRecord> Vault::ShowDocument(const std::string& doc_id) {
  DOSSIER_ASSIGN_OR_RETURN(DocumentRecord d, GetDocument(doc_id));
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("document.show", {doc_id, d.case_id}, d.patient_id));
  return d;
}

namespace {

// Sets the category and records how it was decided, in the caller's transaction.
Status WriteCategory(Vault::Impl& v, const std::string& doc_id, Category category,
                     const std::string& source, const std::string& reason) {
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           v.Conn().Prepare("UPDATE documents SET category = ? WHERE id = ?"));
  s.Bind(1, ToString(category)).Bind(2, doc_id);
  DOSSIER_RETURN_IF_ERROR(s.Run());
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt how, v.Conn().Prepare("INSERT INTO document_categories(doc_id, source, reason) "
                                 "VALUES (?1, ?2, ?3) ON CONFLICT(doc_id) DO UPDATE SET "
                                 "source = excluded.source, reason = excluded.reason"));
  how.Bind(1, doc_id).Bind(2, source).Bind(3, reason);
  DOSSIER_RETURN_IF_ERROR(how.Run());
  DOSSIER_RETURN_IF_ERROR(v.SealRows(internal::RowTable::kDocuments, "id = ?1", {doc_id}));
  return v.SealRows(internal::RowTable::kDocumentCategories, "doc_id = ?1", {doc_id});
}

}  // namespace

Status Vault::SetCategory(const std::string& doc_id, const std::string& category) {
  auto writing = impl_->Write();
  const std::optional<Category> c = ParseCategory(category);
  if (!c) {
    return InvalidArgument("unknown category `" + category + "`: use one of " + AllCategoryNames());
  }
  DOSSIER_ASSIGN_OR_RETURN(DocumentRecord d, GetDocument(doc_id));
  if (d.status == "removed") return DocumentRemoved(doc_id, d.removed_at);
  if (d.status != "stored") return Rejected("document " + doc_id + " was erased");
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_RETURN_IF_ERROR(WriteCategory(*impl_, doc_id, *c, "manager", "set by a manager"));
  DOSSIER_RETURN_IF_ERROR(impl_->Audit("document.categorize", {doc_id}, d.patient_id));
  return tx.Commit();
}

Status Vault::AddWarnings(const std::string& doc_id, const std::vector<std::string>& warnings) {
  auto writing = impl_->Write();
  DOSSIER_ASSIGN_OR_RETURN(DocumentRecord d, GetDocument(doc_id));
  if (d.status != "stored") return Rejected("document " + doc_id + " was erased");
  std::vector<std::string> all = d.warnings;
  for (const std::string& w : warnings) {
    if (!w.empty() && std::find(all.begin(), all.end(), w) == all.end()) all.push_back(w);
  }
  if (all == d.warnings) return Status::Ok();
  DOSSIER_ASSIGN_OR_RETURN(Bytes sealed, impl_->SealField(d.patient_id, "documents.warnings",
                                                          doc_id, nlohmann::json(all).dump()));
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt up, impl_->Conn().Prepare("INSERT INTO document_warnings(doc_id, warnings_enc) "
                                     "VALUES (?1, ?2) ON CONFLICT(doc_id) DO UPDATE SET "
                                     "warnings_enc = excluded.warnings_enc"));
  up.Bind(1, doc_id).BindBlob(2, sealed);
  DOSSIER_RETURN_IF_ERROR(up.Run());
  DOSSIER_RETURN_IF_ERROR(
      impl_->SealRows(internal::RowTable::kDocumentWarnings, "doc_id = ?1", {doc_id}));
  DOSSIER_RETURN_IF_ERROR(impl_->Audit("document.warn", {doc_id, d.case_id}, d.patient_id));
  return tx.Commit();
}

Result<CategoryRecord> Vault::GetCategory(const std::string& doc_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(DocumentRecord d, GetDocument(doc_id));
  return CategoryRecord{ParseCategory(d.category).value_or(Category::kOther), d.category_source,
                        d.category_reason};
}

Status Vault::InferCategory(const std::string& doc_id, Category category,
                            const std::string& reason) {
  auto writing = impl_->Write();
  DOSSIER_ASSIGN_OR_RETURN(CategoryRecord current, GetCategory(doc_id));
  // A manager's choice always wins; a reply is a reply whatever its first page says.
  if (current.source == "manager" || current.source == "reply") return Status::Ok();
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_RETURN_IF_ERROR(WriteCategory(*impl_, doc_id, category, "inferred", reason));
  return tx.Commit();
}

Status DocumentRemoved(const std::string& doc_id, const std::string& removed_at) {
  return Rejected(fmt::format("{} was removed on {} (reason shown by `docs --all`)", doc_id,
                              removed_at.substr(0, 10)));
}

Status Vault::Impl::DecryptDocument(
    const std::string& doc_id, ByteSink& sink, const std::string& action,
    const std::function<Status(const std::string& patient_id)>& record, DocumentCopy copy) {
  const bool rendition = copy == DocumentCopy::kRendition;
  ObjectBinding binding;
  std::string status, removed_at;
  Bytes wrapped;
  DOSSIER_RETURN_IF_ERROR(CheckRows(internal::RowTable::kDocuments, "id = ?1", {doc_id}));
  DOSSIER_RETURN_IF_ERROR(
      CheckRows(internal::RowTable::kDocumentRemovals, "doc_id = ?1", {doc_id}));
  if (rendition) {
    DOSSIER_RETURN_IF_ERROR(CheckRows(internal::RowTable::kRenditions, "doc_id = ?1", {doc_id}));
  }
  {  // copy the row and finish the statement: no read snapshot is held while decrypting
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt s,
        Conn().Prepare(rendition
                           ? "SELECT d.patient_id, r.object_id, d.case_id, r.size, r.stored_size, "
                             "d.status, r.wrapped_key, (SELECT removed_at FROM document_removals "
                             "WHERE doc_id = d.id), r.doc_id IS NULL FROM documents d LEFT JOIN "
                             "renditions r ON r.doc_id = d.id WHERE d.id = ?"
                           : "SELECT patient_id, object_id, case_id, size, stored_size, status, "
                             "wrapped_key, (SELECT removed_at FROM document_removals WHERE "
                             "doc_id = id), 0 FROM documents WHERE id = ?"));
    s.Bind(1, doc_id);
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return NotFound("no document " + doc_id + " (see `dossier docs --case ID`)");
    if (s.Int(8) != 0 && s.Text(5) == "stored") {
      return NotFound("document " + doc_id +
                      " has no rendition: only a HEIC photo gets one (its JPEG copy)");
    }
    binding = {s.Text(0),
               s.Text(1),
               doc_id,
               s.Text(2),
               static_cast<uint64_t>(s.Int(3)),
               static_cast<uint64_t>(s.Int(4))};
    status = s.Text(5);
    wrapped = s.Blob(6);
    removed_at = s.Text(7);
  }
  if (status == "removed" && removed_at.empty()) return RemovalRecordMissing(doc_id);
  if (status == "erased" || status == "removed") {
    const Status refused =
        status == "removed"
            ? DocumentRemoved(doc_id, removed_at)
            : Rejected(fmt::format("document {} was erased together with patient {}: its data no "
                                   "longer exists and cannot be recovered",
                                   doc_id, binding.patient_id));
    if (record) {
      DOSSIER_RETURN_IF_ERROR(
          AuditAlone(FailureEvent(action, {doc_id}, binding.patient_id, refused)));
    }
    return refused;
  }
  // The act is on record before the first byte of plaintext leaves.
  if (record) {
    if (Status st = record(binding.patient_id); !st.ok()) {
      return st.WithContext("document " + doc_id +
                            " was not read because its audit event could not be recorded");
    }
  }
  Status st = [&]() -> Status {
    DOSSIER_ASSIGN_OR_RETURN(SecureBuffer key, UnwrapObjectKey(binding, wrapped));
    return ReadObject(binding.object_id, key, binding.stored_size, &sink);
  }();
  if (!st.ok()) {
    DOSSIER_RETURN_IF_ERROR(AuditAlone(FailureEvent(action, {doc_id}, binding.patient_id, st)));
    return st.WithContext("document " + doc_id);
  }
  return st;
}

Status Vault::ReadDocument(const std::string& doc_id, ByteSink& sink, DocumentCopy copy) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  return impl_->DecryptDocument(
      doc_id, sink, "document.read",
      [&](const std::string& patient) {
        AuditEvent e;
        e.action = "document.read";
        e.objects = {doc_id};
        e.patient = patient;
        if (copy == DocumentCopy::kRendition) e.details = {{"copy", "rendition"}};
        return impl_->AuditAlone(std::move(e));
      },
      copy);
}

Status Vault::ExportDocumentToFile(const std::string& doc_id, const std::string& file_name,
                                   ByteSink& sink, DocumentCopy copy) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  constexpr const char* kAction = "document.export_file";
  return impl_->DecryptDocument(
      doc_id, sink, kAction,
      [&](const std::string& patient) -> Status {
        DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
        DOSSIER_ASSIGN_OR_RETURN(std::string note, impl_->AddAuditNote(patient, file_name));
        AuditEvent e;
        e.action = kAction;
        e.objects = {doc_id};
        e.patient = patient;
        e.details = {{"name_note", note}};
        if (copy == DocumentCopy::kRendition) e.details["copy"] = "rendition";
        DOSSIER_RETURN_IF_ERROR(impl_->Audit(std::move(e)));
        return tx.Commit();
      },
      copy);
}

Status Vault::ReadExportedInstance(const std::string& doc_id, ByteSink& sink) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  bool exportable = false;
  {
    std::lock_guard<std::mutex> lock(impl_->state_mu_);
    exportable = impl_->exportable_.count(doc_id) != 0;
  }
  if (!exportable) {
    return Rejected("document " + doc_id + " is not an instance of the series being exported");
  }
  return impl_->DecryptDocument(doc_id, sink, "dicom.export", nullptr);
}

Result<VerifyReport> Vault::Verify(bool quick, const ProgressFn& progress) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  for (internal::RowTable t : internal::kAllRowTables) {
    DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(t, "1", {}));
  }
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->Conn().Prepare(
                  "SELECT id, patient_id, object_id, status, size, stored_size, wrapped_key, "
                  "case_id FROM documents UNION ALL "
                  // A consent's signed scan is an object like a document's (vault/consents.cc).
                  "SELECT id, patient_id, scan_object_id, CASE WHEN scan_wrapped_key IS NULL "
                  "THEN 'erased' ELSE 'stored' END, scan_size, scan_stored_size, "
                  "scan_wrapped_key, 'consent' FROM consents WHERE scan_object_id IS NOT NULL "
                  "UNION ALL "
                  // A document's rendition (a HEIC photo's JPEG copy) is one more object.
                  "SELECT r.doc_id, d.patient_id, r.object_id, d.status, r.size, r.stored_size, "
                  "r.wrapped_key, d.case_id FROM renditions r JOIN documents d ON d.id = r.doc_id "
                  "ORDER BY 1"));
  struct Row {
    std::string id, patient, object, status;
    uint64_t size, stored;
    Bytes wrapped;
    std::string case_id;
  };
  std::vector<Row> rows;
  uint64_t total = 0;
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool more, s.Step());
    if (!more) break;
    rows.push_back({s.Text(0), s.Text(1), s.Text(2), s.Text(3), static_cast<uint64_t>(s.Int(4)),
                    static_cast<uint64_t>(s.Int(5)), s.Blob(6), s.Text(7)});
    total += rows.back().stored;
  }
  VerifyReport report;
  std::set<std::string> known;
  uint64_t done = 0;
  for (const Row& r : rows) {
    if (r.status == "erased" || r.status == "removed") {
      // Its object was deleted: a file left of it is an orphan.
      ++(r.status == "erased" ? report.erased_skipped : report.removed_skipped);
      continue;
    }
    ++report.checked;
    auto issue = [&](std::string problem, std::string detail) {
      // Another process may have erased or removed it since the rows were read.
      auto now = impl_->Conn().Prepare(
          r.case_id == "consent"
              ? "SELECT CASE WHEN scan_wrapped_key IS NULL THEN 'erased' ELSE 'stored' END "
                "FROM consents WHERE id = ?"
              : "SELECT status FROM documents WHERE id = ?");
      if (now.ok()) now->Bind(1, r.id);
      auto found = now.ok() ? now->Step() : Result<bool>(false);
      if (found.ok() && *found && now->Text(0) != "stored") {
        --report.checked;
        ++(now->Text(0) == "erased" ? report.erased_skipped : report.removed_skipped);
        return;
      }
      report.issues.push_back({r.id, r.object, std::move(problem), std::move(detail)});
    };
    auto size = impl_->objects_.FileSize(r.object);
    if (!size.ok()) {
      issue("corrupt", size.status().message());
    } else if (!*size) {
      issue("missing", "object file " + r.object + " is missing");
    } else if (**size != r.stored) {
      issue("size mismatch",
            fmt::format("object {} has {} bytes, the catalog says {}", r.object, **size, r.stored));
    } else if (!quick) {
      uint64_t plain = 0;
      auto key = impl_->UnwrapObjectKey({r.patient, r.object, r.id, r.case_id, r.size, r.stored},
                                        r.wrapped);
      Status read =
          key.ok() ? impl_->ReadObject(r.object, *key, r.stored, nullptr, &plain) : key.status();
      if (!read.ok()) {
        issue("corrupt", read.message());
      } else if (plain != r.size) {
        issue("size mismatch", fmt::format("object {} decrypts to {} bytes, the catalog says {}",
                                           r.object, plain, r.size));
      } else {
        report.bytes += plain;
      }
    }
    done += r.stored;
    if (progress) progress(done, total);
  }
  internal::ObjectStore::Listing listing;
  {
    // Orphans are looked for with the writer held: no store of this process is then half-way
    // (an object renamed in, its row not yet written), and the rows of an open batch count —
    // committed first, unless this thread owns it and sees them uncommitted.
    auto writing = impl_->Write();
    impl_->objects_.WaitForWrites();
    DOSSIER_ASSIGN_OR_RETURN(known, impl_->LiveObjects());
    DOSSIER_ASSIGN_OR_RETURN(listing, impl_->objects_.ListObjects());
  }
  // Another process's object not committed yet is young (SweepOrphans).
  DOSSIER_ASSIGN_OR_RETURN(bool others, impl_->lock_.OthersPresent());
  const int64_t young = ::time(nullptr) - int64_t{impl_->options_.orphan_min_age_seconds};
  for (const auto& id : listing.objects) {
    if (known.count(id) != 0) continue;
    if (others) {
      DOSSIER_ASSIGN_OR_RETURN(auto written, impl_->objects_.ModifiedAt(id));
      if (!written || *written >= young) continue;
    }
    report.orphans.push_back({"", id, "orphan", "no catalog row refers to object " + id});
  }
  for (const auto& path : listing.strays) {
    report.orphans.push_back({"", "", "stray", "unexpected file " + path + " (not an object)"});
  }
  std::vector<std::string> bad;
  for (const auto& i : report.issues) bad.push_back(i.doc_id);
  AuditEvent e;
  e.action = quick ? "vault.verify-quick" : "vault.verify";
  e.objects = bad;
  if (!report.intact()) {
    e.outcome = "failed";
    e.reason = StatusCodeId(StatusCode::kCorrupt);
  }
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone(std::move(e)));
  return report;
}

}  // namespace dossier::vault
