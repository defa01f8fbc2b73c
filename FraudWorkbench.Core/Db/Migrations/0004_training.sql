-- Training runs: configuration, lineage, results and the model artifacts they produced.
CREATE TABLE training_runs (
    id                     uuid PRIMARY KEY,
    job_id                 uuid NOT NULL REFERENCES jobs (id),
    dataset_id             uuid NOT NULL REFERENCES datasets (id),
    dataset_version        integer NOT NULL,
    feature_set_version_id uuid NOT NULL REFERENCES feature_set_versions (id),
    config                 jsonb NOT NULL,
    status                 text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    result                 jsonb NULL,
    model_artifact         text NULL,
    error                  text NULL,
    duration_ms            bigint NULL,
    created_by             text NOT NULL,
    created_at             timestamptz NOT NULL,
    finished_at            timestamptz NULL
);
CREATE INDEX training_runs_created_at ON training_runs (created_at DESC);
