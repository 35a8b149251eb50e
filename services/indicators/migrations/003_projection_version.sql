-- Bumped by every transaction that changes the projection: an instance whose in-memory copy has another
-- version reloads it (another instance, or the recompute command, changed it).
CREATE TABLE projection_version (
    id       integer PRIMARY KEY CHECK (id = 1),
    version  bigint  NOT NULL
);
INSERT INTO projection_version VALUES (1, 0);
