"""`pitboss produce --input`: a recorded log published as recorded, every message accounted for."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import confluent_kafka
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pitboss.config.kafka import KafkaSettings
from pitboss.operators.contract import parse_timestamp
from pitboss.operators.events import TOPICS
from pitboss.replay.live.dev_broker import DevKafka, free_loopback_port
from pitboss.replay.live.log_producer import LogPublisher, RecordedRouter
from pitboss.replay.log.recorded_log import LogWriter
from tests.flows.conftest import key_of, topic_by_event_type

pytestmark = pytest.mark.timeout(120)

INPUTS = tuple(KafkaSettings().topics.inputs)
GARBAGE = [b"{not json", b"", b"[1, 2]", b'"a string"', b'{"event_type":["bet"]}',
           b'{"event_type":"jackpot","player_id":"p3","ts":1700000000000}']  # fmt: skip


def _event(n: int, event_type: str, ts: object) -> bytes:
    # Spaced as a hand-written log would be: the bytes must arrive exactly so.
    return orjson.dumps({"event_id": f"e{n}", "event_type": event_type,
                         "player_id": f"p{n % 5}", "ts": ts}).replace(b",", b", ")


def recorded_messages() -> list[bytes]:
    """Every event type, int and RFC 3339 times, no player, a future time, and garbage."""
    messages = []
    for n, event_type in enumerate(sorted(TOPICS) * 3):
        ts: object = 1_700_000_000_000 + n * 1000
        if n % 4 == 1:
            ts = "2023-11-14T22:13:20.123+00:00"
        messages.append(_event(n, event_type, ts))
        if n % 7 == 3:
            messages.append(b"{truncated %d" % n)
    messages += GARBAGE
    messages.append(b'{"event_id":"x1","event_type":"deposit","ts":1700000000000}')  # no player
    messages.append(_event(999, "bet", 4_000_000_000_000))  # year 2096: no CreateTime
    return messages


def _json(value: bytes) -> object:
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return None


@pytest.fixture
def kafka() -> Iterator[DevKafka]:
    with DevKafka(partitions=2) as cluster:
        yield cluster


def pitboss_produce(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pitboss.cli", "produce", *args],
                          capture_output=True, text=True, timeout=100,
                          env={**os.environ, **(env or {})})  # fmt: skip


def read_inputs(bootstrap: str, expected: int) -> list[confluent_kafka.Message]:
    """Read every input topic partition from the start until `expected` messages are in."""
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "check"})
    consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                     for topic in INPUTS for p in (0, 1)])  # fmt: skip
    got: list[confluent_kafka.Message] = []
    deadline = time.monotonic() + 30
    while len(got) < expected and time.monotonic() < deadline:
        for message in consumer.consume(1000, timeout=0.2):
            assert message.error() is None, message.error()
            got.append(message)
    consumer.close()
    return got


def write_log(path: Path, messages: list[bytes]) -> Path:
    with LogWriter(path, row_group_rows=7) as log:  # several Parquet row groups
        log.write_many(messages)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_a_recorded_log_is_published_as_recorded(
    kafka: DevKafka, tmp_path: Path, suffix: str
) -> None:
    messages = recorded_messages()
    log = write_log(tmp_path / f"recorded{suffix}", messages)
    started_ms = time.time_ns() // 1_000_000
    done = pitboss_produce("--input", str(log), "--bootstrap", kafka.bootstrap)
    finished_ms = time.time_ns() // 1_000_000
    assert done.returncode == 0, done.stderr

    got = read_inputs(kafka.bootstrap, len(messages))
    assert len(got) == len(messages)
    assert Counter((m.topic(), m.key() or b"", m.value()) for m in got) == Counter(
        (topic_by_event_type(v), key_of(v), v) for v in messages)
    counts = Counter(topic_by_event_type(v) for v in messages)
    for topic, count in counts.items():
        assert re.search(rf"\b{re.escape(topic)} {count:,}\b", done.stderr), done.stderr
    unroutable = sum(1 for v in messages if topic_by_event_type(v) == "bets"
                     and not v.startswith(b'{"event_id"'))  # fmt: skip
    assert f"{unroutable:,} without a known event type went to bets" in done.stderr

    # In file order within every partition, with the event's own time when it parses.
    position = {value: n for n, value in enumerate(messages)}
    assert len(position) == len(messages)  # every value tells its line
    by_partition: dict[tuple[str | None, int | None], list[int]] = {}
    for message in got:
        value = message.value() or b""
        by_partition.setdefault((message.topic(), message.partition()), []).append(position[value])
        kind, stamp = message.timestamp()
        assert kind == confluent_kafka.TIMESTAMP_CREATE_TIME
        ts = parse_timestamp(body.get("ts")) if isinstance(body := _json(value), dict) else None
        if ts is not None and ts < started_ms:
            assert stamp == ts
        else:  # garbage, or a future time: stamped by the client when sent
            assert started_ms <= stamp <= finished_ms
    for positions in by_partition.values():
        assert positions == sorted(positions)


def test_a_failed_delivery_exits_1_with_one_clear_line(kafka: DevKafka, tmp_path: Path) -> None:
    # The client refuses a message above its size limit: a delivery failure after 3 sent.
    oversized = _event(5, "bet", 1_700_000_000_000)[:-1] + b', "pad": "' + b"x" * 5000 + b'"}'
    log = write_log(tmp_path / "recorded.jsonl", [*recorded_messages()[:3], oversized])
    done = pitboss_produce("--input", str(log), "--bootstrap", kafka.bootstrap,
                           env={"PITBOSS_KAFKA__EXTRA": '{"message.max.bytes": "2000"}'})
    assert done.returncode == 1, done.stderr
    assert re.search(r"delivery failed after 3 messages of .*recorded\.jsonl: .*too large",
                     done.stderr), done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreachable_broker_is_exit_2_naming_the_flag(tmp_path: Path) -> None:
    log = write_log(tmp_path / "recorded.jsonl", recorded_messages()[:3])
    nobody = f"127.0.0.1:{free_loopback_port()}"
    done = pitboss_produce("--input", str(log), "--bootstrap", nobody)
    assert done.returncode == 2, done.stderr
    assert re.fullmatch(rf"error: --bootstrap {nobody}: no Kafka broker answered .*\n",
                        done.stderr), done.stderr


@pytest.mark.parametrize(
    ("name", "content", "extra", "says"),
    [
        ("missing.jsonl", None, [], r"--input .*missing\.jsonl: no such file"),
        ("log.csv", b"a,b\n", [], r"--input .*log\.csv: .*unknown recorded-log extension"),
        ("broken.parquet", b"not parquet", [], r"--input .*broken\.parquet: "),
        ("log.jsonl", b"{}\n", ["--players", "5"], r"--players: simulation options"),
    ],
)
def test_a_bad_input_is_exit_2_with_one_line(
    tmp_path: Path, name: str, content: bytes | None, extra: list[str], says: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    done = pitboss_produce("--input", str(path), "--bootstrap", "127.0.0.1:9", *extra)
    assert done.returncode == 2, done.stderr
    assert re.search(says, done.stderr.replace("\n", " ")), done.stderr
    assert "Traceback" not in done.stderr


class RecordingSink:
    """A `TimestampedSink` that keeps what it is given, for pacing without a broker."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes, int]] = []
        self.flushed = 0

    def send(self, topic: str, key: bytes, value: bytes, headers: object = (), *,
             timestamp_ms: int = 0) -> None:
        self.sent.append((topic, key, value, timestamp_ms))

    def flush(self, timeout_s: float) -> None:
        self.flushed += 1


