-- Merges no longer move the absorbed dataset's keys (issue 34): a key keeps the dataset that
-- claimed it, and `merged_datasets` says where an absorbed dataset's records went. A lookup follows
-- one redirect: a merge points the datasets absorbed before into the absorbed one to its survivor.
-- So `dataset_keys` needs no index by dataset, whose entry cost ~3 µs on each of a dataset's ~3 keys
-- to serve merges, a few in a thousand datasets.
CREATE TABLE merged_datasets (
    absorbed    text PRIMARY KEY,
    survivor    text NOT NULL,
    merged_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX merged_datasets_by_survivor ON merged_datasets (survivor);
DROP INDEX IF EXISTS dataset_keys_by_dataset;
