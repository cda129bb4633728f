-- Dossier catalog, schema version 1. Personal data lives only in *_enc columns
-- (XChaCha20-Poly1305 under the patient's field key; see doc/FORMAT.md).

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE patients (
  id              TEXT PRIMARY KEY,
  created_at      TEXT NOT NULL,
  wrapped_key     BLOB,            -- patient key sealed by the master key; NULL once erased
  name_enc        BLOB,
  birth_date_enc  BLOB,
  phone_enc       BLOB,
  email_enc       BLOB,
  erased_at       TEXT
);

CREATE TABLE cases (
  id            TEXT PRIMARY KEY,
  patient_id    TEXT NOT NULL REFERENCES patients(id),
  created_at    TEXT NOT NULL,
  goal_enc      BLOB,
  question_enc  BLOB,
  status        TEXT NOT NULL DEFAULT 'open'
);
CREATE INDEX cases_patient ON cases(patient_id);

CREATE TABLE documents (
  id           TEXT PRIMARY KEY,
  case_id      TEXT NOT NULL REFERENCES cases(id),
  patient_id   TEXT NOT NULL REFERENCES patients(id),
  object_id    TEXT NOT NULL UNIQUE,
  name_enc     BLOB,               -- original file name
  kind         TEXT NOT NULL,
  category     TEXT NOT NULL DEFAULT 'other',
  size         INTEGER NOT NULL,   -- plaintext bytes
  stored_size  INTEGER NOT NULL,   -- object file bytes
  wrapped_key  BLOB,               -- object data key sealed by the patient wrap key; NULL once erased
  content_mac  BLOB,               -- keyed BLAKE2b of the content digest; NULL once erased
  status       TEXT NOT NULL DEFAULT 'stored',
  added_at     TEXT NOT NULL
);
CREATE INDEX documents_case ON documents(case_id);
CREATE INDEX documents_mac ON documents(case_id, content_mac);

CREATE TABLE audit_events (
  seq         INTEGER PRIMARY KEY,
  at          TEXT NOT NULL,
  actor       TEXT NOT NULL,
  role        TEXT NOT NULL,
  action      TEXT NOT NULL,
  objects     TEXT NOT NULL,       -- JSON array of ids
  patient     TEXT NOT NULL,       -- patient pseudonym (its random id) or ''
  outcome     TEXT NOT NULL,
  purpose     TEXT NOT NULL,
  leaf_hash   BLOB NOT NULL,       -- RFC 6962 leaf hash of the canonical encoding
  root_after  BLOB NOT NULL        -- Merkle tree head after this event
);

CREATE TABLE audit_head (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  tree_size   INTEGER NOT NULL,
  root        BLOB NOT NULL,
  frontier    BLOB NOT NULL,       -- roots of the perfect subtrees, left to right
  signature   BLOB NOT NULL        -- Ed25519 over the head statement
);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
