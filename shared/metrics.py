"""Prometheus metrics shared by every service. Labels stay bounded: topics, groups, schemas, services."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter(
    "obs_events_consumed_total", "Events handled by a consumer group", ["topic", "consumer", "outcome"]
)
EVENTS_DUPLICATE = Counter(
    "obs_events_duplicate_total", "Redelivered events recognised by the inbox and skipped", ["consumer"]
)
EVENTS_PRODUCED = Counter("obs_events_produced_total", "Events published to Kafka", ["topic"])
EVENTS_RETRIED = Counter("obs_events_retried_total", "Handler attempts retried after an error", ["topic"])
EVENTS_DEAD_LETTERED = Counter(
    "obs_events_dead_lettered_total", "Messages sent to a dead-letter topic", ["topic", "error_type"]
)
OUTBOX_BACKLOG = Gauge("obs_outbox_backlog", "Events waiting in the outbox", ["schema"])
OUTBOX_REJECTED = Counter(
    "obs_outbox_rejected_total", "Outbox events Kafka will never accept, set aside in outbox_rejected", ["schema"]
)
INBOX_PRUNED = Counter("obs_inbox_pruned_total", "Inbox rows forgotten after the retention period", ["schema"])
HTTP_REQUEST_SECONDS = Histogram(
    "obs_http_request_duration_seconds", "HTTP request latency", ["service", "route", "method", "status"]
)
READY = Gauge("obs_service_ready", "1 while the service's Kafka and PostgreSQL answer", ["service"])
DB_POOL_SIZE = Gauge("obs_db_pool_connections", "Connections in the database pool", ["service", "state"])
# Per source: sources are few (one per portal, added by operators), so the label stays bounded.
HARVEST_RUNS = Counter("obs_harvest_runs_total", "Harvest runs finished", ["source", "family", "status"])
HARVEST_ITEMS = Counter("obs_harvest_items_total", "Datasets published by harvest runs", ["source", "family"])
HARVEST_ERRORS = Counter("obs_harvest_errors_total", "Item and page errors of harvest runs", ["source", "family"])
HARVEST_LAST_FINISHED = Gauge(
    "obs_harvest_last_finished_timestamp_seconds", "When the source's last run finished", ["source", "family"]
)
CONSUMER_LAG = Gauge("obs_consumer_lag", "Messages of the topic not yet committed by the group", ["group", "topic"])
# Each instance's share of its groups: how several instances of a service split the partitions.
CONSUMER_PARTITIONS = Gauge(
    "obs_consumer_partitions", "Partitions of the topic assigned to this instance in the group", ["group", "topic"]
)
INDICATORS_LATENCY = Histogram(
    "obs_indicators_latency_seconds",
    "From a registry change (its event's time) to the indicators recomputed for it",
    ["trigger"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
BATCH_SECONDS = Histogram(
    "obs_batch_duration_seconds",
    "Time to handle one batch of events in its transaction",
    ["consumer"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCH_SIZE = Histogram(
    "obs_batch_size", "Events per consumed batch", ["consumer"], buckets=(1, 5, 10, 50, 100, 250, 500, 1000)
)
