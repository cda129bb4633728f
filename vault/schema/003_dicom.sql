-- DICOM (issue 5): the studies, series and instances of stored DICOM documents. UIDs are
-- never stored: rows are found by keyed MACs of them under the patient's key, and every
-- descriptive or identifying field is in summary_enc (the instance summary as JSON, sealed
-- with the patient's field key). Erasing the patient nulls both.
CREATE TABLE dicom_studies (
  id           TEXT PRIMARY KEY,
  case_id      TEXT NOT NULL REFERENCES cases(id),
  uid_mac      BLOB,                 -- of the StudyInstanceUID; NULL once erased
  summary_enc  BLOB                  -- the first instance's summary
);
CREATE INDEX dicom_studies_uid ON dicom_studies(case_id, uid_mac);
CREATE TABLE dicom_series (
  id           TEXT PRIMARY KEY,
  study_id     TEXT NOT NULL REFERENCES dicom_studies(id),
  case_id      TEXT NOT NULL REFERENCES cases(id),
  uid_mac      BLOB,                 -- of the SeriesInstanceUID; NULL once erased
  summary_enc  BLOB,                 -- the first instance's summary
  mismatch     TEXT NOT NULL,        -- why it may be another patient's ('' : nothing says so)
  preview_enc  BLOB                  -- PNG of its middle image, sealed; NULL: none
);
CREATE INDEX dicom_series_uid ON dicom_series(case_id, uid_mac);
CREATE TABLE dicom_instances (
  doc_id       TEXT PRIMARY KEY REFERENCES documents(id),
  series_id    TEXT NOT NULL REFERENCES dicom_series(id),
  uid_mac      BLOB,                 -- of the SOPInstanceUID; NULL once erased
  number       INTEGER NOT NULL,     -- InstanceNumber (order within the series)
  summary_enc  BLOB                  -- this instance's summary
);
CREATE INDEX dicom_instances_series ON dicom_instances(series_id, number);
