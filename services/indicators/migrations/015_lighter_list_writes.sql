-- Fewer writes per dataset for the datasets list (bench.scale, issue 34: the indicators' rate bent
-- between 500,000 and 1,000,000 datasets, their list's tables and indexes the largest writes):
-- - the titles' trigrams: every new title wrote about twenty GIN entries, for a search that only the
--   titles searched without a word of two letters (stop words, one letter) or among the withdrawn
--   datasets still read, and those walk the list's own indexes;
-- - the words by organisation: a search within one organisation walks that organisation's datasets
--   in the list's order (datasets_listed_by_organization) and finds each title's words by its id
--   (the primary key), as services/api/selections.py says;
-- - the words' foreign key to the datasets: a trigger, a lookup and a row lock per word, for rows
--   written by one function in the same transaction as their dataset, which is never deleted.
DROP INDEX datasets_title_search;
DROP VIEW indicators_read.dataset_words;
DROP INDEX dataset_words_by_organization;
ALTER TABLE dataset_words DROP COLUMN organization_id;
ALTER TABLE dataset_words DROP CONSTRAINT dataset_words_id_fkey;
CREATE VIEW indicators_read.dataset_words AS SELECT * FROM indicators.dataset_words;
