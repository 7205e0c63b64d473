"""Fixtures and helpers for the live worker tests: Kafka, worker processes, reference runs.

Every worker runs as its own process (`python -m pitboss.cli run ...`) against a
Tansu broker in another process (`DevKafka`), with its own data and
recovery directories. chDB allows one data directory per process, so ClickHouse
tables of a worker or of the reference replay are read by a short-lived helper
process (`dump_tables`) once the writer has exited.

The reference is `pitboss replay` over the same log. The log ends with two
sentinel events far in event time (`SENTINEL_S1`, `SENTINEL_S2`): a live stream
never ends, so without them the last minutes of event time would wait in the
models step's merge for shards to move on, while a replay drains them at end of
input. The sentinels move every shard's clock past the real data, in both runs;
what is compared is everything about real players decided before `SENTINEL_S2`
(the sentinel player's own session times out at the second sentinel, which a replay
drains at end of input and a live worker keeps pending, as it should).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import confluent_kafka
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pitboss.operators.events import TOPICS
from pitboss.replay.live.dev_broker import DevKafka
from pitboss.replay.simulator.simulate import DEFAULT_START_MS, simulate

PLAYERS, DAYS, SEED = 150, 3, 7
HOUR_MS = 3_600_000
END_MS = DEFAULT_START_MS + DAYS * 86_400_000
SENTINEL_S1 = END_MS + 30 * 86_400_000 + 5 * 60_000
SENTINEL_S2 = SENTINEL_S1 + 2 * HOUR_MS
SENTINEL_PLAYER = "zz-sentinel"
ACTION_TOPICS = ("actions.interventions", "actions.offers", "actions.reviews")
# DevKafka pre-creates the configured topics with the partitions asked for; any other
# name would be auto-created with 4 partitions.
SINGLE_TOPIC = "bets"
WORKER_TIMEOUT_S = 45.0

def _ms_sql(ms: int) -> str:
    return f"fromUnixTimestamp64Milli(toInt64({ms}), 'UTC')"


# Rows compared between runs, (order, filter) per table: what was decided before the
# second sentinel, and metrics of the hours closed before the first (see module doc).
_REAL = f"player_id != '{SENTINEL_PLAYER}'"
TABLES: dict[str, tuple[str, str]] = {
    "player_features": ("player_id, as_of, trigger",
                        f"{_REAL} AND as_of < {_ms_sql(SENTINEL_S2)}"),
    "player_scores": ("player_id, scored_at, trigger, trigger_event_id",
                      f"{_REAL} AND scored_at < {_ms_sql(SENTINEL_S2)}"),
    "decisions": ("player_id, decided_at, decision_id, status",
                  f"{_REAL} AND decided_at < {_ms_sql(SENTINEL_S2)}"),
    "compliance_state": ("player_id, fact", f"{_REAL} AND at < {_ms_sql(SENTINEL_S2)}"),
    # Compared as a subset: see `METRICS_NOTE`.
    "model_metrics": ("model_kind, role, model_version, hour, metric", ""),
    # The source differs (file name vs topic/partition); offsets equal line numbers.
    "rejected_events": ("position, reason", ""),
}

METRICS_NOTE = """\
A replay's end of input closes the models' open hour (`ModelSet.close`), which emits
metric rows (some labelled with earlier hours); a live worker emits them only once
event time enters the next hour. So the live rows must all be among the replay's."""

_DUMP = r"""
import sys, orjson
from pathlib import Path
from pitboss.sinks.clickhouse_client import open_client
path, database, spec, exclude = (Path(sys.argv[1]), sys.argv[2], orjson.loads(sys.argv[3]),
                                 sys.argv[4])
client = open_client(None, path, database)
out = {}
for table, (order, where) in spec.items():
    columns = f"* EXCEPT ({exclude})" if table == "rejected_events" else "*"
    sql = f"SELECT {columns} FROM {database}.{table} FINAL"
    sql += f" WHERE {where}" if where else ""
    rows = client.query(sql + f" ORDER BY {order}").result_rows
    out[table] = [list(row) for row in rows]
sys.stdout.buffer.write(orjson.dumps(out, option=orjson.OPT_NON_STR_KEYS))
"""


