-- The audit log says who and why (doc/FORMAT.md §Audit log): events written from now on use
-- canonical encoding 2, which adds the operating-system user, the reason of a refusal or
-- failure, and details (ids, flags, codes). Events written before keep encoding 1 and their
-- hashes: the new columns hold their defaults for them, and must (verification checks it).
ALTER TABLE audit_events ADD COLUMN encoding INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_events ADD COLUMN os_user  TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN reason   TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN details  TEXT NOT NULL DEFAULT '{}';  -- JSON object of strings

-- What an event must keep but may not show: personal text (the name of the file a document
-- was decrypted to), sealed under the patient's field key with the note's id as associated
-- data. The event names the note by id in its details; erasing the patient destroys the key
-- and clears the sealed text.
CREATE TABLE audit_notes (
  id          TEXT PRIMARY KEY,  -- note_…
  patient_id  TEXT NOT NULL REFERENCES patients(id),
  created_at  TEXT NOT NULL,
  text_enc    BLOB               -- NULL once the patient is erased
);
CREATE INDEX audit_notes_patient ON audit_notes(patient_id);
