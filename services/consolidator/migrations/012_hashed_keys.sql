-- Lighter identity keys and portal records (issue 34).
--
-- A key is stored as the first 16 bytes of the SHA-256 of its text (repository.key_digest): its
-- index entries are 16 bytes against 60 to 200, and compared as bytes. In bench.consolidation a
-- dataset gives 2.9 keys, their COPY and lookups were the registry's largest cost after the records.
ALTER TABLE dataset_keys ALTER COLUMN key TYPE uuid
    USING encode(substring(sha256(convert_to(key, 'UTF8')) FROM 1 FOR 16), 'hex')::uuid;

-- A run's withdrawals read its source's records through the primary key (source_id, remote_id):
-- once per run, where this index cost an entry on every write of a record, and made every record
-- seen again (its seen_at updated) a new version in all three indexes. Without it, and with room
-- left on each page, a record seen again is updated in place (a HOT update).
DROP INDEX IF EXISTS dataset_sources_by_source;
ALTER TABLE dataset_sources SET (fillfactor = 85);
