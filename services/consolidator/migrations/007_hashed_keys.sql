-- Identity keys are normalised URLs that share long prefixes (`id:data.gouv.fr/...`). Indexed by their
-- MD5 as a uuid, a key takes 16 bytes in the index and compares as such: a first consolidation inserts
-- about three keys per record, and these inserts and lookups were its costliest statements after the
-- datasets' upsert. The key itself is not kept: every lookup starts from a key the caller has.
ALTER TABLE dataset_keys ADD COLUMN key_hash uuid;
UPDATE dataset_keys SET key_hash = md5(key)::uuid;
ALTER TABLE dataset_keys DROP CONSTRAINT dataset_keys_pkey;
ALTER TABLE dataset_keys DROP COLUMN key;
ALTER TABLE dataset_keys ALTER COLUMN key_hash SET NOT NULL;
ALTER TABLE dataset_keys ADD PRIMARY KEY (key_hash);
