"""`pitboss produce`: feed simulated players to the input topics as live events at a set rate.

A load generator for live workers, the demo and the latency benchmark (see
`replay.producer`): each message is re-stamped to the moment it is sent, carries
`produced_at_ms`, and goes to its event type's topic keyed by player. Every
delivery is checked; a failed one stops the command with exit code 1. It runs
for `--duration` seconds, or until SIGTERM or Ctrl-C, then flushes and prints
what it sent.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from pitboss.app import app


@app.command()
def produce(
    bootstrap: Annotated[str | None, typer.Option(
        help="Kafka bootstrap servers HOST:PORT (default: PITBOSS_KAFKA__BOOTSTRAP_SERVERS "
             "or the configuration).")] = None,
    players: Annotated[int, typer.Option(min=1, help="Simulated players.")] = 1000,
    rate: Annotated[float, typer.Option(min=0.001, help="Events per second.")] = 500.0,
    duration: Annotated[float | None, typer.Option(
        min=0, help="Seconds to run (default: until SIGTERM or Ctrl-C).")] = None,
    days: Annotated[int, typer.Option(
        min=1, help="Simulated days per cycle; the next cycle uses seed + 1.")] = 7,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 1,
) -> None:
    """Produce simulated events to the input topics at a steady rate, stamped with live times."""
    from config.settings import ConfigError, load_settings
    from replay.producer import (
        LiveProducer,
        LiveStamper,
        deadline,
        live_messages,
        topics_by_event_type,
    )
    from sinks.kafka_actions import ActionDeliveryError, ActionProducer

    console = Console(stderr=True)
    try:
        kafka = load_settings().kafka
    except ConfigError as exc:
        console.print(f"[red]configuration:[/red] {exc}")
        raise typer.Exit(2) from exc
    update = {"client_id": f"{kafka.client_id}-producer"}
    if bootstrap:
        update["bootstrap_servers"] = bootstrap
    try:
        kafka = kafka.model_validate({**kafka.model_dump(), **update})
    except ValidationError as exc:
        console.print(f"[red]--bootstrap:[/red] {exc.errors()[0]['msg']}")
        raise typer.Exit(2) from exc
    stop = threading.Event()
    _stop_on_signals(stop)
    stamper = LiveStamper(topics_by_event_type(kafka.topics))
    console.print(f"producing {rate:,.0f} events/s from {players:,} players to "
                  f"{kafka.bootstrap_servers}; stop with Ctrl-C")
    try:
        sink = ActionProducer.from_settings(kafka)
        producer = LiveProducer(sink, rate, stamper)
        past = deadline(time.monotonic, duration)
        stats = producer.run(live_messages(players, days, seed), lambda: stop.is_set() or past())
    except ActionDeliveryError as exc:
        console.print(f"[red]delivery failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    topics = ", ".join(f"{topic} {count:,}" for topic, count in sorted(stats.by_topic.items()))
    console.print(f"sent {stats.messages:,} messages in {stats.elapsed_s:.1f} s "
                  f"({stats.rate:,.0f}/s): {topics}")


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)
