"""Replay: recorded logs of the Kafka topics, and a simulator of players that writes them."""
