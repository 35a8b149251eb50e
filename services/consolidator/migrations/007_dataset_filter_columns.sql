-- A canonical dataset is its state (json): the API returns it whole. Its columns are only what the
-- API filters and sorts on, now written from the consolidator's values rather than read out of the
-- state by PostgreSQL, which parsed each state a second time. The description, themes, tags,
-- resources, creation date and attribution were copies of the state that nothing read; the
-- resources' formats and schema names, which the API filters on, get columns of their own.
ALTER TABLE datasets
    ADD COLUMN formats text[] NOT NULL DEFAULT '{}',
    ADD COLUMN schemas text[] NOT NULL DEFAULT '{}';
UPDATE datasets SET
    formats = ARRAY(SELECT DISTINCT r ->> 'format' FROM jsonb_array_elements(resources) r
                    WHERE r ->> 'format' IS NOT NULL ORDER BY 1),
    schemas = ARRAY(SELECT DISTINCT r -> 'schema' ->> 'name' FROM jsonb_array_elements(resources) r
                    WHERE r -> 'schema' ->> 'name' IS NOT NULL ORDER BY 1)
WHERE resources <> '[]';
ALTER TABLE datasets
    DROP COLUMN description,
    DROP COLUMN themes,
    DROP COLUMN tags,
    DROP COLUMN resources,
    DROP COLUMN created,
    DROP COLUMN attribution;
