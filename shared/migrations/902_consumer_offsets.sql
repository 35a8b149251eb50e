-- Offsets of the batch consumers that recognise redeliveries by position rather than by event id:
-- each transaction stores, per partition, the offset after the last message it applied. A batch read
-- again after a crash or a rebalance finds its messages below it and changes nothing. It is one row
-- updated per partition and batch, where the inbox wrote a row (and an index entry) per event.
CREATE TABLE consumer_offsets (
    consumer     text    NOT NULL,  -- service.topic, as in the inbox
    partition    integer NOT NULL,
    next_offset  bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (consumer, partition)
);
