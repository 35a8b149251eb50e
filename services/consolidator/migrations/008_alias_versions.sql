-- The matchers' refresh (every few seconds in each consolidator and api instance) reads only what
-- changed since the previous one: aliases now say when they were last written, since the publishers
-- learned from portals grow with every portal harvested, and both tables are indexed by that time.
ALTER TABLE aliases ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX aliases_by_update ON aliases (updated_at);
CREATE INDEX organizations_by_update ON organizations (updated_at);
