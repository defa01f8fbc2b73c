-- The prediction log partitioned by UTC day (issue 16): retention drops whole days instead of deleting rows, and a
-- window read touches only its days. Migrated in place, in the migrator's one transaction: the old table is renamed,
-- the partitioned one created with the same columns, defaults and indexes, one partition per day the existing rows
-- need plus a DEFAULT one, the rows copied over and the old table dropped. Later days are created ahead by
-- PartitionMaintenance (named {table}_pYYYYMMDD like the ones here).

-- Labels point at (id, created_at) from now on: a partitioned table's keys must include the partition key.
ALTER TABLE prediction_feedback DROP CONSTRAINT prediction_feedback_prediction_id_fkey;

ALTER TABLE predictions RENAME TO predictions_unpartitioned;
ALTER INDEX predictions_pkey RENAME TO predictions_unpartitioned_pkey;
ALTER INDEX predictions_created_at RENAME TO predictions_unpartitioned_created_at;
ALTER INDEX predictions_version_created_at RENAME TO predictions_unpartitioned_version_created_at;

CREATE TABLE predictions (
    id               uuid NOT NULL,
    created_at       timestamptz NOT NULL,
    model_version_id uuid NOT NULL REFERENCES model_versions (id),
    actor            text NOT NULL,
    input            jsonb NOT NULL,
    features         real[] NOT NULL,
    probability      double precision NOT NULL,
    decision         boolean NOT NULL,
    latency_ms       real NOT NULL,
    reasons          jsonb NULL,
    unseen           jsonb NULL,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX predictions_created_at ON predictions (created_at);
CREATE INDEX predictions_version_created_at ON predictions (model_version_id, created_at DESC);
CREATE TABLE predictions_default PARTITION OF predictions DEFAULT;

DO $$
DECLARE
    day date;
BEGIN
    FOR day IN SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM predictions_unpartitioned ORDER BY 1 LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF predictions FOR VALUES FROM (%L) TO (%L)',
            'predictions_p' || to_char(day, 'YYYYMMDD'), day::text || ' 00:00:00+00', (day + 1)::text || ' 00:00:00+00');
    END LOOP;
END
$$;

INSERT INTO predictions (id, created_at, model_version_id, actor, input, features, probability, decision, latency_ms, reasons, unseen)
SELECT id, created_at, model_version_id, actor, input, features, probability, decision, latency_ms, reasons, unseen
FROM predictions_unpartitioned;

ALTER TABLE prediction_feedback ADD COLUMN prediction_created_at timestamptz NULL;
UPDATE prediction_feedback f SET prediction_created_at = p.created_at FROM predictions_unpartitioned p WHERE p.id = f.prediction_id;
ALTER TABLE prediction_feedback ALTER COLUMN prediction_created_at SET NOT NULL;
ALTER TABLE prediction_feedback ADD CONSTRAINT prediction_feedback_prediction_fkey
    FOREIGN KEY (prediction_id, prediction_created_at) REFERENCES predictions (id, created_at) ON DELETE CASCADE;
-- Retention deletes a day's labels before it drops the day's partition (a referenced partition cannot be dropped).
CREATE INDEX prediction_feedback_prediction_created_at ON prediction_feedback (prediction_created_at);

-- A writer that names only the prediction (older code, hand-written SQL) still gets a checked label: the time is read
-- from the prediction, and a prediction that does not exist leaves it null, which NOT NULL refuses.
CREATE FUNCTION prediction_feedback_fill_created_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.prediction_created_at IS NULL THEN
        NEW.prediction_created_at := (SELECT created_at FROM predictions WHERE id = NEW.prediction_id LIMIT 1);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER prediction_feedback_fill_created_at BEFORE INSERT ON prediction_feedback
    FOR EACH ROW EXECUTE FUNCTION prediction_feedback_fill_created_at();

DROP TABLE predictions_unpartitioned;

-- "One model, a time range" for the counts (the primary key leads with the column, which a window read does not name).
CREATE INDEX monitoring_counts_version_window ON monitoring_counts (model_version_id, bucket, bucket_start);
