-- OCR check 3/3: a document's rendition (doc/FORMAT.md §Renditions) — the JPEG copy of a HEIC
-- photo, which a clinic on any computer can open, kept beside the document as uploaded. A
-- second sealed object of the same document, with its own data key wrapped like the
-- document's (bound to this object, the document, its case and its patient). At most one per
-- document. Ids, sizes and times only: nothing personal.
CREATE TABLE renditions (
  doc_id       TEXT PRIMARY KEY REFERENCES documents(id),
  kind         TEXT NOT NULL,      -- jpeg
  object_id    TEXT NOT NULL UNIQUE,
  size         INTEGER NOT NULL,   -- plaintext bytes
  stored_size  INTEGER NOT NULL,   -- object file bytes
  wrapped_key  BLOB NOT NULL,
  added_at     TEXT NOT NULL,
  row_mac      BLOB
);

-- A listing shows whether a document has one (012_case_changes.sql).
CREATE TRIGGER case_changes_rendition_added AFTER INSERT ON renditions
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id = (SELECT case_id FROM documents WHERE id = NEW.doc_id);
END;
CREATE TRIGGER case_changes_rendition_changed AFTER UPDATE ON renditions
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id IN (SELECT case_id FROM documents WHERE id IN (OLD.doc_id, NEW.doc_id));
END;
CREATE TRIGGER case_changes_rendition_deleted AFTER DELETE ON renditions
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id = (SELECT case_id FROM documents WHERE id = OLD.doc_id);
END;
