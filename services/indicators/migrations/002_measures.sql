-- Every fact the indicators need (docs/indicators.md), each organisation's publication summary,
-- and the history: one snapshot per scope and day, one edition per scope and year.
ALTER TABLE organizations
    ADD COLUMN epci        text,
    ADD COLUMN council_id  text,
    ADD COLUMN active      boolean NOT NULL DEFAULT true;

ALTER TABLE datasets
    ADD COLUMN themes        text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN schemas       text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN portals       text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN technologies  text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN national      boolean NOT NULL DEFAULT false,
    ADD COLUMN local         boolean NOT NULL DEFAULT false;

-- What each organisation publishes, summarised from its datasets ('' for datasets of no known organisation).
CREATE TABLE publications (
    organization_id  text PRIMARY KEY,
    summary          jsonb NOT NULL
);

CREATE TABLE snapshots (
    day       date  NOT NULL,
    scope     text  NOT NULL,
    scope_id  text  NOT NULL,
    "values"  jsonb NOT NULL,
    PRIMARY KEY (scope, scope_id, day)
);

-- The Observatoire publishes each year around 8 October: the values of that day, kept as the edition.
CREATE TABLE editions (
    year      integer     NOT NULL,
    scope     text        NOT NULL,
    scope_id  text        NOT NULL,
    "values"  jsonb       NOT NULL,
    taken_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, scope_id, year)
);
