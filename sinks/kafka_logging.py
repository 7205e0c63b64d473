"""librdkafka's own log lines, in the structured log and without floods.

The Kafka clients (confluent_kafka consumers, producers and admin clients) log
through librdkafka, which writes raw lines to stderr unless the client's
configuration holds a `logger` (a `logging.Logger`). While a broker is down it
repeats the same line for every reconnect attempt, dozens a second.
`kafka_client_logger` returns the logger to put in that configuration: its records
go through one `RepeatSummarizingHandler`, which logs the first occurrence of each
message through structlog (as JSON with the worker's other lines) and then, at
most once per interval, how many times it repeated. Messages that differ only in
their numbers (timings, suppression counts) count as the same message. The same
handler on the root logger (`route_library_logs`) brings other libraries' standard
`logging` records (e.g. clickhouse-connect's warnings while a server is down) into
the structured log, summarized the same way.

librdkafka hands its lines to the logger from the client's `poll()`, `consume()` or
`flush()`, so a client that is never polled keeps them queued.

Example:
    >>> config = {"bootstrap.servers": "b1:9092", "logger": kafka_client_logger("producer")}
    >>> config["logger"].name  # confluent_kafka.Producer(config) logs through it
    'pitboss.kafka.producer'
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

# Parent of every Kafka client's logger: `configure_logging` sets its level.
KAFKA_LOGGER = "pitboss.kafka"
DEFAULT_INTERVAL_S = 30.0

_NUMBER = re.compile(r"\d+")
# librdkafka's own summary of a repeated error, appended under load: ", 3 identical error(s)
# suppressed". The line is the same error; without this it would be told as a new one.
_SUPPRESSED = re.compile(r", \d+ identical error\(s\) suppressed")
# Distinct messages remembered at most; beyond, those with nothing to report are forgotten.
_MAX_MESSAGES = 1024


@dataclass(slots=True)
class _Repeats:
    """What became of one message: when it was last reported, and repeats since."""

    reported_at: float
    suppressed: int = 0
    example: str = ""


class RepeatSummarizingHandler(logging.Handler):
    """Forward librdkafka records to structlog: each message once, then a count per interval.

    Args:
        interval_s: how long repeats of a message are only counted before the count
            is logged (with the next repeat, or on `flush`).
        clock: monotonic seconds; tests pass their own to move time forward.

    """

    def __init__(
        self, interval_s: float = DEFAULT_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self._seen: dict[tuple[int, str, str], _Repeats] = {}
        self._guard = threading.Lock()

    @property
    def _log(self) -> Any:
        # Looked up per line (lines are rare): a logger bound at construction would keep
        # the structlog configuration of that moment, and this handler outlives it.
        return structlog.get_logger(KAFKA_LOGGER)

    def forget(self) -> None:
        """Forget every message seen, and its repeats not yet reported (a fresh start)."""
        with self._guard:
            self._seen.clear()

    def emit(self, record: logging.LogRecord) -> None:
        """Log the record if its message is new or its interval is over; else count it."""
        event, fields = _parts(record)
        message = fields["message"]
        key = (record.levelno, fields.get("facility") or record.name, _message_shape(message))
        with self._guard:
            repeated = self._repeats_to_report(key, message, self.clock())
        if repeated is None:
            return
        self._log.log(
            record.levelno, event, **fields, **({"repeated": repeated} if repeated else {})
        )

    def _repeats_to_report(self, key: tuple[int, str, str], message: str, now: float) -> int | None:
        """Return the repeats to report with this record (0: none), or None to only count it."""
        seen = self._seen.get(key)
        if seen is None:
            if len(self._seen) >= _MAX_MESSAGES:
                self._forget_quiet()
            self._seen[key] = _Repeats(now)
            return 0
        if now - seen.reported_at < self.interval_s:
            seen.suppressed += 1
            seen.example = message
            return None
        repeated, seen.suppressed, seen.reported_at = seen.suppressed, 0, now
        return repeated

    def _forget_quiet(self) -> None:
        """Drop the messages with no repeats to report (bounds memory across many messages)."""
        self._seen = {key: seen for key, seen in self._seen.items() if seen.suppressed}

    def flush(self) -> None:
        """Log the count of every message repeated since it was last logged."""
        with self._guard:
            pending = [(key, seen) for key, seen in self._seen.items() if seen.suppressed]
            counts = [(key[0], key[1], seen.suppressed, seen.example) for key, seen in pending]
            now = self.clock()
            for _, seen in pending:
                seen.suppressed, seen.reported_at = 0, now
        for level, source, repeated, example in counts:
            self._log.log(level, "repeated log line", source=source, message=example,
                          repeated=repeated)  # fmt: skip


def _message_shape(message: str) -> str:
    """Return what stays the same when a client repeats a line: numbers and its own counts go.

    >>> _message_shape("refused (after 12ms in state CONNECT, 2 identical error(s) suppressed)")
    'refused (after Nms in state CONNECT)'
    """
    return _NUMBER.sub("N", _SUPPRESSED.sub("", message))


def _parts(record: logging.LogRecord) -> tuple[str, dict[str, str]]:
    """Return the structlog event and fields of a librdkafka record, or of any other record."""
    args = record.args
    if record.name.startswith(KAFKA_LOGGER) and isinstance(args, tuple) and len(args) == 3:
        facility, client, message = (str(a) for a in args)
        return "kafka client", {"facility": facility, "client": client, "message": message}
    fields = {"logger": record.name, "message": record.getMessage()}
    if record.exc_info and record.exc_info[1] is not None:
        fields["error"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
    return "library log", fields


_install_guard = threading.Lock()


def shared_handler() -> RepeatSummarizingHandler:
    """Return the handler on the `pitboss.kafka` logger, installing it on first use."""
    parent = logging.getLogger(KAFKA_LOGGER)
    with _install_guard:
        for handler in parent.handlers:
            if isinstance(handler, RepeatSummarizingHandler):
                return handler
        handler = RepeatSummarizingHandler()
        parent.addHandler(handler)
        parent.propagate = False
        if parent.level == logging.NOTSET:
            parent.setLevel(logging.INFO)
        return handler


def kafka_client_logger(client: str) -> logging.Logger:
    """Return the logger to set as `logger` in a confluent_kafka client's configuration.

    All clients share one `RepeatSummarizingHandler` (on the `pitboss.kafka` logger),
    so a broker outage seen by the consumer, the producer and the lag probe is one
    line per distinct message and then one count per interval.

    Args:
        client: what the client is for (`consumer`, `producer`, `startup`, ...):
            the logger is `pitboss.kafka.<client>`.

    Returns:
        A `logging.Logger` whose records reach structlog, at the level and repeat
        interval set by `configure_kafka_logging` (default: info, 30 s).

    Example:
        >>> kafka_client_logger("consumer").name
        'pitboss.kafka.consumer'

    """
    shared_handler()
    return logging.getLogger(KAFKA_LOGGER).getChild(client)


def configure_kafka_logging(level: int, interval_s: float = DEFAULT_INTERVAL_S) -> None:
    """Set the lowest level of Kafka client lines logged and their repeat interval."""
    shared_handler().interval_s = interval_s
    logging.getLogger(KAFKA_LOGGER).setLevel(level)


def route_library_logs(
    level: int = logging.WARNING, interval_s: float = DEFAULT_INTERVAL_S
) -> None:
    """Send other libraries' `logging` records at `level` and above to structlog, summarized.

    Replaces the root logger's handlers, so call it once, in a command's start-up.
    """
    root = logging.getLogger()
    root.handlers = [RepeatSummarizingHandler(interval_s)]
    root.setLevel(level)
