-- The member communes an intercommunality's dataset names in its title (services/indicators/places.py).
ALTER TABLE datasets ADD COLUMN communes text[] NOT NULL DEFAULT '{}';
