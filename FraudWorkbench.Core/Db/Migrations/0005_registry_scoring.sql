-- Model registry: registered models with their validation gate, versions from training runs with a
-- stage each (one production version per model), the history of stage changes, and incidents.
CREATE TABLE registered_models (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    gate        jsonb NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX registered_models_name_key ON registered_models (lower(name));

CREATE TABLE model_versions (
    id                  uuid PRIMARY KEY,
    registered_model_id uuid NOT NULL REFERENCES registered_models (id),
    version             integer NOT NULL,
    run_id              uuid NOT NULL REFERENCES training_runs (id),
    stage               text NOT NULL CHECK (stage IN ('candidate', 'staging', 'production', 'archived')),
    tags                text[] NOT NULL DEFAULT '{}',
    notes               text NOT NULL DEFAULT '',
    gate_status         text NOT NULL CHECK (gate_status IN ('pending', 'passed', 'failed', 'overridden', 'error')),
    gate_result         jsonb NULL,
    gate_job_id         uuid NULL REFERENCES jobs (id),
    override_reason     text NULL,
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL,
    UNIQUE (registered_model_id, version)
);
-- The database itself guarantees a single production version per registered model.
CREATE UNIQUE INDEX model_versions_one_production ON model_versions (registered_model_id) WHERE stage = 'production';

CREATE TABLE model_stage_history (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    registered_model_id uuid NOT NULL REFERENCES registered_models (id),
    model_version_id    uuid NOT NULL REFERENCES model_versions (id),
    from_stage          text NULL,
    to_stage            text NOT NULL,
    reason              text NULL,
    actor               text NOT NULL,
    at                  timestamptz NOT NULL
);
CREATE INDEX model_stage_history_model ON model_stage_history (registered_model_id, at DESC);

CREATE TABLE incidents (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL,
    kind         text NOT NULL,
    subject_type text NOT NULL,
    subject_id   text NOT NULL,
    message      text NOT NULL
);
CREATE INDEX incidents_subject ON incidents (subject_type, subject_id, at DESC);

-- Scoring: every prediction served, and the confirmed labels partners send back.
ALTER TABLE api_keys ADD COLUMN rate_limit_per_minute integer NULL CHECK (rate_limit_per_minute > 0);

CREATE TABLE predictions (
    id               uuid PRIMARY KEY,
    created_at       timestamptz NOT NULL,
    model_version_id uuid NOT NULL REFERENCES model_versions (id),
    actor            text NOT NULL,
    input            jsonb NOT NULL,
    features         real[] NOT NULL,
    probability      double precision NOT NULL,
    decision         boolean NOT NULL,
    latency_ms       real NOT NULL,
    reasons          jsonb NULL
);
CREATE INDEX predictions_created_at ON predictions (created_at);
CREATE INDEX predictions_version_created_at ON predictions (model_version_id, created_at DESC);

CREATE TABLE prediction_feedback (
    prediction_id uuid PRIMARY KEY REFERENCES predictions (id) ON DELETE CASCADE,
    is_fraud      boolean NOT NULL,
    label_date    date NULL,
    actor         text NOT NULL,
    received_at   timestamptz NOT NULL
);
