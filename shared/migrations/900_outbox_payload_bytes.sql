-- The outbox keeps each event as the bytes that go to Kafka: written once by the service, read back
-- by the relay without PostgreSQL parsing JSON on the way in and printing it on the way out.
-- Shared migrations are numbered from 900 so that they never take a service's own numbers.
ALTER TABLE outbox ALTER COLUMN payload TYPE bytea USING convert_to(payload::text, 'UTF8');
