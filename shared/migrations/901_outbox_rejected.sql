-- Events Kafka will never accept (larger than the producer's request limit, such as a dataset with
-- thousands of files): the relay sets them aside here, with the error, rather than retry them for
-- ever and hold back every event after them. An operator reads them here (alert OutboxRejected).
CREATE TABLE outbox_rejected (
    id           bigint      PRIMARY KEY,  -- its id in the outbox
    topic        text        NOT NULL,
    key          text        NOT NULL,
    event_type   text        NOT NULL,
    payload      bytea       NOT NULL,
    error        text        NOT NULL,
    rejected_at  timestamptz NOT NULL DEFAULT now()
);
