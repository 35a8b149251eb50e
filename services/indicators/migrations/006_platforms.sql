-- The portals records come from (ODF's platforms), by address: the family of software serving each and
-- whether it is the national portal. Filled as datasets arrive; the datasets already projected name
-- the platform of a single portal with its single family, which is enough to start from.
CREATE TABLE platforms (
    url         text    PRIMARY KEY,
    technology  text    NOT NULL,
    national    boolean NOT NULL DEFAULT false
);
INSERT INTO platforms (url, technology, national)
SELECT DISTINCT ON (portals[1]) portals[1], technologies[1], national
FROM datasets WHERE cardinality(portals) = 1 AND cardinality(technologies) = 1
ORDER BY portals[1];
