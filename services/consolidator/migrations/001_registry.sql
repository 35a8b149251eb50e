CREATE TABLE organizations (
    id           text        PRIMARY KEY,           -- SIREN where known, else a COG-based id
    siren        text        UNIQUE,
    name         text        NOT NULL,
    type         text,
    insee_code   text,
    departement  text,
    region       text,
    population   integer,
    obligated    boolean,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Every other id or publisher string an organisation is known by (old ids stay resolvable).
CREATE TABLE aliases (
    alias            text PRIMARY KEY,
    organization_id  text NOT NULL REFERENCES organizations (id),
    kind             text NOT NULL  -- id, udata-org, publisher-name, ...
);

-- Publishers no organisation was found for: listed for contributors, never dropped.
CREATE TABLE unmatched_publishers (
    portal_url   text        NOT NULL,
    name         text        NOT NULL,
    remote_id    text        NOT NULL DEFAULT '',
    sightings    integer     NOT NULL DEFAULT 0,  -- events seen from this publisher
    first_seen   timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (portal_url, name, remote_id)
);

CREATE TABLE datasets (
    id               text        PRIMARY KEY,
    organization_id  text        REFERENCES organizations (id),
    title            text        NOT NULL,
    description      text,
    licence          text,
    themes           text[]      NOT NULL DEFAULT '{}',
    tags             text[]      NOT NULL DEFAULT '{}',
    resources        jsonb       NOT NULL DEFAULT '[]',
    created          timestamptz,
    modified         timestamptz,
    withdrawn        boolean     NOT NULL DEFAULT false,
    first_seen       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX datasets_by_organization ON datasets (organization_id);

-- One row per portal record of a canonical dataset, with what that portal said.
CREATE TABLE dataset_sources (
    source_id     text        NOT NULL,
    remote_id     text        NOT NULL,
    dataset_id    text        NOT NULL REFERENCES datasets (id),
    portal_kind   text        NOT NULL,
    portal_url    text        NOT NULL,
    remote_url    text,
    content_hash  text        NOT NULL,
    metadata      jsonb       NOT NULL,
    last_run_id   text,
    first_seen    timestamptz NOT NULL DEFAULT now(),
    last_seen     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, remote_id)
);
CREATE INDEX dataset_sources_by_dataset ON dataset_sources (dataset_id);
