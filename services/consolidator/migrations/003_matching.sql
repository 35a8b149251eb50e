-- Why a publisher stayed unmatched, and the organisations it could have been.
ALTER TABLE unmatched_publishers
    ADD COLUMN reason      text,
    ADD COLUMN candidates  jsonb NOT NULL DEFAULT '[]';
-- Unmatched publishers that later match are kept for history but no longer listed.
ALTER TABLE unmatched_publishers ADD COLUMN matched_to text;

-- The name as the matcher normalises it (no case, accents or punctuation), for searching.
ALTER TABLE organizations ADD COLUMN search_name text;
CREATE INDEX organizations_by_search_name ON organizations (search_name text_pattern_ops);
