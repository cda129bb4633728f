-- The OCR check (issue 4): a verdict per document and per page; the page text is encrypted
-- with the patient's field key like every other personal datum.
ALTER TABLE documents ADD COLUMN verdict TEXT;         -- worst page's; NULL: not analysed
ALTER TABLE documents ADD COLUMN pages INTEGER;        -- pages in the document
CREATE TABLE pages (
  doc_id      TEXT NOT NULL REFERENCES documents(id),
  number      INTEGER NOT NULL,                        -- 1-based
  verdict     TEXT NOT NULL,
  confidence  REAL NOT NULL,
  rotation    INTEGER NOT NULL,                        -- how the page was turned, degrees clockwise
  source      TEXT NOT NULL,                           -- 'text layer' | 'ocr'
  evidence    TEXT NOT NULL,                           -- JSON of measurements: numbers only
  text_enc    BLOB,                                    -- the page's text; NULL once erased
  PRIMARY KEY (doc_id, number)
);
