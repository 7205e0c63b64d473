"""Where results go: ClickHouse, Kafka action topics, run files."""
