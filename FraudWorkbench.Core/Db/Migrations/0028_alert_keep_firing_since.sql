-- Keep firing for (issue 19): a firing alert stays firing that long after its condition clears, counted from the first
-- evaluation that found it false again (Prometheus's KeepFiringSince), not from the last true one. Null while the
-- condition holds; kept on a resolved alert as when its condition cleared.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS keep_firing_since timestamptz NULL;
