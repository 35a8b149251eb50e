-- What other services may read of the harvest: these views, in `harvest_read`, never the tables
-- (docs/architecture.md, "Who reads what"): the api's platforms, sources and operations pages.
CREATE VIEW harvest_read.sources AS SELECT * FROM harvest.sources;
CREATE VIEW harvest_read.runs AS SELECT * FROM harvest.runs;
