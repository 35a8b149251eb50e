-- The words of the listed datasets' titles, for the datasets list's text search (`q`): one row per
-- word of a live dataset's title (shared.matching.normalise: lower case, no accents), with the
-- dataset's title, id and the columns the list filters on. A search for "parking" is a walk down
-- (word, title, id) from "parking" to "parkinh": the matching titles come in the list's order, read
-- from the index alone. A substring search over the titles (trigrams) cost a scan of every title
-- before the matching ones in the list's order (180 ms for "parking" among 218,000 titles: bench/README.md).
-- Written by the indicators service with the datasets (repository.index_title_words); filled for
-- datasets projected before this by `python -m services.indicators recompute`.
CREATE TABLE dataset_words (
    id text NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    word text COLLATE "C" NOT NULL,  -- ranges of words by code point, whatever the database's collation
    title text NOT NULL,
    organization_id text,
    licence text,
    modified timestamptz,
    formats text[] NOT NULL,
    schemas text[] NOT NULL,
    PRIMARY KEY (id, word)
);
CREATE INDEX dataset_words_listed ON dataset_words (word, title, id) INCLUDE (licence, modified, formats, schemas);
CREATE INDEX dataset_words_by_organization ON dataset_words (organization_id, word, title, id);
