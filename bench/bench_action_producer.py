"""Throughput of ActionProducer against the development Kafka broker (Tansu, memory storage).

Sends `--messages` actions of `--value-bytes` bytes each, keyed by player, through
`ActionProducer` with the default `[kafka]` producer settings (idempotent,
`acks=all`, lz4, linger 5 ms), flushes, and prints messages per second for the
send phase, the flush, and the whole run (every delivery confirmed).

    .venv/bin/python bench/bench_action_producer.py --messages 200000

The broker runs in a child process on the same machine, so the figures bound
the client's cost rather than a real cluster's.
"""

from __future__ import annotations

import argparse
import time

from pitboss.config.kafka import KafkaSettings
from pitboss.replay.live.dev_broker import DevKafka
from pitboss.sinks.kafka_actions import ActionProducer


def run(messages: int, value_bytes: int, players: int) -> None:
    value = b"x" * value_bytes
    keys = [f"player-{n}".encode() for n in range(players)]
    headers = [("schema", b"1"), ("rule", b"loss_chasing")]
    with DevKafka() as kafka:
        producer = ActionProducer.from_settings(KafkaSettings(bootstrap_servers=kafka.bootstrap))
        producer.send("actions.interventions", b"warm-up", value, headers)
        producer.flush(30.0)
        start = time.perf_counter()
        for n in range(messages):
            producer.send("actions.interventions", keys[n % players], value, headers)
        sent = time.perf_counter()
        producer.flush(120.0)
        done = time.perf_counter()
    counters = producer.counters
    assert counters.delivered == messages + 1 and counters.failed == 0, counters
    print(f"messages={messages} value_bytes={value_bytes}")
    print(f"send phase:      {messages / (sent - start):>12,.0f} msg/s")
    print(f"flush:           {done - sent:>12.3f} s")
    print(f"end to end:      {messages / (done - start):>12,.0f} msg/s delivered")
    print(f"                 {messages * value_bytes / (done - start) / 1e6:>12.1f} MB/s of values")
    print(f"last latency:    {counters.last_latency_s or 0.0:>12.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--value-bytes", type=int, default=300)
    parser.add_argument("--players", type=int, default=10_000)
    args = parser.parse_args()
    run(args.messages, args.value_bytes, args.players)


if __name__ == "__main__":
    main()
