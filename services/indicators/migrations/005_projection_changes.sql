-- What each bump of the projection's version changed: the organisations whose facts or publication
-- summary moved (NULL: everything, as after `recompute`). Another instance that holds an older
-- version reloads those organisations only, not the whole registry at each of its peer's batches.
CREATE TABLE projection_changes (
    version           bigint      PRIMARY KEY,
    organization_ids  text[],
    at                timestamptz NOT NULL DEFAULT now()
);
