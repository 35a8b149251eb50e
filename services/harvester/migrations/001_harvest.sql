CREATE TABLE sources (
    id                  text        PRIMARY KEY,
    url                 text        NOT NULL UNIQUE,
    family              text        NOT NULL,
    name                text        NOT NULL,
    owner_organization  text,
    schedule            text        NOT NULL DEFAULT '@daily',
    enabled             boolean     NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE runs (
    run_id       text        PRIMARY KEY,
    source_id    text        NOT NULL REFERENCES sources (id),
    mode         text        NOT NULL,
    status       text        NOT NULL,  -- running, done, partial, failed
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    items_seen   integer     NOT NULL DEFAULT 0,
    errors       integer     NOT NULL DEFAULT 0,
    complete     boolean     NOT NULL DEFAULT false,
    message      text
);
CREATE INDEX runs_by_source ON runs (source_id, started_at DESC);

-- One row per item or page that failed, with the stage and a clear reason (udata's per-item errors).
CREATE TABLE item_errors (
    id         bigserial   PRIMARY KEY,
    run_id     text        NOT NULL REFERENCES runs (run_id),
    remote_id  text,
    stage      text        NOT NULL,  -- fetch, parse, map, publish
    reason     text        NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX item_errors_by_run ON item_errors (run_id);

CREATE TABLE watermarks (
    source_id   text        PRIMARY KEY REFERENCES sources (id),
    watermark   timestamptz NOT NULL
);
