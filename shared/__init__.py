"""Code every service of the Observatoire imports: settings, events, topics, Kafka, PostgreSQL, metrics, logs."""
