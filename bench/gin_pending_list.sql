-- Benchmark: GIN's pending list against one probe per record (migration 016 of the indicators).
-- A million rows of one or two record keys, as indicators.datasets holds them, with a GIN index;
-- 20,000 records looked up one probe each (the shape of repository.RECORDS_ASKED), on the merged
-- index, then after 25,000 rows updated with the pending list on (the default), then off.
--     psql -d <a scratch database> -f bench/gin_pending_list.sql
-- It creates and drops the table gin_pending_list in that database's default schema.
\timing off
DROP TABLE IF EXISTS gin_pending_list;
CREATE TABLE gin_pending_list (id text PRIMARY KEY, records text[] NOT NULL);
INSERT INTO gin_pending_list
SELECT 'ds' || i, ARRAY['src' || (i % 1000) || ':rec' || i]
       || CASE WHEN i % 5 = 0 THEN ARRAY['national:rec' || i] ELSE '{}' END
FROM generate_series(1, 1000000) i;
CREATE INDEX gin_pending_list_by_record ON gin_pending_list USING gin (records);
VACUUM ANALYZE gin_pending_list;
PREPARE probes AS
    SELECT count(*) FROM (
        SELECT DISTINCT ON (d.id) d.id
        FROM (SELECT DISTINCT 'src' || (i % 1000) || ':rec' || i FROM generate_series(1, 1000000, 50) i) AS r (record)
        JOIN gin_pending_list d ON d.records @> ARRAY[r.record] ORDER BY d.id) AS found;
\echo '20,000 probes, merged index:'
\timing on
EXECUTE probes;
\timing off
\echo '25,000 rows updated, pending list on (the default):'
\timing on
UPDATE gin_pending_list SET records = records || ARRAY['extra:' || id] WHERE substr(id, 3)::int % 40 = 0;
\timing off
\echo '20,000 probes through the pending list:'
\timing on
EXECUTE probes;
\timing off
VACUUM gin_pending_list;
ALTER INDEX gin_pending_list_by_record SET (fastupdate = off);
\echo '25,000 rows updated, pending list off (migration 016):'
\timing on
UPDATE gin_pending_list SET records = records || ARRAY['more:' || id] WHERE substr(id, 3)::int % 40 = 1;
\timing off
\echo '20,000 probes, pending list off:'
\timing on
EXECUTE probes;
\timing off
DROP TABLE gin_pending_list;
