-- Bearer tokens of moderators and operators, stored as SHA-256 hashes (never the token itself).
CREATE TABLE tokens (
    token_hash   text        PRIMARY KEY,
    role         text        NOT NULL CHECK (role IN ('moderator', 'operator')),
    name         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
-- The harvester checks operators' tokens for its sources API.
GRANT SELECT ON tokens TO obs_harvester;
