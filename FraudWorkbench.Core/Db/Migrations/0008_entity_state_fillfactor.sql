-- Every scored transaction rewrites its entities' rows. Room left on each page lets PostgreSQL update
-- them in place (heap-only tuples: no new primary-key entry per write), which keeps the table and
-- its index from growing with every transaction between vacuums.
ALTER TABLE entity_state SET (fillfactor = 70);
