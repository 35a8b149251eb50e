-- What other services may read of the indicators: these views, in `indicators_read`, never the tables
-- (docs/architecture.md, "Who reads what"): the api's lists and cards (read models, current values,
-- snapshots and editions, reuses and audience, and the version of the projection its totals follow).
-- A view keeps the columns it was created with: a column added to a table reaches the readers when a
-- migration here adds it to the view.
CREATE VIEW indicators_read.organization_list AS SELECT * FROM indicators.organization_list;
CREATE VIEW indicators_read.datasets AS SELECT * FROM indicators.datasets;
CREATE VIEW indicators_read.dataset_words AS SELECT * FROM indicators.dataset_words;
CREATE VIEW indicators_read.current_values AS SELECT * FROM indicators.current_values;
CREATE VIEW indicators_read.snapshots AS SELECT * FROM indicators.snapshots;
CREATE VIEW indicators_read.editions AS SELECT * FROM indicators.editions;
CREATE VIEW indicators_read.reuses AS SELECT * FROM indicators.reuses;
CREATE VIEW indicators_read.audience AS SELECT * FROM indicators.audience;
CREATE VIEW indicators_read.projection_version AS SELECT * FROM indicators.projection_version;
