-- Clinic requests 1/3: clinics, where a category came from, and consent records
-- (doc/FORMAT.md §Consents). Every table here carries a row MAC from the start.

-- How a document's category was decided. No row: `default` (or `manager` for a category other
-- than `other` set before this table existed). A manager's choice is never overwritten.
CREATE TABLE document_categories (
  doc_id   TEXT PRIMARY KEY REFERENCES documents(id),
  source   TEXT NOT NULL,        -- inferred | manager
  reason   TEXT NOT NULL,        -- our own fixed words, never document text
  row_mac  BLOB
);

-- A clinic is an organisation: its name, country and address are not personal data.
CREATE TABLE clinics (
  id          TEXT PRIMARY KEY,  -- cli_…
  name        TEXT NOT NULL UNIQUE,
  country     TEXT NOT NULL,     -- ISO 3166-1 alpha-2, upper case
  email       TEXT NOT NULL,
  note        TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  row_mac     BLOB
);

CREATE TABLE consents (
  id                  TEXT PRIMARY KEY,  -- con_…
  patient_id          TEXT NOT NULL REFERENCES patients(id),
  clinic_id           TEXT NOT NULL REFERENCES clinics(id),
  purposes            TEXT NOT NULL,     -- comma-separated closed codes
  categories          TEXT NOT NULL,     -- comma-separated closed codes
  actions             TEXT NOT NULL,     -- transfer,storage
  valid_from          TEXT NOT NULL,     -- YYYY-MM-DD, inclusive, vault time zone
  valid_until         TEXT NOT NULL,     -- YYYY-MM-DD, inclusive
  signed              TEXT NOT NULL,     -- paper | electronic
  representative_enc  BLOB,              -- the representative's name, sealed; NULL: the patient
  authority_enc       BLOB,              -- the document that authorises them, sealed
  scan_object_id      TEXT,              -- the signed scan, an object of the patient's
  scan_wrapped_key    BLOB,
  scan_size           INTEGER,
  scan_stored_size    INTEGER,
  scan_kind           TEXT,              -- pdf | jpeg | png | tiff
  scan_digest_enc     BLOB,              -- SHA-256 of the scan, sealed
  recorded_by         TEXT NOT NULL,
  recorded_at         TEXT NOT NULL,
  revoked_at          TEXT,              -- when the revocation was recorded
  revocation_received TEXT,              -- YYYY-MM-DD the withdrawal reached the operator
  revocation_reason_enc BLOB,
  destruction_due     TEXT,              -- received + 30 days (152-FZ art. 21 part 5)
  row_mac             BLOB
);
CREATE INDEX consents_patient ON consents(patient_id);

-- The operator's settings: organisation data (vault.h VaultSettings).
CREATE TABLE settings (
  key      TEXT PRIMARY KEY,   -- operator_name | operator_country | time_zone
  value    TEXT NOT NULL,
  row_mac  BLOB
);
