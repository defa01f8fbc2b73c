-- A version made by correcting another version's roles reuses its file; this says which one it came from.
ALTER TABLE dataset_versions ADD COLUMN based_on_version integer NULL;
