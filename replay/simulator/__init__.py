"""The player simulator: archetypes as data, events delivered as Kafka would carry them."""
