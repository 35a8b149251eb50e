-- The indicators service keeps its own projection of the registry, fed by the compacted topics.
CREATE TABLE organizations (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    type         text,
    departement  text,
    region       text,
    population   integer,
    obligated    boolean
);

CREATE TABLE datasets (
    id               text    PRIMARY KEY,
    organization_id  text,
    withdrawn        boolean NOT NULL,
    licence          text,
    formats          text[]  NOT NULL DEFAULT '{}',
    modified         timestamptz
);
CREATE INDEX datasets_by_organization ON datasets (organization_id);

-- Latest values per scope (organization, departement, region, type, national).
CREATE TABLE current_values (
    scope        text        NOT NULL,
    scope_id     text        NOT NULL,
    "values"     jsonb       NOT NULL,
    computed_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, scope_id)
);
