-- A canonical dataset's title, licence, modification date, formats and schema names were copies of
-- its state kept as columns for the api's filters and sorts. Since the lists read the indicators'
-- read model (indicators.datasets, issue 31), nothing reads them here, and the consolidator wrote
-- them for every dataset (issue 34: in bench.consolidation the datasets' COPY was the second
-- largest of PostgreSQL's statements, after the portal records'). The api reads a dataset's state,
-- its organisation and whether it is withdrawn; the view shows the columns it keeps.
DROP VIEW registry_read.datasets;
ALTER TABLE datasets
    DROP COLUMN title,
    DROP COLUMN licence,
    DROP COLUMN modified,
    DROP COLUMN formats,
    DROP COLUMN schemas;
CREATE VIEW registry_read.datasets AS SELECT * FROM registry.datasets;
