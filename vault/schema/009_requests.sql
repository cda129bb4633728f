-- Clinic requests 2/3: the request ledger (doc/FORMAT.md §Requests). One row per export that
-- was written, verified and moved into place. Ids and dates only: nothing personal.
CREATE TABLE requests (
  id              TEXT PRIMARY KEY,    -- req_…
  export_id       TEXT NOT NULL UNIQUE, -- exp_…
  case_id         TEXT NOT NULL REFERENCES cases(id),
  patient_id      TEXT NOT NULL REFERENCES patients(id),
  clinic_id       TEXT NOT NULL REFERENCES clinics(id),
  consent_id      TEXT NOT NULL REFERENCES consents(id),
  purpose         TEXT NOT NULL,
  urgent          INTEGER NOT NULL,
  inventory_only  INTEGER NOT NULL,
  documents       TEXT NOT NULL,       -- JSON array of doc ids
  parts           TEXT NOT NULL,       -- JSON array of {name, size, sha256}
  actor           TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  due             TEXT NOT NULL,       -- YYYY-MM-DD, or a UTC time when urgent
  answered_at     TEXT,
  row_mac         BLOB
);
CREATE INDEX requests_case ON requests(case_id);
