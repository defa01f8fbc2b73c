-- Global explanations per model version, computed by a job from the version's holdout and kept.
CREATE TABLE model_explanations (
    model_version_id uuid PRIMARY KEY REFERENCES model_versions (id),
    job_id           uuid NOT NULL REFERENCES jobs (id),
    result           jsonb NULL,
    computed_at      timestamptz NULL
);
