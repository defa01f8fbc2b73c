-- One row per recurring job and window it was queued for: the primary key is what makes two instances,
-- or a catch-up after downtime, queue a window once.
CREATE TABLE recurring_runs (
    kind         text        NOT NULL,
    window_start timestamptz NOT NULL,
    job_id       uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, -- the window is claimed before its job is written
    queued_at    timestamptz NOT NULL,
    PRIMARY KEY (kind, window_start)
);
