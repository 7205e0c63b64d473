"""`pitboss produce`: feed the input topics, from a recorded log or from simulated players.

With `--input FILE` (JSONL or Parquet, as `pitboss replay` reads them) it
publishes the log as recorded (see `pitboss.replay.live.log_producer`): each value byte for
byte, in file order, to its event type's topic, keyed by player, with the
event's own time as the Kafka timestamp; lines that are not JSON or have no
known event type go unchanged to the `bets` topic, for the worker to
dead-letter. It runs as fast as the broker takes messages, or at `--rate`
events per second, until the file ends.

Without `--input` it is a load generator for live workers, the demo and the
latency benchmark (see `pitboss.replay.live.producer`): simulated messages, each re-stamped
to the moment it is sent, carrying `produced_at_ms`, at `--rate` (default 500)
per second for `--duration` seconds, or until SIGTERM or Ctrl-C.

Either way every delivery is checked; a failed one stops the command with exit
code 1. At the end it flushes and prints how many messages went to each topic.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from pitboss import preflight
from pitboss.app import app
from pitboss.mistakes import InputError, fail

if TYPE_CHECKING:
    from pitboss.config.kafka import KafkaSettings

SIMULATED_RATE = 500.0


@app.command()
def produce(
    bootstrap: Annotated[str | None, typer.Option(
        help="Kafka bootstrap servers HOST:PORT (default: PITBOSS_KAFKA__BOOTSTRAP_SERVERS "
             "or the configuration).")] = None,
    input_log: Annotated[Path | None, typer.Option(
        "--input", "-i", help="Recorded log (.jsonl or .parquet) to publish as recorded, "
                              "instead of simulated players.")] = None,
    rate: Annotated[float | None, typer.Option(
        min=0.001, help="Events per second (default: as fast as possible with --input, "
                        f"{SIMULATED_RATE:.0f} simulated).")] = None,
    duration: Annotated[float | None, typer.Option(
        min=0, help="Seconds to run (default: to the end of --input, or until SIGTERM or "
                    "Ctrl-C).")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="TOML file overriding config/defaults.toml.")] = None,
    players: Annotated[int | None, typer.Option(
        min=1, help="Simulated players (default 1000; not with --input).")] = None,
    days: Annotated[int | None, typer.Option(
        min=1, help="Simulated days per cycle, the next cycle with seed + 1 (default 7; "
                    "not with --input).")] = None,
    seed: Annotated[int | None, typer.Option(
        help="Simulation seed (default 1; not with --input).")] = None,
) -> None:
    """Produce events to the input topics: a recorded log as it is, or simulated live events."""
    console = Console(stderr=True, soft_wrap=True)  # one message, one line
    if input_log is not None:
        given = [name for name, value in
                 (("--players", players), ("--days", days), ("--seed", seed)) if value is not None]
        if given:
            raise InputError(f"{', '.join(given)}: simulation options; they cannot be combined "
                             "with --input")
        preflight.recorded_logs([input_log])
    kafka = _kafka_settings(config, bootstrap)
    stop = threading.Event()
    _stop_on_signals(stop)
    if input_log is not None:
        _publish_log(console, kafka, input_log, rate, duration, stop)
    else:
        _simulate(console, kafka, rate or SIMULATED_RATE, duration, stop,
                  players or 1000, days or 7, 1 if seed is None else seed)


def _kafka_settings(config: Path | None, bootstrap: str | None) -> KafkaSettings:
    """Load `[kafka]` with a producer client id and `--bootstrap`; check a broker answers.

    Raises:
        ConfigError: the configuration is invalid (one line, exit 2).
        InputError: `--bootstrap` is malformed or no broker answers (one line, exit 2).

    """
    kafka = preflight.configuration(config).kafka
    update = {"client_id": f"{kafka.client_id}-producer"}
    if bootstrap:
        update["bootstrap_servers"] = bootstrap
    try:
        kafka = kafka.model_validate({**kafka.model_dump(), **update})
    except ValidationError as exc:
        raise InputError(f"--bootstrap {bootstrap!r}: {exc.errors()[0]['msg']}") from exc
    preflight.kafka_brokers(kafka, "--bootstrap" if bootstrap else "kafka.bootstrap_servers")
    return kafka


def _simulate(console: Console, kafka: KafkaSettings, rate: float, duration: float | None,
              stop: threading.Event, players: int, days: int, seed: int) -> None:
    from pitboss.replay.live.producer import (
        LiveProducer,
        LiveStamper,
        deadline,
        live_messages,
        topics_by_event_type,
    )
    from pitboss.sinks.kafka_actions import ActionDeliveryError, ActionProducer

    stamper = LiveStamper(topics_by_event_type(kafka.topics))
    console.print(f"producing {rate:,.0f} events/s from {players:,} players to "
                  f"{kafka.bootstrap_servers}; stop with Ctrl-C")
    try:
        sink = ActionProducer.from_settings(kafka)
        producer = LiveProducer(sink, rate, stamper)
        past = deadline(time.monotonic, duration)
        stats = producer.run(live_messages(players, days, seed), lambda: stop.is_set() or past())
    except ActionDeliveryError as exc:
        fail(f"delivery failed: {exc}")
    console.print(f"sent {stats.messages:,} messages in {stats.elapsed_s:.1f} s "
                  f"({stats.rate:,.0f}/s): {_per_topic(stats.by_topic)}")


def _publish_log(console: Console, kafka: KafkaSettings, path: Path, rate: float | None,
                 duration: float | None, stop: threading.Event) -> None:
    from pitboss.replay.live.log_producer import LogPublisher, RecordedRouter
    from pitboss.replay.live.producer import deadline, topics_by_event_type
    from pitboss.sinks.kafka_actions import ActionDeliveryError, ActionProducer

    values = _log_values(path)
    router = RecordedRouter(topics_by_event_type(kafka.topics))
    pace = "as fast as possible" if rate is None else f"at {rate:,.0f} events/s"
    console.print(f"publishing {path} to {kafka.bootstrap_servers} {pace}")
    past = deadline(time.monotonic, duration)
    publisher = LogPublisher(ActionProducer.from_settings(kafka), router, rate)
    try:
        stats = publisher.run(values, lambda: stop.is_set() or past(),
                              flush_timeout_s=kafka.message_timeout_ms / 1000 + 5.0)
    except ActionDeliveryError as exc:
        fail(f"delivery failed after {publisher.stats.messages:,} messages of {path}: {exc}")
    except _unreadable_errors() as exc:
        raise InputError(f"--input {path}: unreadable after {publisher.stats.messages:,} "
                         f"messages: {_reason(exc, path)}") from exc
    ended = "stopped early" if stop.is_set() or past() else "end of file"
    console.print(f"sent {stats.messages:,} messages ({ended}) in {stats.elapsed_s:.1f} s "
                  f"({stats.rate:,.0f}/s): {_per_topic(stats.by_topic)}; "
                  f"{stats.unroutable:,} without a known event type went to "
                  f"{router.unroutable_topic}")


def _log_values(path: Path) -> Iterator[bytes]:
    """Open `path` and read its first batch now, so a bad file is exit 2 before any send."""
    from pitboss.replay.log.recorded_log import read_log_batches

    batches = read_log_batches(path)
    try:
        first = next(batches, [])
    except _unreadable_errors() as exc:
        raise InputError(f"--input {path}: {_reason(exc, path)}") from exc
    return (value for batch in itertools.chain([first], batches) for _, value in batch)


def _reason(exc: Exception, path: Path) -> str:
    """Return the error's text without a leading copy of the file name."""
    return str(exc).removeprefix(f"{path}: ")


def _per_topic(by_topic: Counter[str]) -> str:
    return ", ".join(f"{topic} {count:,}" for topic, count in sorted(by_topic.items())) or "-"


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)


def _unreadable_errors() -> tuple[type[Exception], ...]:
    """Return what reading a recorded log raises for a file that is not one."""
    import pyarrow as pa

    return (ValueError, OSError, pa.ArrowException)
