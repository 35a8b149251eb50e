-- What other services may read of the registry: these views, in `registry_read`, and never the tables
-- (docs/architecture.md, "Who reads what"). The api and the publisher matcher read them; the readers'
-- roles have no right on the `registry` schema itself. A view keeps the columns it was created with:
-- a column added to a table reaches the readers when a migration here adds it to the view, and a
-- column a view shows cannot be dropped without this file's successor saying so.
CREATE VIEW registry_read.organizations AS SELECT * FROM registry.organizations;
CREATE VIEW registry_read.aliases AS SELECT * FROM registry.aliases;
CREATE VIEW registry_read.datasets AS SELECT * FROM registry.datasets;
CREATE VIEW registry_read.dataset_sources AS SELECT * FROM registry.dataset_sources;
CREATE VIEW registry_read.unmatched_publishers AS SELECT * FROM registry.unmatched_publishers;
