-- One row per entity instead of one per entity feature: a customer's running mean and velocity were two rows,
-- each rewritten on every scored transaction. The row holds each feature's history as its index (int4send), its
-- length (int4send) and its bytes, in feature order (EntityRow.Join). Entities of different key columns with the
-- same value share a row, each feature's history apart inside it.
CREATE TABLE entity_state_rows (
    feature_set_version_id uuid NOT NULL REFERENCES feature_set_versions (id),
    entity                 text NOT NULL,
    state                  bytea NOT NULL,
    revision               bigint NOT NULL DEFAULT nextval('entity_state_revision'),
    updated_at             timestamptz NOT NULL,
    PRIMARY KEY (feature_set_version_id, entity)
) WITH (fillfactor = 70);

INSERT INTO entity_state_rows (feature_set_version_id, entity, state, revision, updated_at)
SELECT feature_set_version_id, entity,
       string_agg(int4send(feature_index) || int4send(length(state)) || state, ''::bytea ORDER BY feature_index),
       max(revision), max(updated_at)
FROM entity_state
GROUP BY feature_set_version_id, entity;

DROP TABLE entity_state;
ALTER TABLE entity_state_rows RENAME TO entity_state;
ALTER INDEX entity_state_rows_pkey RENAME TO entity_state_pkey;
