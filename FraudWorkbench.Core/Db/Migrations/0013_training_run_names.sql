-- A run's name and description, as MLflow shows them: set when it starts (a name is made up when none is
-- given), editable afterwards. Runs from before get the made-up name's form from their config.
ALTER TABLE training_runs ADD COLUMN name text NULL;
ALTER TABLE training_runs ADD COLUMN description text NULL;
UPDATE training_runs r SET name = (r.config -> 'trainer' ->> 'trainer') || ' · ' || d.name || ' v' || r.dataset_version
FROM datasets d WHERE d.id = r.dataset_id AND r.name IS NULL;
