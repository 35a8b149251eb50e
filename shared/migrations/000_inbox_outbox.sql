-- Applied in every service schema before the service's own migrations (search_path = that schema).

-- Inbox: the events a consumer has applied, written in the same transaction as their effects,
-- so a redelivered event is recognised and skipped.
CREATE TABLE inbox (
    consumer    text        NOT NULL,
    event_id    uuid        NOT NULL,
    handled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Outbox: the events a transaction emits; the relay publishes them in id order, then deletes them.
CREATE TABLE outbox (
    id          bigserial   PRIMARY KEY,
    topic       text        NOT NULL,
    key         text        NOT NULL,
    event_type  text        NOT NULL,
    payload     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
