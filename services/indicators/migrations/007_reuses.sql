-- Reuses portals list (harvest.reuses), each naming the portal records of the datasets it uses; a
-- dataset's live records and the reuses that name any of them, so that either side arriving first
-- finds the other.
CREATE TABLE reuses (
    key         text        PRIMARY KEY,  -- source_id:remote_id
    source_id   text        NOT NULL,
    title       text        NOT NULL,
    type        text,
    url         text,
    remote_url  text,
    records     text[]      NOT NULL DEFAULT '{}',
    created     timestamptz,
    modified    timestamptz,
    seen_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reuses_by_record ON reuses USING gin (records);

ALTER TABLE datasets
    ADD COLUMN records text[] NOT NULL DEFAULT '{}',
    ADD COLUMN reuses  text[] NOT NULL DEFAULT '{}';
CREATE INDEX datasets_by_record ON datasets USING gin (records);
