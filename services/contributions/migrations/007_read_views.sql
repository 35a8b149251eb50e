-- What other services may read of the contributions: the tokens, to check an operator's or a
-- moderator's (the harvester's operator API, the api's operations page), through this view in
-- `contributions_read` instead of the table (whose direct grants are taken back). The token's hash,
-- role, name and validity only: not who created it nor when.
CREATE VIEW contributions_read.tokens AS
    SELECT token_hash, role, name, expires_at, revoked_at FROM contributions.tokens;
REVOKE SELECT ON tokens FROM obs_api, obs_harvester;
