-- Entity histories as bytes instead of jsonb (EntityHistory.ToBytes: a format byte, then big-endian int64 and
-- float64 fields): scoring reads and rewrites them on every transaction, and PostgreSQL no longer parses JSON
-- into jsonb for each write. Existing histories are converted here with the same functions that define the
-- format. (A subquery is not allowed in ALTER COLUMN ... USING, hence the new column.)
ALTER TABLE entity_state ADD COLUMN state_bytes bytea;

UPDATE entity_state SET state_bytes =
    '\x01'::bytea
    || int8send((state ->> 'OlderCount')::bigint)
    || float8send((state ->> 'OlderSum')::float8)
    || COALESCE((
        SELECT string_agg(int8send(t.ticks::text::bigint) || float8send((state -> 'Values' ->> (t.n - 1)::int)::float8), ''::bytea ORDER BY t.n)
        FROM jsonb_array_elements(state -> 'Times') WITH ORDINALITY AS t(ticks, n)), ''::bytea);

ALTER TABLE entity_state DROP COLUMN state;
ALTER TABLE entity_state RENAME COLUMN state_bytes TO state;
ALTER TABLE entity_state ALTER COLUMN state SET NOT NULL;
