-- Automated retraining (issue 20): a policy per registered model, workflows of durable steps from a trigger to a
-- promoted (or rejected) challenger, the lineage of the dataset versions they build from the prediction log, and the
-- challenger's shadow predictions on live traffic.

-- One policy per registered model, as one JSON document (RetrainingPolicy) so a change is one row and one audit entry.
CREATE TABLE retraining_policies (
    registered_model_id uuid PRIMARY KEY REFERENCES registered_models (id),
    policy              jsonb NOT NULL,
    updated_by          text NOT NULL,
    updated_at          timestamptz NOT NULL
);

-- A workflow runs the steps in RetrainingStep.All order; `step` is the current one, so a restart resumes there.
-- What each step produced is linked from here (and in detail in retraining_steps.result).
CREATE TABLE retraining_workflows (
    id                     uuid PRIMARY KEY,
    registered_model_id    uuid NOT NULL REFERENCES registered_models (id),
    model_name             text NOT NULL,
    trigger_kind           text NOT NULL CHECK (trigger_kind IN ('alert', 'schedule', 'manual')),
    trigger_alert_id       uuid NULL REFERENCES alerts (id),
    trigger_detail         text NOT NULL,
    policy                 jsonb NOT NULL,      -- the policy as it was when the workflow started
    champion_version_id    uuid NULL REFERENCES model_versions (id),
    status                 text NOT NULL,
    step                   text NOT NULL,
    dataset_id             uuid NULL REFERENCES datasets (id),
    dataset_version        integer NULL,
    feature_set_version_id uuid NULL REFERENCES feature_set_versions (id),
    run_id                 uuid NULL REFERENCES training_runs (id),
    candidate_version_id   uuid NULL REFERENCES model_versions (id),
    shadow_started_at      timestamptz NULL,
    shadow_ends_at         timestamptz NULL,
    promoted_at            timestamptz NULL,
    watch_until            timestamptz NULL,
    decision               text NULL CHECK (decision IN ('approved', 'rejected', 'automatic')),
    decided_by             text NULL,
    decided_at             timestamptz NULL,
    decision_comment       text NULL,
    rolled_back_at         timestamptz NULL,
    rollback_reason        text NULL,
    error                  text NULL,
    created_by             text NOT NULL,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    finished_at            timestamptz NULL
);

-- "No retrain while one is running for the model": at most one workflow per model that has not finished.
CREATE UNIQUE INDEX retraining_workflows_one_active ON retraining_workflows (registered_model_id)
    WHERE status IN ('running', 'awaiting_approval', 'watching');
CREATE INDEX retraining_workflows_model_created ON retraining_workflows (registered_model_id, created_at DESC);
CREATE INDEX retraining_workflows_trigger_alert ON retraining_workflows (trigger_alert_id) WHERE trigger_alert_id IS NOT NULL;
CREATE INDEX retraining_workflows_candidate ON retraining_workflows (candidate_version_id) WHERE candidate_version_id IS NOT NULL;

-- Every step of every workflow, created with the workflow (pending) so the timeline shows what is still to come.
CREATE TABLE retraining_steps (
    workflow_id uuid NOT NULL REFERENCES retraining_workflows (id) ON DELETE CASCADE,
    step        text NOT NULL,
    ordinal     integer NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'running', 'waiting', 'succeeded', 'failed', 'skipped')),
    job_id      uuid NULL REFERENCES jobs (id),
    started_at  timestamptz NULL,
    finished_at timestamptz NULL,
    result      jsonb NULL,
    error       text NULL,
    PRIMARY KEY (workflow_id, step)
);
CREATE INDEX retraining_steps_job ON retraining_steps (job_id) WHERE job_id IS NOT NULL;

-- Where a dataset version built from production traffic came from: the workflow, the predictions' time window and
-- model versions, how each row got its label, and a SHA-256 over the ordered prediction ids (each row also carries
-- its prediction_id column), so no training data is hidden.
CREATE TABLE retraining_dataset_lineage (
    dataset_version_id      uuid PRIMARY KEY REFERENCES dataset_versions (id),
    workflow_id             uuid NOT NULL REFERENCES retraining_workflows (id),
    registered_model_id     uuid NOT NULL REFERENCES registered_models (id),
    source_version_ids      uuid[] NOT NULL,
    window_from             timestamptz NOT NULL,
    window_to               timestamptz NOT NULL,
    holdout_from            timestamptz NULL,
    holdout_to              timestamptz NULL,
    mode                    text NOT NULL CHECK (mode IN ('append', 'replace')),
    base_dataset_version_id uuid NULL REFERENCES dataset_versions (id),
    base_rows               bigint NOT NULL,
    predictions             bigint NOT NULL,   -- traffic rows written
    fraud_labelled          bigint NOT NULL,
    legit_labelled          bigint NOT NULL,
    legit_by_window         bigint NOT NULL,   -- unlabelled past the label window: legitimate
    left_out                bigint NOT NULL,   -- unlabelled inside the label window (and holdout rows)
    prediction_ids_sha256   text NOT NULL,
    created_at              timestamptz NOT NULL
);

-- The challenger's score for each live prediction the champion made while the workflow shadowed, scored off the
-- request path. No foreign key to predictions: the log is partitioned and its retention may drop the day first.
CREATE TABLE shadow_predictions (
    workflow_id           uuid NOT NULL REFERENCES retraining_workflows (id) ON DELETE CASCADE,
    prediction_id         uuid NOT NULL,
    prediction_created_at timestamptz NOT NULL,
    champion_version_id   uuid NOT NULL,
    challenger_version_id uuid NOT NULL,
    champion_probability  double precision NOT NULL,
    champion_decision     boolean NOT NULL,
    probability           double precision NOT NULL,
    decision              boolean NOT NULL,
    latency_ms            real NOT NULL,
    scored_at             timestamptz NOT NULL,
    PRIMARY KEY (workflow_id, prediction_id)
);
CREATE INDEX shadow_predictions_prediction ON shadow_predictions (prediction_id);
