-- The organisations list as the api reads it (/api/v1/organizations, its exports, the map and the
-- statistics): one narrow row per active organisation, with the registry's columns the lists show,
-- filter and sort by, and the values they show beside them (datasets, publishes, technologies).
-- This service writes it in the transactions that change either (repository.list_organizations,
-- repository.list_values), so that a list reads one table through the indexes of its filters and
-- sorts rather than joining the registry to every organisation's jsonb values (bench/README.md).
-- `search_name` is the name as shared.matching.normalise writes it (lower case, no accents), which
-- the search box's text is compared with; `technologies` the portal families among its portals.
CREATE TABLE organization_list (
    id            text    PRIMARY KEY,
    siren         text,
    name          text    NOT NULL,
    search_name   text    NOT NULL,
    type          text,
    insee_code    text,
    departement   text,
    region        text,
    epci          text,
    population    integer,
    obligated     boolean,
    council_id    text,
    datasets      integer NOT NULL DEFAULT 0,
    publishes     boolean NOT NULL DEFAULT false,
    technologies  text[]  NOT NULL DEFAULT '{}'
);

-- Filled from the projection on an existing database: its SIREN where the id is one (the registry's
-- ids are SIRENs where known), the name in lower case until the organisation's next event writes
-- its INSEE code and its normalised name.
INSERT INTO organization_list (id, siren, name, search_name, type, departement, region, epci, population,
                               obligated, council_id, datasets, publishes, technologies)
SELECT o.id, CASE WHEN o.id ~ '^\d{9}$' THEN o.id END, o.name, lower(o.name), o.type, o.departement, o.region,
       o.epci, o.population, o.obligated, o.council_id, coalesce((v."values"->>'datasets')::int, 0),
       coalesce(v.publishes, false),
       ARRAY(SELECT substr(k, 12) FROM jsonb_object_keys(coalesce(v."values", '{}')) k
             WHERE k LIKE 'technology:%' ORDER BY 1)
FROM organizations o
LEFT JOIN current_values v ON v.scope = 'organization' AND v.scope_id = o.id
WHERE o.active;

-- The filters and sorts the api offers (bench/README.md measured each shape): a trigram index for
-- the searched text anywhere in a name, the codes a search may be, an ordered index per sort (the id
-- breaks ties, as the lists do), and the type, département and région filters each leading an index
-- in name order (the front end's default; the few hundred rows of a département or an EPCI type are
-- sorted in a fraction of a millisecond for the other orders, and the communes are most of the list).
CREATE INDEX organization_list_search ON organization_list USING gin (search_name public.gin_trgm_ops);
CREATE INDEX organization_list_by_name ON organization_list (name, id);
CREATE INDEX organization_list_by_population ON organization_list (population NULLS FIRST, id);
CREATE INDEX organization_list_by_population_desc ON organization_list (population DESC NULLS LAST, id);
CREATE INDEX organization_list_by_datasets ON organization_list (datasets, id);
CREATE INDEX organization_list_by_datasets_desc ON organization_list (datasets DESC, id);
CREATE INDEX organization_list_by_siren ON organization_list (siren);
CREATE INDEX organization_list_by_insee_code ON organization_list (insee_code);
CREATE INDEX organization_list_by_type ON organization_list (type, name, id);
CREATE INDEX organization_list_by_departement ON organization_list (departement, name, id);
CREATE INDEX organization_list_by_region ON organization_list (region, name, id);
