-- The organisations a contribution may target, projected from registry.organizations.
CREATE TABLE known_organizations (
    id          text        PRIMARY KEY,
    name        text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE proposals (
    id               uuid        PRIMARY KEY,
    organization_id  text        NOT NULL,
    field            text        NOT NULL,
    value            jsonb       NOT NULL,
    comment          text,
    status           text        NOT NULL DEFAULT 'pending',  -- pending, accepted, rejected
    submitted_at     timestamptz NOT NULL DEFAULT now(),
    decided_at       timestamptz,
    decided_by       text
);
