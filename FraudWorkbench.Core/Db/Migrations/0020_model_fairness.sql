-- Fairness of each model version on its validation holdout (issue 18): computed by a job, kept as one document per
-- version, replaced when computed again.
CREATE TABLE model_fairness (
    model_version_id uuid PRIMARY KEY REFERENCES model_versions (id),
    job_id           uuid NOT NULL REFERENCES jobs (id),
    result           jsonb NULL,
    computed_at      timestamptz NULL
);
