-- Fairness of production traffic (issue 18): per model version and UTC day of the predictions, the groups of the
-- protected columns the partners sent in the request, with realized metrics (labels so far; unlabelled counts as
-- legitimate, as performance monitoring counts it) and estimated ones (labels where in, calibrated probabilities
-- discounted by the day's label maturity where not). Written by the daily monitoring job and again when a day's labels
-- change; one document per day, replaced.
CREATE TABLE fairness_windows (
    model_version_id    uuid        NOT NULL REFERENCES model_versions (id),
    day                 date        NOT NULL,
    registered_model_id uuid        NOT NULL REFERENCES registered_models (id),
    predictions         bigint      NOT NULL, -- the day's predictions by this version
    sampled             integer     NOT NULL, -- of them, computed on (a deterministic sample beyond the cap)
    labels              bigint      NOT NULL, -- labels of the day's predictions when computed
    fraud_labels        bigint      NOT NULL,
    last_label_at       timestamptz NULL,     -- the latest of those labels' arrival: a later one means the day is computed again
    mature              boolean     NOT NULL, -- the label window had passed for the whole day
    result              jsonb       NOT NULL,
    computed_at         timestamptz NOT NULL,
    PRIMARY KEY (model_version_id, day)
);
CREATE INDEX fairness_windows_model_day ON fairness_windows (registered_model_id, day);
