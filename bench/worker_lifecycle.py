"""How fast `pitboss run` starts, gives up and stops: `python -m bench.worker_lifecycle`.

Runs real worker processes against a development Kafka cluster (`DevKafka`), a
port that refuses connections in place of Kafka or of a ClickHouse server, and
embedded chDB, and prints one row per scenario: the exit code, seconds from
start to exit (when the worker gives up by itself) or from SIGTERM to exit, and
seconds from start to the stage the signal was sent in. The figures in
docs/operations.md ("Start-up and shutdown") come from here.

Options: `--startup-timeout-s S` (default 30, the documented default),
`--ready-max-age-s S` (default 5: how soon a lost broker shows in `/readyz`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import confluent_kafka

from pitboss.replay.live.dev_broker import DevKafka

Row = dict[str, object]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Worker:
    """A `pitboss run` subprocess, its JSON log lines read as they come."""

    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.port = _free_port()
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PITBOSS_")}
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pitboss.cli", "run", "--data-dir", str(data_dir),
             "--metrics-host", "127.0.0.1", "--metrics-port", str(self.port),
             "--epoch-interval-s", "0.5"],
            env={**clean, "PYTHONUNBUFFERED": "1", **env},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def wait_for_log(self, event: str) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if line.startswith("{") and json.loads(line).get("event") == event:
                return
        raise RuntimeError(f"worker exited with {self.process.wait()} before {event!r}")

    def readyz(self) -> int:
        url = f"http://127.0.0.1:{self.port}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def wait_for_readyz(self, status: int, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.readyz() != status:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"/readyz never answered {status}")
            time.sleep(0.05)

    def wait_for_metric(self, prefix: str, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(line.startswith(prefix) for line in self._metrics().splitlines()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"/metrics never showed {prefix}")
            time.sleep(0.05)

    def _metrics(self) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                return str(r.read().decode())
        except OSError:
            return ""

    def exit(self, timeout_s: float = 120.0) -> tuple[int, float]:
        """Wait for the exit; return the code and seconds since start."""
        self.process.communicate(timeout=timeout_s)
        return self.process.returncode, time.monotonic() - self.started

    def sigterm(self, timeout_s: float = 120.0) -> tuple[int, float, float]:
        """Send SIGTERM; return the code, seconds to exit, and seconds from start to the signal."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code, _ = self.exit(timeout_s)
        return code, time.monotonic() - sent, sent - self.started


def _produce_one(bootstrap: str) -> None:
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    producer.produce("bets", b'{"event_type": "bet"}', b"p1")
    if producer.flush(30):
        raise RuntimeError("could not produce to the development cluster")


def _kafka_env(bootstrap: str, startup_timeout_s: float) -> dict[str, str]:
    return {"PITBOSS_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "PITBOSS_WORKER__STARTUP_TIMEOUT_S": str(startup_timeout_s)}  # fmt: skip


def _gives_up(name: str, env: dict[str, str], data_dir: Path) -> Row:
    code, seconds = _Worker(env, data_dir).exit()
    return {"scenario": name, "exit": code, "start_to_exit_s": round(seconds, 2)}


def _stopped(name: str, env: dict[str, str], data_dir: Path,
             reach_stage: Callable[[_Worker], None]) -> Row:  # fmt: skip
    worker = _Worker(env, data_dir)
    reach_stage(worker)
    code, seconds, stage_s = worker.sigterm()
    return {"scenario": name, "exit": code, "start_to_signal_s": round(stage_s, 2),
            "sigterm_to_exit_s": round(seconds, 2)}  # fmt: skip


def measure(startup_timeout_s: float = 30.0, ready_max_age_s: float = 5.0) -> list[Row]:
    """Run every scenario once; return one row each."""
    rows: list[Row] = []
    down = f"127.0.0.1:{_free_port()}"
    ch_down = f"http://pitboss:secret@127.0.0.1:{_free_port()}/pitboss"
    with tempfile.TemporaryDirectory() as tmp, DevKafka(partitions=1) as kafka:
        base = Path(tmp)
        kafka_down = _kafka_env(down, startup_timeout_s)
        ch_lost = {**_kafka_env(kafka.bootstrap, startup_timeout_s),
                   "PITBOSS_CLICKHOUSE__DSN": ch_down}  # fmt: skip
        rows.append(_gives_up("kafka down: gives up", kafka_down, base / "a"))
        rows.append(_gives_up("clickhouse down: gives up", ch_lost, base / "b"))
        waiting = lambda w: w.wait_for_log("waiting for dependency")  # noqa: E731
        rows.append(_stopped("kafka down: SIGTERM while waiting", kafka_down, base / "c", waiting))
        rows.append(_stopped("clickhouse down: SIGTERM while waiting", ch_lost, base / "d",
                             waiting))  # fmt: skip
        up = {**_kafka_env(kafka.bootstrap, startup_timeout_s),
              "PITBOSS_WORKER__READY_MAX_AGE_S": str(ready_max_age_s)}  # fmt: skip
        rows.append(_stopped("running, idle: SIGTERM", up, base / "e",
                             lambda w: w.wait_for_readyz(200)))  # fmt: skip
        _produce_one(kafka.bootstrap)
        worker = _Worker(up, base / "f")
        worker.wait_for_metric("pitboss_events_in_total{")  # consuming for sure
        worker.wait_for_readyz(200)
        lost_at = time.monotonic()
        kafka.stop()
        worker.wait_for_readyz(503)
        detected_s = time.monotonic() - lost_at
        code, seconds, stage_s = worker.sigterm()
        rows.append({"scenario": "running, kafka lost: SIGTERM", "exit": code,
                     "kafka_lost_to_unready_s": round(detected_s, 2),
                     "start_to_signal_s": round(stage_s, 2),
                     "sigterm_to_exit_s": round(seconds, 2)})  # fmt: skip
    return rows


def main() -> None:
    """Print the start-up and shutdown figures of each scenario."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--startup-timeout-s", type=float, default=30.0)
    parser.add_argument("--ready-max-age-s", type=float, default=5.0)
    args = parser.parse_args()
    for row in measure(args.startup_timeout_s, args.ready_max_age_s):
        print(row)


if __name__ == "__main__":
    main()
