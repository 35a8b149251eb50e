-- What portals count of each record (harvest.audience), by the software that counts (`counted_by`),
-- the latest measure kept; and each dataset's sums over its live records, per software and metric
-- ("udata:views=120"), as the indicators tally them.
CREATE TABLE audience (
    record       text        PRIMARY KEY,  -- source_id:remote_id
    counted_by   text        NOT NULL,
    metrics      jsonb       NOT NULL,
    measured_at  timestamptz NOT NULL
);

ALTER TABLE datasets ADD COLUMN audience text[] NOT NULL DEFAULT '{}';
