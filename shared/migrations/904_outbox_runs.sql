-- A transaction that emits events written around documents in numbers (a consolidation batch's
-- thousands of DatasetChanged) keeps them as one outbox row, a run: their keys, heads and documents'
-- ids and hashes as arrays, in order. A row per event was inserted, read, then deleted: about a
-- sixth of PostgreSQL's work per consolidated dataset (issue 34). An event alone keeps its row.
-- The ids still count events: a run takes the id of its first event, and its others are reserved
-- (shared.messaging.add_to_outbox), so the relay's backlog gauge reads events.
ALTER TABLE outbox
    ALTER COLUMN key DROP NOT NULL,
    ALTER COLUMN payload DROP NOT NULL,
    ADD COLUMN events integer NOT NULL DEFAULT 1,  -- how many: the relay reads a batch's worth of events
    ADD COLUMN keys text[],
    ADD COLUMN payloads bytea[],
    ADD COLUMN document_ids text[],
    ADD COLUMN document_hashes text[];

-- Events written around a document before this migration become runs of one.
UPDATE outbox
SET keys = ARRAY[key], payloads = ARRAY[payload], document_ids = ARRAY[document_id],
    document_hashes = ARRAY[document_hash], key = NULL, payload = NULL
WHERE document_id IS NOT NULL;

ALTER TABLE outbox
    DROP COLUMN document_id,
    DROP COLUMN document_hash,
    ADD CONSTRAINT outbox_an_event_or_a_run CHECK ((keys IS NULL) = (key IS NOT NULL AND payload IS NOT NULL));

-- An event of a run set aside is known by its run's id and its position in the run (0 for an event alone).
ALTER TABLE outbox_rejected ADD COLUMN position integer NOT NULL DEFAULT 0;
ALTER TABLE outbox_rejected DROP CONSTRAINT outbox_rejected_pkey, ADD PRIMARY KEY (id, position);
