-- Shadow scoring reads the prediction log (issue 20, follow-up): from the moment a workflow's feature step has fitted the
-- challenger's feature set version until its promotion, the shadow tailer replays the champion's logged traffic into the
-- challenger's entity histories (and, during the shadow period, scores it). Its position in the log is stored here, so
-- any instance can take over where another stopped and the engine can tell when the shadow period has been read.

-- (histories_through, histories_through_id): the log position (created_at, id) up to which the challenger's histories
-- hold the champion's traffic; every row ordered at or before it has been read. The feature step sets it to the cut of
-- its own replay with the nil uuid (every row at that instant is still to come). NULL: nothing tails this workflow.
ALTER TABLE retraining_workflows
    ADD COLUMN histories_through    timestamptz NULL,
    ADD COLUMN histories_through_id uuid NULL;

-- Workflows past their feature step when this runs: the old scorer recorded only the shadow period's traffic, so their
-- histories already lack what came before; tailing from now on at least stops the gap from growing.
UPDATE retraining_workflows
SET histories_through = now(), histories_through_id = '00000000-0000-0000-0000-000000000000'
WHERE feature_set_version_id IS NOT NULL AND champion_version_id IS NOT NULL
  AND (status = 'awaiting_approval' OR (status = 'running' AND step IN ('features', 'train', 'register', 'gate', 'shadow', 'approval', 'promote')));
