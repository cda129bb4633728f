-- Issue 14: what an upload said about a document — the OCR check's advice, the wrong-patient
-- surname check (with the patient's name beside it), a text file named as another type — kept
-- so that `docs` shows every warning later, not only the ingest report (doc/FORMAT.md
-- §Document warnings). Sealed with the patient's field key; one row per document that had any.
CREATE TABLE document_warnings (
  doc_id        TEXT PRIMARY KEY REFERENCES documents(id),
  warnings_enc  BLOB,            -- JSON array of strings; NULL once the patient is erased
  row_mac       BLOB
);
