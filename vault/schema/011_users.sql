-- Server 2/4: the accounts of `dossier serve` (doc/FORMAT.md §Users). The login name is
-- personal data: sealed (`name_enc`) under the vault's user-name key and found through its
-- keyed MAC (`name_mac`), never in the clear. Both are NULL once the account's patient was
-- erased. `rights` is "view,upload,replies" (those granted) or "none".
CREATE TABLE users (
  id             TEXT PRIMARY KEY,   -- usr_…
  name_mac       BLOB UNIQUE,
  name_enc       BLOB,
  role           TEXT NOT NULL,      -- patient | representative | manager | compliance | admin
  patient_id     TEXT REFERENCES patients(id),
  rights         TEXT NOT NULL,
  password_hash  TEXT,               -- crypto_pwhash_str: $argon2id$v=19$m=65536,t=2,p=1$…
  disabled_at    TEXT,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  row_mac        BLOB
);
CREATE INDEX users_patient ON users(patient_id);
