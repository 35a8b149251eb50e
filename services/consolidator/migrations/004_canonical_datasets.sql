-- Canonical datasets across portals: identity keys, the portal records' attribution and lifecycle,
-- the dataset's state and history, harvest runs accounted for withdrawals, contributed overrides.

-- Every key a portal record gave (see identity.py); a key belongs to the first dataset that claimed it.
CREATE TABLE dataset_keys (
    key         text PRIMARY KEY,
    dataset_id  text NOT NULL
);
CREATE INDEX dataset_keys_by_dataset ON dataset_keys (dataset_id);

ALTER TABLE dataset_sources
    ADD COLUMN origin           boolean     NOT NULL DEFAULT true,
    ADD COLUMN organization_id  text,
    ADD COLUMN attribution      jsonb,
    ADD COLUMN seen_at          timestamptz,  -- when the harvester saw it last (its event's time)
    ADD COLUMN missing_since    timestamptz,  -- absent from a complete run since then
    ADD COLUMN withdrawn_at     timestamptz;
CREATE INDEX dataset_sources_by_source ON dataset_sources (source_id, seen_at);

ALTER TABLE datasets
    ADD COLUMN state       jsonb,
    ADD COLUMN state_hash  text,
    ADD COLUMN attribution jsonb;

-- Every state a canonical dataset went through, with what caused it (a run, a contribution).
CREATE TABLE dataset_history (
    id          bigserial   PRIMARY KEY,
    dataset_id  text        NOT NULL,
    change      text        NOT NULL,
    state       jsonb       NOT NULL,
    cause       text,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dataset_history_by_dataset ON dataset_history (dataset_id, id);

-- Harvest runs as the consolidator accounts for them: withdrawals wait until every dataset the run
-- published (expected) has been consolidated.
CREATE TABLE harvest_runs (
    run_id            text        PRIMARY KEY,
    source_id         text        NOT NULL,
    consolidated      integer     NOT NULL DEFAULT 0,
    expected          integer,              -- known once HarvestRunFinished arrives
    status            text,
    complete          boolean,
    mode              text,
    errors            integer,
    error_remote_ids  text[]      NOT NULL DEFAULT '{}',
    started_at        timestamptz,
    finished_at       timestamptz,
    withdrawals_at    timestamptz,          -- when its withdrawals were applied (or found not allowed)
    withdrawn         integer               -- portal records withdrawn by this run
);

-- Accepted contributions that override harvested values (see overrides.py).
CREATE TABLE overrides (
    target           text        NOT NULL,  -- organization or dataset
    target_id        text        NOT NULL,
    field            text        NOT NULL,
    value            jsonb,
    base_value       jsonb,
    contribution_id  text        NOT NULL,
    accepted_at      timestamptz NOT NULL DEFAULT now(),
    expired_at       timestamptz,           -- the harvested value changed upstream: it won again
    PRIMARY KEY (target, target_id, field)
);

-- A batch stores its portal records before it recomputes their canonical datasets, in one transaction.
ALTER TABLE dataset_sources ALTER CONSTRAINT dataset_sources_dataset_id_fkey DEFERRABLE INITIALLY DEFERRED;
