-- Scoring requests per minute as the web tier answered them (issue 19's "scoring error / 503 rate"): requests and the
-- 5xx among them, 503s included, counted in memory by each instance and added here every few seconds. model is '*'
-- when the request's model is not known without reading its body (the counts are then the installation's).
CREATE TABLE scoring_requests (
    minute   timestamptz NOT NULL,
    model    text        NOT NULL DEFAULT '*',
    requests bigint      NOT NULL CHECK (requests >= 0),
    errors   bigint      NOT NULL CHECK (errors >= 0),
    PRIMARY KEY (minute, model)
);
