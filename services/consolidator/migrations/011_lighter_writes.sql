-- Fewer writes per consolidated dataset (issue 34).
--
-- Foreign keys: the consolidator writes a dataset's records, the dataset and its organisation in one
-- transaction, under the dataset's lock, and never deletes any of them; the checks cost a trigger, an
-- index lookup and a row lock per record and per dataset (about 6 µs of PostgreSQL's ~140 µs a
-- dataset in bench.consolidation). tests/reliability/test_faults.py checks the same integrity after
-- killing services and the broker.
ALTER TABLE dataset_sources DROP CONSTRAINT IF EXISTS dataset_sources_dataset_id_fkey;
ALTER TABLE datasets DROP CONSTRAINT IF EXISTS datasets_organization_id_fkey;

-- The outbox no longer copies a dataset's state: a DatasetChanged row names the dataset and the
-- hash of its state, which the relay reads here, from the current state or, when the dataset
-- changed again meanwhile, from its past states.
ALTER TABLE dataset_past_states ADD COLUMN state_hash text;
