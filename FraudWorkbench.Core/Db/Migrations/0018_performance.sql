-- Performance monitoring (issue 17). Per model version and UTC day of the predictions (the cohort's unit),
-- written as predictions are logged and adjusted as their labels arrive or change, so realized and estimated
-- performance over any range is a sum of day rows whatever the traffic.
-- Scores are counted in 1,000 bins of equal width in log-odds over [-10, 10] (the ends catch the rest).
CREATE TABLE performance_counts (
    model_version_id      uuid               NOT NULL REFERENCES model_versions (id),
    day                   date               NOT NULL,
    rows                  bigint             NOT NULL,
    flagged               bigint             NOT NULL, -- decision = fraud at the version's threshold
    sum_p                 double precision   NOT NULL, -- Σ p: the expected fraud count (CBPE)
    sum_pq                double precision   NOT NULL, -- Σ p (1 - p): its variance
    sum_p_flagged         double precision   NOT NULL,
    amount_flagged        double precision   NOT NULL, -- Σ amount over flagged rows
    amount_unflagged      double precision   NOT NULL,
    p_amount_flagged      double precision   NOT NULL, -- Σ p · amount: expected fraud amount caught
    p_amount_unflagged    double precision   NOT NULL, -- and missed
    bin_rows              bigint[]           NOT NULL,
    bin_p                 double precision[] NOT NULL,
    bin_fraud             bigint[]           NOT NULL, -- rows labelled fraud (the rest count as legitimate)
    fraud_flagged         bigint             NOT NULL,
    fraud_unflagged       bigint             NOT NULL,
    legit_flagged         bigint             NOT NULL,
    legit_unflagged       bigint             NOT NULL,
    fraud_amount_flagged  double precision   NOT NULL,
    fraud_amount_unflagged double precision  NOT NULL,
    fraud_delays          bigint[]           NOT NULL, -- fraud labels by whole days from prediction to label (last: 365 or more)
    PRIMARY KEY (model_version_id, day)
);

-- Labels may name the transaction by its own id (from case-management exports) instead of the prediction id:
-- the value of the dataset's transaction id column, kept with each prediction as it is logged.
ALTER TABLE predictions ADD COLUMN transaction_id text NULL;
CREATE INDEX predictions_transaction_id ON predictions (transaction_id) WHERE transaction_id IS NOT NULL;

-- Per model: the label window, the maturity before an alert, as PerformanceConfig (null: defaults).
ALTER TABLE registered_models ADD COLUMN performance jsonb NULL;
