-- Accounts: local users, API keys, the audit log and shared Data Protection keys.
CREATE TABLE users (
    id              uuid PRIMARY KEY,
    email           text NOT NULL,
    display_name    text NOT NULL,
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('Admin', 'DataScientist', 'Reviewer')),
    security_stamp  uuid NOT NULL,
    failed_sign_ins integer NOT NULL DEFAULT 0,
    locked_until    timestamptz NULL,
    must_change_password boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    last_sign_in_at timestamptz NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    prefix       text NOT NULL,
    key_hash     bytea NOT NULL UNIQUE,
    scopes       text[] NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NULL,
    revoked_at   timestamptz NULL,
    last_used_at timestamptz NULL
);

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    object_type text NOT NULL,
    object_id   text NULL,
    summary     jsonb NULL
);
CREATE INDEX audit_log_at ON audit_log (at DESC);

CREATE TABLE data_protection_keys (
    name       text PRIMARY KEY,
    xml        text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Durable jobs, claimed by workers in every instance with FOR UPDATE SKIP LOCKED.
CREATE TABLE jobs (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL,
    payload          jsonb NOT NULL,
    status           text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress         integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    stage            text NULL,
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 2,
    cancel_requested boolean NOT NULL DEFAULT false,
    worker           text NULL,
    heartbeat_at     timestamptz NULL,
    error            text NULL,
    result           jsonb NULL,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL,
    started_at       timestamptz NULL,
    finished_at      timestamptz NULL
);
CREATE INDEX jobs_queued ON jobs (created_at) WHERE status = 'queued';
CREATE INDEX jobs_running ON jobs (heartbeat_at) WHERE status = 'running';
CREATE INDEX jobs_created_at ON jobs (created_at DESC);
