"""`pitboss run` as operators meet it: start-up checks, stop signals, health endpoints, logs.

Every worker is a real subprocess; Kafka is either a development cluster or a port
that refuses connections, ClickHouse a DSN pointing at such a port or embedded chDB.
Waits are bounded by each test's timeout, never by a sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import confluent_kafka
import pytest

from pitboss.replay.live.dev_broker import DevKafka
from tests.flows.conftest import free_port

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

# Pitboss logs JSON lines. Not yet: the raw librdkafka lines of Bytewax's Kafka source
# (built in flows/live.py: `%4|1796234786.526|CONFWARN|...`) and the Rust panic report
# Bytewax prints when a step raises (`thread '<unnamed>' panicked at ...`).
JSON_LINE = "{"


class RunProcess:
    """One `pitboss run` subprocess whose JSON log lines the test reads as they come."""

    def __init__(self, tmp_path: Path, env: dict[str, str], *args: str) -> None:
        self.metrics_port = free_port()
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PITBOSS_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pitboss.cli", "run", "--data-dir", str(tmp_path / "data"),
             "--metrics-port", str(self.metrics_port), "--metrics-host", "127.0.0.1",
             "--epoch-interval-s", "0.5", *args],
            env={**clean, "PYTHONUNBUFFERED": "1", **env},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []

    @property
    def stderr(self) -> IO[str]:
        assert self.process.stderr is not None
        return self.process.stderr

    def read_until(self, found: Callable[[dict[str, object]], bool]) -> dict[str, object]:
        """Read log lines until one satisfies `found`; fail if the process ends first."""
        for line in self.stderr:
            self.lines.append(line)
            if not line.startswith(JSON_LINE):
                continue
            entry = json.loads(line)
            if found(entry):
                return entry
        raise AssertionError(f"exited {self.process.wait()} first:\n{''.join(self.lines)}")

    def finish(self, timeout_s: float = 60.0) -> tuple[int, list[dict[str, object]]]:
        """Wait for the exit; return its code and every log line, each checked to be JSON."""
        _, rest = self.process.communicate(timeout=timeout_s)
        self.lines += rest.splitlines(keepends=True)
        return self.process.returncode, [json.loads(line) for line in self.lines
                                         if line.startswith(JSON_LINE)]  # fmt: skip

    def get(self, path: str) -> tuple[int, bytes]:
        """GET a path of the metrics and health endpoints."""
        url = f"http://127.0.0.1:{self.metrics_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


@pytest.fixture
def start_run(tmp_path: Path) -> Iterator[Callable[..., RunProcess]]:
    """Start `pitboss run` processes; any still running at teardown is killed."""
    started: list[RunProcess] = []

    def start(env: dict[str, str], *args: str) -> RunProcess:
        run = RunProcess(tmp_path, env, *args)
        started.append(run)
        return run

    yield start
    for run in started:
        if run.process.poll() is None:
            run.process.kill()
        run.process.communicate()


def errors(lines: list[dict[str, object]]) -> list[dict[str, object]]:
    return [entry for entry in lines if entry["level"] == "error" and "facility" not in entry
            and entry["event"] != "repeated log line"]  # fmt: skip


def kafka_at(port: int) -> dict[str, str]:
    return {"PITBOSS_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}


def test_unreachable_kafka_exits_3_with_one_line_naming_it(
    start_run: Callable[..., RunProcess], closed_port: int
) -> None:
    run = start_run({**kafka_at(closed_port), "PITBOSS_WORKER__STARTUP_TIMEOUT_S": "2"})
    code, lines = run.finish()
    assert code == 3
    (error,) = errors(lines)
    assert error["event"] == "dependency unavailable"
    assert str(error["error"]).startswith(f"Kafka at 127.0.0.1:{closed_port} did not answer "
                                          "within 2 s (worker.startup_timeout_s)")  # fmt: skip
    kafka_lines = [entry for entry in lines if entry.get("facility") == "FAIL"]
    assert len(kafka_lines) <= 2, kafka_lines  # librdkafka's reconnect lines: once, not per try


def test_sigterm_while_waiting_for_kafka_exits_0_and_readyz_said_why(
    start_run: Callable[..., RunProcess], closed_port: int
) -> None:
    run = start_run({**kafka_at(closed_port), "PITBOSS_WORKER__STARTUP_TIMEOUT_S": "3600"})
    run.read_until(lambda entry: entry["event"] == "waiting for dependency")
    assert run.get("/healthz") == (200, b'{"alive":true}')
    status, body = run.get("/readyz")
    assert status == 503
    assert json.loads(body)["reason"] == f"starting: waiting for Kafka at 127.0.0.1:{closed_port}"
    assert run.get("/metrics")[0] == 200
    run.process.send_signal(signal.SIGTERM)
    code, lines = run.finish(timeout_s=30.0)
    assert code == 0, lines
    assert [entry["event"] for entry in lines if entry["event"].startswith("worker")] == [
        "worker stopped during start-up"]  # fmt: skip


def test_unreachable_clickhouse_exits_3_and_a_password_flag_is_warned_about_once(
    start_run: Callable[..., RunProcess], kafka: DevKafka, closed_port: int
) -> None:
    dsn = f"http://pitboss:s3cret@127.0.0.1:{closed_port}/pitboss"
    run = start_run({**kafka_at(int(kafka.bootstrap.rsplit(":", 1)[1])),
                     "PITBOSS_WORKER__STARTUP_TIMEOUT_S": "3"}, "--clickhouse", dsn)  # fmt: skip
    code, lines = run.finish()
    assert code == 3
    (error,) = errors(lines)
    assert str(error["error"]).startswith(f"ClickHouse at http://127.0.0.1:{closed_port} did not")
    warnings = [entry for entry in lines if "--clickhouse" in str(entry["event"])]
    assert len(warnings) == 1 and warnings[0]["level"] == "warning"
    assert not any("s3cret" in line for line in run.lines)


def test_the_dsn_from_the_environment_is_not_warned_about(
    start_run: Callable[..., RunProcess], kafka: DevKafka, closed_port: int
) -> None:
    env = {**kafka_at(int(kafka.bootstrap.rsplit(":", 1)[1])),
           "PITBOSS_WORKER__STARTUP_TIMEOUT_S": "1",
           "PITBOSS_CLICKHOUSE__DSN": f"http://pitboss:s3cret@127.0.0.1:{closed_port}/pitboss"}
    code, lines = start_run(env).finish()
    assert code == 3
    assert not any("--clickhouse" in str(entry["event"]) for entry in lines)


def test_a_running_worker_is_ready_then_stops_on_sigterm(
    start_run: Callable[..., RunProcess], kafka: DevKafka
) -> None:
    run = start_run(kafka_at(int(kafka.bootstrap.rsplit(":", 1)[1])))
    run.read_until(lambda entry: entry["event"] == "worker starting")
    status, body = run.get("/readyz")
    while status != 200:  # the dataflow is starting; the test's timeout bounds this
        assert run.process.poll() is None
        status, body = run.get("/readyz")
    assert json.loads(body)["stage"] == "running"
    assert run.get("/nope")[0] == 404
    run.process.send_signal(signal.SIGTERM)
    code, lines = run.finish(timeout_s=30.0)
    assert code == 0
    assert lines[-1]["event"] == "worker stopped" and lines[-1]["stop_requested"] is True


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_log_level_warning_silences_info_lines(
    start_run: Callable[..., RunProcess], closed_port: int, how: str
) -> None:
    env = {**kafka_at(closed_port), "PITBOSS_WORKER__STARTUP_TIMEOUT_S": "1"}
    args: tuple[str, ...] = ()
    if how == "flag":
        args = ("--log-level", "WARNING")
    else:
        env["PITBOSS_LOG_LEVEL"] = "warning"
    code, lines = start_run(env, *args).finish()
    assert code == 3
    assert lines and all(entry["level"] in {"warning", "error"} for entry in lines), lines


def test_a_metrics_port_in_use_is_a_configuration_error(
    start_run: Callable[..., RunProcess], closed_port: int
) -> None:
    first = start_run({**kafka_at(closed_port), "PITBOSS_WORKER__STARTUP_TIMEOUT_S": "3600"})
    first.read_until(lambda entry: entry["event"] == "waiting for dependency")
    second = start_run(kafka_at(closed_port), "--metrics-port", str(first.metrics_port))
    code, lines = second.finish()
    assert code == 2
    (error,) = errors(lines)
    assert "--metrics-port" in str(error["event"]) and error["port"] == first.metrics_port


def test_a_second_sigterm_aborts_a_stop_that_waits_for_kafka(
    start_run: Callable[..., RunProcess], tmp_path: Path
) -> None:
    """Kafka goes away with a dead letter unacknowledged: the stop waits; a second signal aborts."""
    with DevKafka(partitions=1) as doomed:
        producer = confluent_kafka.Producer({"bootstrap.servers": doomed.bootstrap})
        producer.produce("bets", b"not json", b"p1")
        assert producer.flush(30) == 0
        run = start_run({**kafka_at(int(doomed.bootstrap.rsplit(":", 1)[1])),
                         "PITBOSS_WORKER__STOP_TIMEOUT_S": "3600"})  # fmt: skip
        run.read_until(lambda entry: entry["event"] == "worker starting")
        while run.get("/metrics")[1].find(b"pitboss_events_in_total{") < 0:
            assert run.process.poll() is None  # reading; the test's timeout bounds this
        doomed.stop()
    run.process.send_signal(signal.SIGTERM)
    run.read_until(lambda entry: entry["event"] == "stop requested")
    run.process.send_signal(signal.SIGTERM)
    code, lines = run.finish(timeout_s=60.0)
    assert code == 130
    assert [e["event"] for e in errors(lines)] == ["aborted by a second stop signal; the last "
                                                   "epoch is redone on restart"]  # fmt: skip


def test_a_cluster_s_other_processes_see_the_facts_process_0_read(tmp_path: Path) -> None:
    """Process 0 alone opens an embedded store; the others read its copy at first use."""
    from pitboss.commands.run import _facts_of_process_0, _share_facts
    from pitboss.config.settings import Settings
    from pitboss.operators.policy.compliance_facts import (
        ComplianceChange,
        ComplianceFacts,
        DeferredFacts,
    )
    from pitboss.replay.runner import ClickHouseTarget

    target = ClickHouseTarget(None, tmp_path / "clickhouse", "pitboss")
    excluded = ComplianceChange("p1", "self_exclusion", 1.0, 2**62, 1_000, "event", "e1")
    read_by_0 = ComplianceFacts.from_changes([excluded])
    later = DeferredFacts(_facts_of_process_0(target, Settings()))
    _share_facts(read_by_0, target)  # before the cluster forms, so before any lookup
    assert later.for_player("p1") == read_by_0.for_player("p1")
    assert later.for_player("p1").excluded_at(2_000) and len(later) == 1


def test_a_process_given_a_data_dir_of_its_own_says_which_flag(tmp_path: Path) -> None:
    """Process 0 left its copy of the facts in another --data-dir: one line says so."""
    from pitboss.commands.run import ClusterStoreError, _facts_of_process_0
    from pitboss.config.settings import Settings
    from pitboss.operators.policy.compliance_facts import DeferredFacts
    from pitboss.replay.runner import ClickHouseTarget

    own = ClickHouseTarget(None, tmp_path / "process-1" / "clickhouse", "pitboss")
    facts = DeferredFacts(_facts_of_process_0(own, Settings()))
    with pytest.raises(ClusterStoreError, match="same --data-dir"):
        facts.for_player("p1")
