// The OCR check's results in the catalog: verdicts in the clear, page text sealed with the
// patient's field key; search decrypts in memory only.
#include <algorithm>

#include "common/text.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::Stmt;

namespace {

constexpr std::string_view kVerdicts[] = {"printed", "mixed", "handwritten", "unreadable", "blank"};

std::string PageRowId(const std::string& doc_id, int number) {
  return doc_id + "/" + std::to_string(number);
}

// Up to `words` words either side of [begin, end) of `text`, on one line.
std::string Snippet(const std::string& text, size_t begin, size_t end, int words = 6) {
  size_t b = begin;
  for (int w = 0; b > 0 && w <= words;) {
    --b;
    if (std::isspace(static_cast<unsigned char>(text[b]))) ++w;
  }
  size_t e = end;
  for (int w = 0; e < text.size() && w <= words; ++e) {
    if (std::isspace(static_cast<unsigned char>(text[e]))) ++w;
  }
  std::string s = text.substr(b, e - b);
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t' || c == '\f') c = ' ';
  }
  const auto first = s.find_first_not_of(' ');
  const auto last = s.find_last_not_of(' ');
  if (first == std::string::npos) return "";
  return (b > 0 ? "…" : "") + s.substr(first, last - first + 1) + (e < text.size() ? "…" : "");
}

}  // namespace

Status Vault::SetAnalysis(const std::string& doc_id, const std::string& verdict, int page_count,
                          const std::vector<PageRecord>& pages) {
  auto writing = impl_->Write();
  auto known = [](const std::string& v) {
    return std::find(std::begin(kVerdicts), std::end(kVerdicts), v) != std::end(kVerdicts);
  };
  if (!known(verdict)) return InvalidArgument("unknown verdict " + verdict);
  // Between two analyses of an ingest: where its batch lets a waiting process in.
  DOSSIER_RETURN_IF_ERROR(impl_->FlushBatchIfFull());
  DOSSIER_ASSIGN_OR_RETURN(DocumentRecord d, GetDocument(doc_id));
  if (d.status == "removed") return DocumentRemoved(doc_id, d.removed_at);
  if (d.status == "erased") return Rejected("document " + doc_id + " was erased");
  DOSSIER_ASSIGN_OR_RETURN(auto tx, Impl::Tx::Begin(*impl_));
  DOSSIER_ASSIGN_OR_RETURN(Stmt del, impl_->Conn().Prepare("DELETE FROM pages WHERE doc_id = ?"));
  del.Bind(1, doc_id);
  DOSSIER_RETURN_IF_ERROR(del.Run());
  for (const PageRecord& p : pages) {
    if (!known(p.verdict)) return InvalidArgument("unknown verdict " + p.verdict);
    DOSSIER_ASSIGN_OR_RETURN(Bytes text, impl_->SealField(d.patient_id, "pages.text",
                                                          PageRowId(doc_id, p.number), p.text));
    DOSSIER_ASSIGN_OR_RETURN(
        Stmt ins, impl_->Conn().Prepare("INSERT INTO pages(doc_id, number, verdict, confidence, "
                                        "rotation, source, evidence, text_enc) "
                                        "VALUES (?,?,?,?,?,?,?,?)"));
    ins.Bind(1, doc_id).Bind(2, p.number).Bind(3, p.verdict);
    ins.BindReal(4, p.confidence).Bind(5, p.rotation).Bind(6, p.source).Bind(7, p.evidence);
    ins.BindBlob(8, text);
    DOSSIER_RETURN_IF_ERROR(ins.Run());
  }
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt up, impl_->Conn().Prepare("UPDATE documents SET verdict = ?, pages = ? WHERE id = ?"));
  up.Bind(1, verdict).Bind(2, page_count).Bind(3, doc_id);
  DOSSIER_RETURN_IF_ERROR(up.Run());
  DOSSIER_RETURN_IF_ERROR(impl_->SealRows(internal::RowTable::kPages, "doc_id = ?1", {doc_id}));
  DOSSIER_RETURN_IF_ERROR(impl_->SealRows(internal::RowTable::kDocuments, "id = ?1", {doc_id}));
  DOSSIER_RETURN_IF_ERROR(impl_->Audit("document.analyse", {doc_id, d.case_id}, d.patient_id));
  return tx.Commit();
}

namespace {
// A page's analysis from a row whose columns, from `first`, are number, verdict, confidence,
// rotation, source and evidence.
PageRecord PageOf(const Stmt& row, int first) {
  PageRecord p;
  p.number = static_cast<int>(row.Int(first));
  p.verdict = row.Text(first + 1);
  p.confidence = row.Real(first + 2);
  p.rotation = static_cast<int>(row.Int(first + 3));
  p.source = row.Text(first + 4);
  p.evidence = row.Text(first + 5);
  return p;
}
}  // namespace

