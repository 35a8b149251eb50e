-- The api shows operators (and only them) the raw messages of the operations page: it checks their
-- tokens, as the harvester does.
GRANT SELECT ON tokens TO obs_api;
