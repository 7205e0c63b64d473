"""librdkafka's lines reach structlog once per message, then as counts per interval."""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Iterator

import confluent_kafka
import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import LogCapture

from pitboss.sinks.kafka_logging import (
    KAFKA_LOGGER,
    RepeatSummarizingHandler,
    configure_kafka_logging,
    kafka_client_logger,
    shared_handler,
)

pytestmark = pytest.mark.timeout(60)

REFUSED = ("[thrd:127.0.0.1:1/bootstrap]: 127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 "
           "failed: Connection refused (after {ms}ms in state CONNECT)")  # fmt: skip


class Clock:
    """Seconds that a test moves forward by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def captured() -> Iterator[LogCapture]:
    """Capture structlog's events (structlog's own testing processor)."""
    capture = LogCapture()
    structlog.configure(processors=[capture])
    shared_handler().forget()  # lines seen by earlier tests in this process count as repeats
    yield capture
    structlog.reset_defaults()


def librdkafka_record(message: str, level: int = logging.ERROR, facility: str = "FAIL",
                      client: str = "rdkafka#consumer-1") -> logging.LogRecord:
    """Return a record shaped as confluent_kafka logs it: `log(level, "%s [%s] %s", ...)`."""
    return logging.LogRecord(f"{KAFKA_LOGGER}.consumer", level, __file__, 0, "%s [%s] %s",
                             (facility, client, message), None)  # fmt: skip


def test_a_repeated_message_is_logged_once_then_as_a_count_per_interval(
    captured: LogCapture,
) -> None:
    clock = Clock()
    handler = RepeatSummarizingHandler(interval_s=30.0, clock=clock)
    for second in range(60):  # an outage: 36 lines a second for a minute
        clock.now = float(second)
        for attempt in range(36):
            handler.emit(librdkafka_record(REFUSED.format(ms=attempt)))
    lines = captured.entries
    assert len(lines) == 2
    first, summary = lines
    assert first["event"] == "kafka client" and "repeated" not in first
    assert first["facility"] == "FAIL" and first["client"] == "rdkafka#consumer-1"
    assert first["message"] == REFUSED.format(ms=0) and first["log_level"] == "error"
    assert summary["repeated"] == 30 * 36 - 1  # everything of the first interval after the first


def test_flush_reports_what_repeated_since_the_last_line(captured: LogCapture) -> None:
    clock = Clock()
    handler = RepeatSummarizingHandler(interval_s=30.0, clock=clock)
    for _ in range(5):
        handler.emit(librdkafka_record(REFUSED.format(ms=0)))
    handler.flush()
    handler.flush()  # nothing new: nothing logged
    assert [e.get("repeated") for e in captured.entries] == [None, 4]
    assert captured.entries[1]["event"] == "repeated log line"


def test_distinct_messages_and_levels_are_each_logged(captured: LogCapture) -> None:
    handler = RepeatSummarizingHandler(interval_s=30.0, clock=Clock())
    handler.emit(librdkafka_record(REFUSED.format(ms=0)))
    handler.emit(librdkafka_record("1/1 brokers are down", facility="ERROR"))
    handler.emit(librdkafka_record(REFUSED.format(ms=0), level=logging.WARNING))
    assert len(captured.entries) == 3


@given(st.lists(st.tuples(st.integers(0, 2), st.floats(0, 5)), max_size=200))
def test_every_record_is_logged_or_counted(steps: list[tuple[int, float]]) -> None:
    """Nothing is lost: lines logged plus repeats reported equal the records emitted."""
    capture = LogCapture()
    structlog.configure(processors=[capture])
    try:
        clock = Clock()
        handler = RepeatSummarizingHandler(interval_s=3.0, clock=clock)
        for message, advance in steps:
            clock.now += advance
            handler.emit(librdkafka_record(f"message {'abc'[message]}"))
        handler.flush()
        plain = sum(1 for e in capture.entries if e["event"] == "kafka client")
        repeats = sum(e.get("repeated", 0) for e in capture.entries)
        assert plain + repeats == len(steps)
    finally:
        structlog.reset_defaults()


def test_other_libraries_records_keep_their_logger_name(captured: LogCapture) -> None:
    handler = RepeatSummarizingHandler(interval_s=30.0, clock=Clock())
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError:
        record = logging.LogRecord("clickhouse_connect.driver", logging.WARNING, __file__, 0,
                                   "Unexpected Http Driver Exception", None, sys.exc_info())
    handler.emit(record)
    (entry,) = captured.entries
    assert entry["event"] == "library log" and entry["logger"] == "clickhouse_connect.driver"
    assert entry["error"] == "ConnectionRefusedError: [Errno 111] Connection refused"


def closed_port() -> int:
    """Return a local TCP port that refuses connections (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_real_consumer_s_lines_go_through_the_logger(captured: LogCapture) -> None:
    """A consumer pointed at a closed port: its connection errors reach structlog, summarized."""
    configure_kafka_logging(logging.INFO, interval_s=3600.0)
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": f"127.0.0.1:{closed_port()}", "group.id": "g",
        "reconnect.backoff.ms": "10", "reconnect.backoff.max.ms": "20",
        "logger": kafka_client_logger("consumer"),
    })  # fmt: skip
    try:
        while not any(e.get("facility") == "FAIL" for e in captured.entries):
            consumer.poll(0.1)
        for _ in range(10):
            consumer.poll(0.1)
    finally:
        consumer.close()
    fails = [e for e in captured.entries if e.get("facility") == "FAIL"]
    assert len(fails) == 1, fails  # the reconnects of that second were counted, not printed
    assert "Connection refused" in fails[0]["message"]
