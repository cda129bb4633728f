-- Clinic requests 3/3: the clinic's reply (doc/FORMAT.md §Requests). One row per document
-- filed as the reply to a request; the request's `answered_at` is set by the first. Ids and
-- times only: nothing personal.
CREATE TABLE request_replies (
  doc_id      TEXT PRIMARY KEY REFERENCES documents(id),
  request_id  TEXT NOT NULL REFERENCES requests(id),
  filed_at    TEXT NOT NULL,
  row_mac     BLOB
);
CREATE INDEX request_replies_request ON request_replies(request_id);
