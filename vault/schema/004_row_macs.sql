-- Security 3/3: a keyed MAC over the plaintext columns each row's decisions read
-- (doc/SECURITY.md, doc/FORMAT.md §Row MACs). NULL only in a vault not yet upgraded.
ALTER TABLE patients ADD COLUMN row_mac BLOB;
ALTER TABLE cases ADD COLUMN row_mac BLOB;
ALTER TABLE documents ADD COLUMN row_mac BLOB;
ALTER TABLE pages ADD COLUMN row_mac BLOB;
ALTER TABLE dicom_studies ADD COLUMN row_mac BLOB;
ALTER TABLE dicom_series ADD COLUMN row_mac BLOB;
ALTER TABLE dicom_instances ADD COLUMN row_mac BLOB;