class FakeClock:
    """Monotonic seconds that only `sleep` moves forward."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@given(rate=st.floats(min_value=1.0, max_value=20_000.0), count=st.integers(1, 2_000))
def test_rate_paces_without_reordering_or_losing(rate: float, count: int) -> None:
    clock, sink = FakeClock(), RecordingSink()
    values = [_event(n, "bet", 1_700_000_000_000 + n) for n in range(count)]
    router = RecordedRouter(TOPICS, now_ms=lambda: 2_000_000_000_000)
    publisher = LogPublisher(sink, router, rate, clock=clock, sleep=clock.sleep)
    stats = publisher.run(values)

    assert [value for _, _, value, _ in sink.sent] == values
    assert [ts for _, _, _, ts in sink.sent] == [1_700_000_000_000 + n for n in range(count)]
    assert stats.messages == count and stats.by_topic == Counter({"bets": count})
    assert sink.flushed == 1
    assert publisher.bucket is not None
    assert count <= publisher.bucket.burst + rate * clock.now + 1e-6  # never faster than rate


def test_without_a_rate_nothing_waits() -> None:
    clock, sink = FakeClock(), RecordingSink()
    publisher = LogPublisher(sink, RecordedRouter(TOPICS), None, clock=clock, sleep=clock.sleep)
    publisher.run([_event(n, "deposit", n + 1) for n in range(5000)])
    assert clock.now == 0.0 and len(sink.sent) == 5000
