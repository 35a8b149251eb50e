-- A batch's dataset facts are upserted in one statement, as an array of this type, rather than one
-- statement per dataset (999,000 executions, 88 s of a scale run to a million datasets,
-- docs/performance.md). Its fields are DATASET_COLUMNS then the title, in services/indicators/
-- repository.py's order: a type of its own rather than the table's row type, whose order is that of
-- the migrations that added its columns.
CREATE TYPE dataset_facts AS (
    id               text,
    organization_id  text,
    withdrawn        boolean,
    licence          text,
    formats          text[],
    modified         timestamptz,
    themes           text[],
    schemas          text[],
    portals          text[],
    technologies     text[],
    national         boolean,
    local            boolean,
    records          text[],
    reuses           text[],
    audience         text[],
    communes         text[],
    title            text  -- NULL: the title stored is kept
);
