-- A run's arrays (a consolidation batch's 2,000 keys, event heads, document ids and hashes: about
-- 700 kB) are compressed when stored out of line. With pglz, the default, that compression was most
-- of the cost of writing the outbox: 582 ms against 293 ms with lz4 for a benchmark's 26 runs of
-- 47,000 events, 6 µs a consolidated dataset (issue 34). lz4 needs PostgreSQL 14 or later built with
-- it, as Debian's packages and the official images are.
ALTER TABLE outbox
    ALTER COLUMN payload SET COMPRESSION lz4,
    ALTER COLUMN keys SET COMPRESSION lz4,
    ALTER COLUMN payloads SET COMPRESSION lz4,
    ALTER COLUMN document_ids SET COMPRESSION lz4,
    ALTER COLUMN document_hashes SET COMPRESSION lz4;
