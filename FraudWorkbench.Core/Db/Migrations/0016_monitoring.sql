-- Monitoring (issue 16). Written as predictions are logged: per model version, hour (and day) and raw column,
-- the transactions' values counted into the fixed bins and category list of the version's reference, so a
-- window's drift is a sum of a few rows whatever the traffic. Day rows are the same counts summed by UTC day:
-- a 30-day range reads 30 rows per column instead of 720.
CREATE TABLE monitoring_counts (
    model_version_id uuid             NOT NULL REFERENCES model_versions (id),
    bucket           text             NOT NULL CHECK (bucket IN ('hour', 'day')),
    bucket_start     timestamptz      NOT NULL,
    column_name      text             NOT NULL, -- a raw column, or ':score' / ':decision'
    rows             bigint           NOT NULL, -- values seen, missing ones included
    missing          bigint           NOT NULL,
    counts           bigint[]         NOT NULL, -- per reference bin or category, in the reference's order
    sums             double precision[] NOT NULL DEFAULT '{}', -- per quantile bin, the sum of its values: Wasserstein exact per bin ('{}' for categories)
    unseen           bigint           NOT NULL, -- category values the reference never had
    unseen_values    jsonb            NOT NULL DEFAULT '{}', -- {value: count}, the most frequent ones
    below            bigint           NOT NULL, -- numeric values under the reference's minimum
    above            bigint           NOT NULL, -- and over its maximum
    sum              double precision NOT NULL, -- of the non-missing numeric values (the mean score, a mean amount)
    min              double precision NULL,
    max              double precision NULL,
    PRIMARY KEY (model_version_id, bucket, column_name, bucket_start)
) PARTITION BY RANGE (bucket_start);
CREATE TABLE monitoring_counts_default PARTITION OF monitoring_counts DEFAULT;

-- Transactions the scoring contract refused (400), per version and hour / day, with the fields it named.
CREATE TABLE scoring_refusals (
    model_version_id uuid        NOT NULL REFERENCES model_versions (id),
    bucket           text        NOT NULL CHECK (bucket IN ('hour', 'day')),
    bucket_start     timestamptz NOT NULL,
    rows             bigint      NOT NULL,
    fields           jsonb       NOT NULL DEFAULT '{}', -- {field: count}
    PRIMARY KEY (model_version_id, bucket, bucket_start)
) PARTITION BY RANGE (bucket_start);
CREATE TABLE scoring_refusals_default PARTITION OF scoring_refusals DEFAULT;

-- The drift history (the seed's DRIFT_METRIC table): one row per closed window and column as the recurring job
-- decided it, plus ':score', ':decision' and ':dataset' rows.
CREATE TABLE drift_results (
    registered_model_id     uuid             NOT NULL REFERENCES registered_models (id),
    model_version_id        uuid             NOT NULL REFERENCES model_versions (id),
    window_size             text             NOT NULL CHECK (window_size IN ('hour', 'day', 'week')),
    window_start            timestamptz      NOT NULL,
    column_name             text             NOT NULL,
    column_kind             text             NOT NULL,
    column_type             text             NOT NULL,
    method                  text             NOT NULL,
    value                   double precision NULL, -- null when the column could not be tested
    threshold               double precision NOT NULL,
    drifted                 boolean          NULL,
    status                  text             NOT NULL,
    rows                    bigint           NOT NULL,
    reference_rows          bigint           NOT NULL,
    missing                 bigint           NOT NULL,
    unseen                  bigint           NOT NULL,
    out_of_range            bigint           NOT NULL,
    computed_at             timestamptz      NOT NULL,
    PRIMARY KEY (model_version_id, window_size, window_start, column_name)
) PARTITION BY RANGE (window_start);
CREATE TABLE drift_results_default PARTITION OF drift_results DEFAULT;
CREATE INDEX drift_results_model_window ON drift_results (registered_model_id, window_size, window_start);

-- When the recurring job last stored windows of a model: one row per model, so pages need not scan the history for it.
CREATE TABLE monitoring_models (
    registered_model_id uuid        PRIMARY KEY REFERENCES registered_models (id),
    last_computed_at    timestamptz NOT NULL
);

-- Adds two {key: count} objects, keeping the most frequent keys: unseen values and refused fields per bucket.
CREATE FUNCTION jsonb_add_counts(a jsonb, b jsonb, keep integer) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(key, total), '{}'::jsonb)
    FROM (
        SELECT key, sum(value::bigint) AS total
        FROM (SELECT * FROM jsonb_each_text(a) UNION ALL SELECT * FROM jsonb_each_text(b)) AS both_sides
        GROUP BY key ORDER BY total DESC, key LIMIT keep
    ) AS kept
$$;

-- Element-wise sum of two equally long count arrays.
CREATE FUNCTION bigint_array_add(a bigint[], b bigint[]) RETURNS bigint[] LANGUAGE sql IMMUTABLE AS $$
    SELECT array_agg(x + y ORDER BY i) FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;

-- Element-wise sum of two equally long arrays of doubles (empty arrays stay empty).
CREATE FUNCTION double_array_add(a double precision[], b double precision[]) RETURNS double precision[] LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(x + y ORDER BY i), '{}') FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;

-- Per registered model: the drift test and threshold of each column and the dataset drift share (MonitoringConfig).
ALTER TABLE registered_models ADD COLUMN monitoring jsonb NULL;
