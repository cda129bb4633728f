-- Server 1/4: a per-case change counter (doc/FORMAT.md §Case changes). Any change to what a
-- case's document listing shows — its documents and their categories, removals, warnings and
-- DICOM links — bumps its case's `version` in the same transaction, whichever process or
-- connection makes it. A process may keep a case's listing, checked and decrypted, as long as
-- the version it read before reading the rows is still the version (vault/documents.cc).
CREATE TABLE case_changes (
  case_id  TEXT PRIMARY KEY REFERENCES cases(id),
  version  INTEGER NOT NULL
);
INSERT INTO case_changes(case_id, version) SELECT id, 0 FROM cases;

CREATE TRIGGER case_changes_case_added AFTER INSERT ON cases
BEGIN INSERT INTO case_changes(case_id, version) VALUES (NEW.id, 0); END;

CREATE TRIGGER case_changes_document_added AFTER INSERT ON documents
BEGIN UPDATE case_changes SET version = version + 1 WHERE case_id = NEW.case_id; END;
CREATE TRIGGER case_changes_document_changed AFTER UPDATE ON documents
BEGIN
  UPDATE case_changes SET version = version + 1 WHERE case_id IN (OLD.case_id, NEW.case_id);
END;
CREATE TRIGGER case_changes_document_deleted AFTER DELETE ON documents
BEGIN UPDATE case_changes SET version = version + 1 WHERE case_id = OLD.case_id; END;

CREATE TRIGGER case_changes_category_added AFTER INSERT ON document_categories
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id = (SELECT case_id FROM documents WHERE id = NEW.doc_id);
END;
CREATE TRIGGER case_changes_category_changed AFTER UPDATE ON document_categories
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id IN (SELECT case_id FROM documents WHERE id IN (OLD.doc_id, NEW.doc_id));
END;
CREATE TRIGGER case_changes_category_deleted AFTER DELETE ON document_categories
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id = (SELECT case_id FROM documents WHERE id = OLD.doc_id);
END;

CREATE TRIGGER case_changes_removal_added AFTER INSERT ON document_removals
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id = (SELECT case_id FROM documents WHERE id = NEW.doc_id);
END;
CREATE TRIGGER case_changes_removal_changed AFTER UPDATE ON document_removals
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id IN (SELECT case_id FROM documents WHERE id IN (OLD.doc_id, NEW.doc_id));
END;
CREATE TRIGGER case_changes_removal_deleted AFTER DELETE ON document_removals
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id = (SELECT case_id FROM documents WHERE id = OLD.doc_id);
END;

CREATE TRIGGER case_changes_warnings_added AFTER INSERT ON document_warnings
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id = (SELECT case_id FROM documents WHERE id = NEW.doc_id);
END;
CREATE TRIGGER case_changes_warnings_changed AFTER UPDATE ON document_warnings
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id IN (SELECT case_id FROM documents WHERE id IN (OLD.doc_id, NEW.doc_id));
END;
CREATE TRIGGER case_changes_warnings_deleted AFTER DELETE ON document_warnings
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id = (SELECT case_id FROM documents WHERE id = OLD.doc_id);
END;

CREATE TRIGGER case_changes_instance_added AFTER INSERT ON dicom_instances
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id = (SELECT case_id FROM documents WHERE id = NEW.doc_id);
END;
CREATE TRIGGER case_changes_instance_changed AFTER UPDATE ON dicom_instances
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id IN (SELECT case_id FROM documents WHERE id IN (OLD.doc_id, NEW.doc_id));
END;
CREATE TRIGGER case_changes_instance_deleted AFTER DELETE ON dicom_instances
BEGIN
  UPDATE case_changes SET version = version + 1
  WHERE case_id = (SELECT case_id FROM documents WHERE id = OLD.doc_id);
END;
