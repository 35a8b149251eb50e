-- The tallies of each publication (its counters: days of modification, portals, themes, reuses,
-- audience...), a row per key, so that a batch writes the keys its datasets moved rather than the
-- whole summary. The datasets of no known organisation ('') are hundreds of thousands at a million
-- datasets, with thousands of reuses, days and portals: every batch rewrote their 556 kB summary
-- (21 s of PostgreSQL in the last step of bench.scale, issue 34). The summaries keep the counts
-- (format 5); those of an older format are tallied again from the datasets when a service loads them.
CREATE TABLE publication_tallies (
    organization_id  text   NOT NULL,
    tally            text   NOT NULL,  -- the Publication field: 'reuses', 'modified_days'...
    key              text   NOT NULL,
    count            bigint NOT NULL,
    PRIMARY KEY (organization_id, tally, key)
);
