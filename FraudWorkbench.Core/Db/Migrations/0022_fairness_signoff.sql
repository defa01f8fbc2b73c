-- A reviewer's sign-off of a version's fairness report (issue 18): approve or reject with a comment, kept as history
-- (the latest row is the one shown). report_computed_at names the report that was read, since a version's report is
-- replaced when it is computed again and an approval of the old one says nothing about the new.
-- Numbered 0022 while 0021 and 0023 come from parallel work: the migrator applies every embedded number it has not
-- recorded, in order, so a gap (or a lower number landing later) is applied like any other.
CREATE TABLE fairness_signoffs (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_version_id   uuid NOT NULL REFERENCES model_versions (id),
    decision           text NOT NULL CHECK (decision IN ('approve', 'reject')),
    comment            text NOT NULL,
    reviewer           text NOT NULL,
    at                 timestamptz NOT NULL,
    report_computed_at timestamptz NOT NULL
);

CREATE INDEX fairness_signoffs_version ON fairness_signoffs (model_version_id, id DESC);
