-- The référentiel: membership, single councils, merged communes, the obligation, and the full state.
ALTER TABLE organizations
    ADD COLUMN epci              text,
    ADD COLUMN ept               text,
    ADD COLUMN council_id        text,
    ADD COLUMN status            text  NOT NULL DEFAULT 'active',
    ADD COLUMN successor_id      text,
    ADD COLUMN obligation_method text,
    ADD COLUMN state             jsonb NOT NULL DEFAULT '{}';
CREATE INDEX organizations_by_type ON organizations (type);
CREATE INDEX organizations_by_departement ON organizations (departement);
CREATE INDEX organizations_by_region ON organizations (region);

-- Every state an organisation went through, with what caused the change.
CREATE TABLE organization_history (
    id               bigserial   PRIMARY KEY,
    organization_id  text        NOT NULL,
    state            jsonb       NOT NULL,
    cause            text        NOT NULL,
    changed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organization_history_by_organization ON organization_history (organization_id, id);

-- Organisations created before this migration get their state from their columns.
UPDATE organizations SET state = jsonb_strip_nulls(jsonb_build_object(
    'id', id, 'name', name, 'type', type, 'siren', siren, 'insee_code', insee_code,
    'departement', departement, 'region', region, 'population', population))
WHERE state = '{}'::jsonb;
