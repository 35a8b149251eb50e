-- An event whose bulk is a document its transaction also stored (a canonical dataset's state) is
-- kept in the outbox as its bytes up to that document, and the document's id and hash: the relay
-- reads the document from the service's table (OutboxRelay's `documents`) and closes the event.
-- A dataset's state was written twice per change, the second time only to be deleted.
ALTER TABLE outbox ADD COLUMN document_id text, ADD COLUMN document_hash text;