Result<std::vector<PageRecord>> Vault::GetPages(const std::string& doc_id, bool with_text) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_ASSIGN_OR_RETURN(DocumentRecord d, GetDocument(doc_id));
  if (with_text && d.status == "removed") return DocumentRemoved(doc_id, d.removed_at);
  if (with_text && d.status == "erased") return Rejected("document " + doc_id + " was erased");
  DOSSIER_RETURN_IF_ERROR(impl_->CheckRows(internal::RowTable::kPages, "doc_id = ?1", {doc_id}));
  if (with_text) {  // on record before any text is decrypted
    AuditEvent e;
    e.action = "document.read";
    e.objects = {doc_id};
    e.patient = d.patient_id;
    e.details = {{"via", "text"}};
    DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone(std::move(e)));
  }
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s,
      impl_->Conn().Prepare("SELECT number, verdict, confidence, rotation, source, evidence, "
                            "text_enc FROM pages WHERE doc_id = ? ORDER BY number"));
  s.Bind(1, doc_id);
  DOSSIER_ASSIGN_OR_RETURN(
      auto pages, s.Collect<PageRecord>([&](const Stmt& row) -> Result<PageRecord> {
        PageRecord p = PageOf(row, 0);
        if (with_text) {
          DOSSIER_ASSIGN_OR_RETURN(
              p.text, impl_->OpenField(d.patient_id, "pages.text", PageRowId(doc_id, p.number),
                                       row.Blob(6)));
        }
        return p;
      }));
  return pages;
}

Result<std::map<std::string, std::vector<PageRecord>>> Vault::GetCasePages(
    const std::string& case_id) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  DOSSIER_RETURN_IF_ERROR(impl_->FindCase(case_id).status());  // kNotFound
  DOSSIER_RETURN_IF_ERROR(
      impl_->CheckRows(internal::RowTable::kPages,
                       "doc_id IN (SELECT id FROM documents WHERE case_id = ?1)", {case_id}));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->Conn().Prepare(
                  "SELECT doc_id, number, verdict, confidence, rotation, source, evidence FROM "
                  "pages WHERE doc_id IN (SELECT id FROM documents WHERE case_id = ?) "
                  "ORDER BY doc_id, number"));
  s.Bind(1, case_id);
  std::map<std::string, std::vector<PageRecord>> out;
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out[s.Text(0)].push_back(PageOf(s, 1));
  }
  return out;
}

Result<std::vector<SearchHit>> Vault::Search(const std::string& case_id, const std::string& query) {
  DOSSIER_ASSIGN_OR_RETURN(auto reading, impl_->Read());
  const std::u32string needle = FoldForSearch(query);
  if (needle.empty() || needle == U" ") return InvalidArgument("the search text is empty");
  DOSSIER_ASSIGN_OR_RETURN(Impl::CaseRef c, impl_->FindCase(case_id));
  if (c.status == "erased") return Rejected("case " + case_id + " belongs to an erased patient");
  DOSSIER_RETURN_IF_ERROR(
      impl_->CheckRows(internal::RowTable::kDocuments, "case_id = ?1", {case_id}));
  DOSSIER_RETURN_IF_ERROR(
      impl_->CheckRows(internal::RowTable::kPages,
                       "doc_id IN (SELECT id FROM documents WHERE case_id = ?1)", {case_id}));
  // On record before any text is decrypted.
  DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone("document.search", {case_id}, c.patient_id));
  DOSSIER_ASSIGN_OR_RETURN(
      Stmt s, impl_->Conn().Prepare(
                  "SELECT p.doc_id, p.number, p.text_enc, d.name_enc FROM pages p JOIN documents d "
                  "ON d.id = p.doc_id WHERE d.case_id = ? AND d.status = 'stored' "
                  "ORDER BY d.rowid, p.number"));
  s.Bind(1, case_id);
  std::vector<SearchHit> hits;
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    const std::string doc_id = s.Text(0);
    const int number = static_cast<int>(s.Int(1));
    DOSSIER_ASSIGN_OR_RETURN(
        std::string text,
        impl_->OpenField(c.patient_id, "pages.text", PageRowId(doc_id, number), s.Blob(2)));
    std::vector<size_t> offsets;
    const std::u32string folded = FoldForSearch(text, &offsets);
    const size_t at = folded.find(needle);
    if (at == std::u32string::npos) continue;
    const size_t end_cp = at + needle.size();
    const size_t begin = offsets[at];
    const size_t end = end_cp < offsets.size() ? offsets[end_cp] : text.size();
    SearchHit h;
    h.doc_id = doc_id;
    h.page = number;
    DOSSIER_ASSIGN_OR_RETURN(
        h.name, impl_->OpenField(c.patient_id, "documents.name", doc_id, s.Blob(3), true));
    h.snippet = Snippet(text, begin, end);
    hits.push_back(std::move(h));
  }
  if (!hits.empty()) {  // the hits show text: on record before they are returned
    AuditEvent e;
    e.action = "document.read";
    for (const auto& h : hits) {
      if (std::find(e.objects.begin(), e.objects.end(), h.doc_id) == e.objects.end()) {
        e.objects.push_back(h.doc_id);
      }
    }
    e.patient = c.patient_id;
    e.details = {{"via", "search"}};
    DOSSIER_RETURN_IF_ERROR(impl_->AuditAlone(std::move(e)));
  }
  return hits;
}

}  // namespace dossier::vault
