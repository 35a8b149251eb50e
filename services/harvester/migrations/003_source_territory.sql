-- The département of a portal's territory (a commune's or a département's own portal), which the
-- consolidator uses to tell homonym communes apart.
ALTER TABLE sources ADD COLUMN departement text;
