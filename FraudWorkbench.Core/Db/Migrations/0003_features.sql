-- Feature sets: immutable versions fitted on a dataset version, and the online entity state used when scoring.
CREATE TABLE feature_sets (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX feature_sets_name_key ON feature_sets (lower(name));

CREATE TABLE feature_set_versions (
    id              uuid PRIMARY KEY,
    feature_set_id  uuid NOT NULL REFERENCES feature_sets (id),
    version         integer NOT NULL,
    hash            text NOT NULL,
    dataset_id      uuid NOT NULL REFERENCES datasets (id),
    dataset_version integer NOT NULL,
    definition      jsonb NOT NULL,
    fitted          jsonb NOT NULL,
    reference       jsonb NOT NULL,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL,
    UNIQUE (feature_set_id, version),
    UNIQUE (feature_set_id, hash, dataset_id, dataset_version)
);

-- One row per (feature set version, entity feature, entity value): its recent events and totals.
CREATE TABLE entity_state (
    feature_set_version_id uuid NOT NULL REFERENCES feature_set_versions (id),
    feature_index          integer NOT NULL,
    entity                 text NOT NULL,
    state                  jsonb NOT NULL,
    updated_at             timestamptz NOT NULL,
    PRIMARY KEY (feature_set_version_id, feature_index, entity)
);
