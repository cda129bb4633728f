-- Issue 14: documents removed by a manager (`dossier docs remove`). The document's row stays
-- (status 'removed', its key and name cleared, its object deleted) so that the audit events
-- naming it still resolve; this row says when and why, the reason sealed with the patient's
-- field key (AD `document_removals.reason:<doc_…>`).
CREATE TABLE document_removals (
  doc_id      TEXT PRIMARY KEY REFERENCES documents(id),
  removed_at  TEXT NOT NULL,
  reason_enc  BLOB,              -- NULL once the patient is erased
  row_mac     BLOB
);
