-- Titles are no longer indexed under their articles, prepositions and conjunctions
-- (shared.matching.STOP_WORDS): searches ignore them, and they were a fifth of the rows.
DELETE FROM indicators.dataset_words
WHERE word IN ('a', 'au', 'aux', 'd', 'de', 'des', 'du', 'en', 'et', 'l', 'la', 'le', 'les', 'ou', 'par', 'pour',
               'sur', 'un', 'une');
