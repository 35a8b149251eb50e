-- Runs are queued by the command handler and executed by the run executor; a heartbeat tells a
-- run left behind by a crashed process from one still going.
ALTER TABLE runs
    ADD COLUMN requested_by  text,
    ADD COLUMN requested_at  timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN heartbeat_at  timestamptz,
    ADD COLUMN since         timestamptz;
ALTER TABLE runs ALTER COLUMN started_at DROP NOT NULL;
ALTER TABLE runs ALTER COLUMN started_at DROP DEFAULT;
CREATE INDEX runs_by_status ON runs (status, requested_at);

ALTER TABLE sources
    ADD COLUMN next_run_at   timestamptz,
    ADD COLUMN last_full_at  timestamptz;
