-- Alerts (issue 19): rules on any monitored metric, the alerts they raise with an Alertmanager-like lifecycle, silences,
-- notification channels and the durable delivery queue with its dead letters.

-- A rule watches one metric of one model (model_name) or of every model (NULL). The whole definition is one JSON
-- document (AlertRuleSpec) so a change is one row update and its audit entry shows before and after.
CREATE TABLE alert_rules (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    model_name  text NULL,
    spec        jsonb NOT NULL,
    enabled     boolean NOT NULL,
    revision    integer NOT NULL DEFAULT 1,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_by  text NOT NULL,
    updated_at  timestamptz NOT NULL,
    -- Deleted rules stay for the alert history that names them.
    deleted_at  timestamptz NULL
);

CREATE UNIQUE INDEX alert_rules_name ON alert_rules (lower(name)) WHERE deleted_at IS NULL;

-- The last evaluation of each rule for each model it covers: when (the evaluation interval counts from it) and what
-- it saw. An inactive rule has no alert row, so this is where "evaluated, condition false" is kept.
CREATE TABLE alert_evaluations (
    rule_id      uuid NOT NULL REFERENCES alert_rules (id),
    model_name   text NOT NULL,
    evaluated_at timestamptz NOT NULL,
    value        double precision NULL,
    sample       bigint NULL,
    outcome      text NOT NULL CHECK (outcome IN ('true', 'false', 'unknown', 'error')),
    message      text NULL,
    PRIMARY KEY (rule_id, model_name)
);

-- One row per episode: pending → firing → resolved (a pending alert whose condition clears before `for` is resolved
-- without having fired, fired_at NULL). At most one open episode per fingerprint (rule and model).
CREATE TABLE alerts (
    id                uuid PRIMARY KEY,
    rule_id           uuid NOT NULL REFERENCES alert_rules (id),
    rule_name         text NOT NULL,
    model_name        text NOT NULL,
    fingerprint       text NOT NULL,
    state             text NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    severity          text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    value             double precision NULL,
    labels            jsonb NOT NULL,
    annotations       jsonb NOT NULL,
    active_at         timestamptz NOT NULL,
    fired_at          timestamptz NULL,
    last_true_at      timestamptz NOT NULL,
    resolved_at       timestamptz NULL,
    last_evaluated_at timestamptz NOT NULL,
    acked_by          text NULL,
    acked_at          timestamptz NULL,
    ack_comment       text NULL
);

CREATE UNIQUE INDEX alerts_open_fingerprint ON alerts (fingerprint) WHERE state IN ('pending', 'firing');
CREATE INDEX alerts_active_at ON alerts (active_at DESC);
CREATE INDEX alerts_rule ON alerts (rule_id, active_at DESC);

-- Matchers (label, op, value) on an alert's labels (alertname, model, severity and the rule's own); all must match.
CREATE TABLE alert_silences (
    id          uuid PRIMARY KEY,
    matchers    jsonb NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at),
    comment     text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    expired_by  text NULL,
    expired_at  timestamptz NULL
);

CREATE INDEX alert_silences_ends ON alert_silences (ends_at DESC);

-- Where notifications go: an Alertmanager-format or Slack-format webhook, or e-mail. The webhook secret is stored
-- encrypted with the app's Data Protection keys, shown once when created, never logged.
CREATE TABLE notification_channels (
    id                      uuid PRIMARY KEY,
    name                    text NOT NULL,
    kind                    text NOT NULL CHECK (kind IN ('alertmanager', 'slack', 'email')),
    url                     text NULL,
    recipients              text[] NOT NULL DEFAULT '{}',
    secret                  text NULL,
    global                  boolean NOT NULL,
    send_resolved           boolean NOT NULL,
    enabled                 boolean NOT NULL,
    group_wait_seconds      integer NOT NULL,
    group_interval_seconds  integer NOT NULL,
    repeat_interval_seconds integer NOT NULL,
    created_by              text NOT NULL,
    created_at              timestamptz NOT NULL,
    updated_by              text NOT NULL,
    updated_at              timestamptz NOT NULL,
    deleted_at              timestamptz NULL
);

CREATE UNIQUE INDEX notification_channels_name ON notification_channels (lower(name)) WHERE deleted_at IS NULL;

-- Alertmanager's aggregation groups per channel: what was last sent for the group and when, which decides group
-- wait, group interval and repeat interval.
CREATE TABLE notification_groups (
    channel_id      uuid NOT NULL REFERENCES notification_channels (id),
    group_key       text NOT NULL,
    first_seen_at   timestamptz NOT NULL,
    last_sent_at    timestamptz NULL,
    sent_firing     text[] NOT NULL DEFAULT '{}',
    sent_resolved   text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (channel_id, group_key)
);

-- The durable outbox: each notification is a row claimed with FOR UPDATE SKIP LOCKED, retried with backoff until
-- delivered or dead (a dead letter, resendable from the UI).
CREATE TABLE notification_deliveries (
    id              uuid PRIMARY KEY,
    channel_id      uuid NOT NULL REFERENCES notification_channels (id),
    group_key       text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    test            boolean NOT NULL DEFAULT false,
    alert_status    text NOT NULL CHECK (alert_status IN ('firing', 'resolved')),
    fingerprints    text[] NOT NULL,
    payload         text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_status     integer NULL,
    last_error      text NULL,
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz NULL,
    dead_at         timestamptz NULL
);

CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notification_deliveries_dead ON notification_deliveries (dead_at DESC) WHERE status = 'dead';

-- The notifier looks up the latest fired-then-resolved episode of the fingerprints it last sent as firing, every second:
-- without this the history (which only grows) would be scanned each time.
CREATE INDEX alerts_resolved_fingerprint ON alerts (fingerprint, active_at DESC) WHERE state = 'resolved' AND fired_at IS NOT NULL;
