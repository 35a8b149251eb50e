-- A token may expire (`tokens create --expires-in-days N`); an expired or revoked one is refused.
ALTER TABLE tokens ADD COLUMN expires_at timestamptz;
