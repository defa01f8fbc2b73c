-- The fairness gate (issue 18): a gate check that cannot be judged (groups too small to compare) leaves the version
-- "inconclusive", which blocks production like a failure until an Admin overrides it.
ALTER TABLE model_versions DROP CONSTRAINT model_versions_gate_status_check;
ALTER TABLE model_versions ADD CONSTRAINT model_versions_gate_status_check
    CHECK (gate_status IN ('pending', 'passed', 'failed', 'inconclusive', 'overridden', 'error'));

-- A registered model's fairness limits, kept by the Fairness capability beside the registry's own gate settings.
CREATE TABLE fairness_gates (
    registered_model_id uuid PRIMARY KEY REFERENCES registered_models (id) ON DELETE CASCADE,
    settings            jsonb NOT NULL,
    updated_by          text NOT NULL,
    updated_at          timestamptz NOT NULL
);