def dump_tables(clickhouse_dir: Path, database: str = "pitboss",
                exclude: tuple[str, ...] = ("source",)) -> dict[str, list[Any]]:
    """Return the compared rows (FINAL) of every table in a chDB directory, via a subprocess.

    `exclude` names the columns of `rejected_events` left out: always its `source` (a
    file or a topic partition), and `position` too when the input was spread over
    partitions (offsets are then not line numbers); rows are then ordered by content.
    """
    spec = dict(TABLES)
    if "position" in exclude:
        spec["rejected_events"] = ("reason, event_id, excerpt", "")
    done = subprocess.run(
        [sys.executable, "-c", _DUMP, str(clickhouse_dir), database, orjson.dumps(spec),
         ", ".join(exclude)],
        capture_output=True, check=False, timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return orjson.loads(done.stdout)


def sentinel(index: int, ts_ms: int) -> bytes:
    """Return a session start of a player of its own, far after the data (moves all clocks)."""
    return orjson.dumps({
        "event_id": f"sentinel-{index}", "event_type": "session_start",
        "player_id": SENTINEL_PLAYER, "ts": ts_ms, "session_id": f"sentinel-s{index}",
    })


@pytest.fixture(scope="session")
def sim_messages() -> list[bytes]:
    """Return the simulated log (~16k messages, malformed, late and duplicate ones included)."""
    messages = list(simulate(PLAYERS, DAYS, SEED))
    return [*messages, sentinel(1, SENTINEL_S1), sentinel(2, SENTINEL_S2)]


@dataclass
class Reference:
    """What `pitboss replay` decides over the log: actions by id, and the compared rows."""

    actions: dict[str, bytes]
    tables: dict[str, list[Any]]


@pytest.fixture(scope="session")
def reference(sim_messages: list[bytes], tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """Replay the log in a subprocess (its own chDB) and keep its actions and rows."""
    return replay_reference(sim_messages, tmp_path_factory.mktemp("reference"))


def replay_reference(messages: list[bytes], base: Path, env: dict[str, str] | None = None,
                     exclude: tuple[str, ...] = ("source",)) -> Reference:
    """Replay `messages` as one log in a subprocess; keep its actions and compared rows.

    Args:
        messages: the log's lines.
        base: a fresh directory for the log and the run.
        env: `PITBOSS_...` settings for the replay (a live worker must get the same).
        exclude: columns of `rejected_events` left out of the comparison.

    """
    log = base / "log.jsonl"
    log.write_bytes(b"\n".join(messages) + b"\n")
    done = subprocess.run(
        [sys.executable, "-m", "pitboss.cli", "replay", "-i", str(log), "-o", str(base / "run")],
        capture_output=True, check=False, timeout=300, env={**_clean_env(), **(env or {})},
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    actions = {}
    for line in (base / "run" / "actions.jsonl").read_bytes().splitlines():
        actions[orjson.loads(line)["decision_id"]] = line
    assert actions, "the reference run decided nothing: the test would prove nothing"
    return Reference(actions, dump_tables(base / "run" / "clickhouse", exclude=exclude))


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PITBOSS_")}


def key_of(message: bytes) -> bytes:
    """Return the Kafka key of a message: its player id, or empty when it has none (malformed)."""
    try:
        value = orjson.loads(message)
    except orjson.JSONDecodeError:
        return b""
    player = value.get("player_id") if isinstance(value, dict) else None
    return player.encode() if isinstance(player, str) else b""


def topic_by_event_type(message: bytes) -> str:
    """Return the contract topic of a message's event type (`bets` when it has none)."""
    try:
        value = orjson.loads(message)
    except orjson.JSONDecodeError:
        return "bets"
    kind = value.get("event_type") if isinstance(value, dict) else None
    return TOPICS.get(kind, "bets") if isinstance(kind, str) else "bets"


def produce(bootstrap: str, messages: list[bytes], topic_of: Callable[[bytes], str]) -> None:
    """Produce messages keyed by player id, in order, and wait until all are delivered."""
    failures: list[str] = []

    def report(err: confluent_kafka.KafkaError | None, msg: confluent_kafka.Message) -> None:
        if err is not None:
            failures.append(err.str())

    producer = confluent_kafka.Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": "true", "linger.ms": "5"}
    )
    for message in messages:
        producer.produce(topic_of(message), message, key_of(message), on_delivery=report)
        producer.poll(0)
    assert producer.flush(30) == 0 and not failures, failures[:3]


def header(message: confluent_kafka.Message, name: str) -> str:
    """Return a message's header `name`, decoded."""
    value = dict(message.headers() or []).get(name)
    assert isinstance(value, bytes), f"no header {name!r}"
    return value.decode()


@dataclass
class ActionLog:
    """Every message read back from the action topics, in arrival order."""

    bootstrap: str
    records: list[confluent_kafka.Message] = field(default_factory=list)
    _consumer: confluent_kafka.Consumer | None = None

    def ids(self) -> set[str]:
        """Return the distinct decision ids read so far."""
        return {header(m, "decision_id") for m in self.records}

    def read_until(self, done: Callable[[ActionLog], bool], timeout_s: float,
                   alive: Callable[[], None] = lambda: None) -> None:
        """Read until `done(self)` holds; fail at the deadline (or if `alive` raises)."""
        if self._consumer is None:
            self._consumer = confluent_kafka.Consumer({
                "bootstrap.servers": self.bootstrap, "group.id": f"reader-{time.monotonic_ns()}",
                "enable.auto.commit": "false",
            })
            # Every partition from the beginning, by assignment: a consumer group's
            # join would first wait half the session timeout on the development broker.
            self._consumer.assign([
                confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                for topic in ACTION_TOPICS
                for p in self._consumer.list_topics(topic, timeout=10).topics[topic].partitions
            ])
        deadline = time.monotonic() + timeout_s
        while not done(self):
            assert time.monotonic() < deadline, f"gave up after {timeout_s} s: {self.ids()}"
            alive()
            for message in self._consumer.consume(500, 0.2):
                assert message.error() is None, message.error()
                self.records.append(message)

    def close(self) -> None:
        """Close the consumer."""
        if self._consumer is not None:
            self._consumer.close()


class Worker:
    """One `pitboss run` process with its own data directory; killed at teardown at the latest."""

    def __init__(self, bootstrap: str, data_dir: Path, env: dict[str, str],
                 args: list[str]) -> None:
        self.data_dir = data_dir
        self.metrics_port = free_port()
        self.log_path = data_dir.parent / f"{data_dir.name}-{time.monotonic_ns()}.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pitboss.cli", "run", "--data-dir", str(data_dir),
             "--epoch-interval-s", "0.5", "--metrics-port", str(self.metrics_port), *args],
            env={**_clean_env(), "PITBOSS_KAFKA__BOOTSTRAP_SERVERS": bootstrap, **env},
            stdout=self._log, stderr=subprocess.STDOUT,
        )

    def alive(self) -> None:
        """Fail with the worker's log if it has exited."""
        code = self.process.poll()
        assert code is None, f"worker exited with {code}:\n{self.log()}"

    def log(self) -> str:
        """Return the end of what the worker wrote so far."""
        return self.log_path.read_text(errors="replace")[-4000:]

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Scrape `/metrics`; empty while the endpoint is not up yet."""
        try:
            url = f"http://127.0.0.1:{self.metrics_port}/metrics"
            with urllib.request.urlopen(url, timeout=2) as reply:
                text = reply.read().decode()
        except OSError:
            return {}
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples
        }

    def position(self, topic: str, partition: int = 0) -> int:
        """Return the next offset the worker reads from a partition (0 before any)."""
        key = ("pitboss_consumer_position", (("partition", str(partition)), ("topic", topic)))
        return int(self.metrics().get(key, 0))

    def stop(self, timeout_s: float = 10.0) -> tuple[int, float]:
        """Send SIGTERM; return the exit code and how long the exit took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout_s)
        self._log.close()
        return code, time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self._log.close()


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def kafka() -> Iterator[DevKafka]:
    """Run a fresh development broker with one partition per configured topic."""
    with DevKafka(partitions=1) as cluster:
        yield cluster


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start worker processes; every one still running at teardown is killed."""
    started: list[Worker] = []

    def start(bootstrap: str, name: str = "worker", env: dict[str, str] | None = None,
              args: list[str] | None = None) -> Worker:
        worker = Worker(bootstrap, tmp_path / name, env or {}, args or [])
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


@pytest.fixture
def action_log(kafka: DevKafka) -> Iterator[ActionLog]:
    """Read the action topics of `kafka`."""
    log = ActionLog(kafka.bootstrap)
    yield log
    log.close()


SINGLE_TOPIC_ENV = {
    f"PITBOSS_KAFKA__TOPICS__{name.upper()}": SINGLE_TOPIC
    for name in ("deposits", "sessions", "outcomes")
}
"""Every event type on one topic: with one partition, live reads the log's exact order."""
