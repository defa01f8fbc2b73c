-- Optimistic concurrency for the online entity state: every write takes a fresh revision from one
-- sequence (never reused, so a row deleted and written again by a backfill cannot look unchanged).
CREATE SEQUENCE entity_state_revision;
ALTER TABLE entity_state ADD COLUMN revision bigint NOT NULL DEFAULT nextval('entity_state_revision');
