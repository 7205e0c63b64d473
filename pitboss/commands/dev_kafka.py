"""`pitboss dev-kafka`: serve a development Kafka cluster until SIGTERM or Ctrl-C.

The first line on stdout is `bootstrap=HOST:PORT[,HOST:PORT...]`; point workers,
the demo or `kcat` at it. The topics of the configuration (`[kafka.topics]` of
config/defaults.toml, then `--config`, then `PITBOSS_KAFKA__TOPICS__...` variables,
as for `pitboss run`: inputs, actions and dead letters) are created up front with
`--partitions` partitions; any other topic is created on first use with 4.
Run it directly as `python -m pitboss.commands.dev_kafka dev-kafka`, which is how
`sinks.kafka_dev_cluster.DevKafka` starts it without importing every command.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from config.settings import ConfigError, load_settings
from pitboss.app import app
from sinks.kafka_dev_cluster import BOOTSTRAP_PREFIX, MockKafkaCluster


def _stop_on(stop: threading.Event, signals: tuple[signal.Signals, ...]) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in signals:
        signal.signal(signum, handler)


def _stop_when_stdin_closes(stop: threading.Event) -> None:
    def watch() -> None:
        # os.read, not sys.stdin: a daemon thread holding the buffered reader's lock
        # at interpreter shutdown makes Python abort.
        while os.read(sys.stdin.fileno(), 4096):
            pass
        stop.set()

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def configured_topics(config: Path | None) -> tuple[str, ...]:
    """Return every topic the configuration names, each once, in `KafkaTopics.all` order.

    Args:
        config: a TOML file overriding config/defaults.toml, or None for the defaults
            (`PITBOSS_KAFKA__TOPICS__...` environment variables apply either way).

    Raises:
        ConfigError: the configuration is invalid, naming the file and field.

    """
    # Several settings may name one topic (e.g. every event type on `bets`).
    return tuple(dict.fromkeys(load_settings(config).kafka.topics.all))


@app.command("dev-kafka")
def dev_kafka(
    brokers: Annotated[int, typer.Option(min=1, help="Number of mock brokers.")] = 1,
    partitions: Annotated[
        int, typer.Option(min=1, help="Partitions of each configured topic.")
    ] = 4,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML file overriding config/defaults.toml."),
    ] = None,
    bootstrap_file: Annotated[
        Path | None, typer.Option(help="Also write the bootstrap address to this file.")
    ] = None,
    until_stdin_closes: Annotated[
        bool,
        typer.Option(
            "--until-stdin-closes", help="Also stop when stdin reaches end of file (parent gone)."
        ),
    ] = False,
) -> None:
    """Serve librdkafka's mock Kafka cluster on loopback until SIGTERM or Ctrl-C."""
    stop = threading.Event()
    _stop_on(stop, (signal.SIGTERM, signal.SIGINT))
    try:
        topics = configured_topics(config)
    except ConfigError as exc:
        typer.echo(f"dev-kafka: configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc
    with MockKafkaCluster(brokers=brokers, topics=topics, partitions=partitions) as cluster:
        if bootstrap_file is not None:
            bootstrap_file.write_text(cluster.bootstrap + "\n")
        typer.echo(f"{BOOTSTRAP_PREFIX}{cluster.bootstrap}")
        sys.stdout.flush()
        typer.echo(
            f"dev-kafka: {brokers} broker(s), topics {', '.join(topics)} with "
            f"{partitions} partition(s); stop with SIGTERM or Ctrl-C",
            err=True,
        )
        if until_stdin_closes:
            _stop_when_stdin_closes(stop)
        stop.wait()
    typer.echo("dev-kafka: stopped", err=True)


if __name__ == "__main__":
    app(prog_name="pitboss")
