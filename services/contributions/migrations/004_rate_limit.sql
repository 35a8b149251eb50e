-- The public proposals of each client in the rate limit's window, kept in PostgreSQL so that every
-- contributions instance counts the same proposals (a per-process count let each instance allow the
-- limit). Clients are known by a keyed hash of their address, never the address.
CREATE TABLE submissions (
    client_hash  text        NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX submissions_by_client ON submissions (client_hash, at);

-- The key of those hashes, drawn once: the same for every instance, never leaves the database.
CREATE TABLE secrets (
    name   text  PRIMARY KEY,
    value  text  NOT NULL
);
INSERT INTO secrets (name, value) VALUES ('client_hash_key', md5(random()::text || clock_timestamp()::text));
