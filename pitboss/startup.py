"""Start-up checks of a live worker: Kafka's input topics and the ClickHouse server must answer.

Before `pitboss run` starts its dataflow it asks each dependency once a second
whether it answers, until all do or `worker.startup_timeout_s` passes: the Kafka
brokers for the metadata of every input topic (`KafkaTopicsProbe`, the same
per-topic request Bytewax's Kafka source makes, but with a timeout), and a
ClickHouse server for `SELECT 1` (`ClickHouseProbe`; embedded chDB needs no
check). Each request has a short timeout of its own and the pause between rounds
waits on the worker's stop event, so SIGTERM ends the wait within about a second.
A dependency still silent at the deadline raises `DependencyUnavailableError`,
whose message is the one line the worker logs before exiting with code 3; a
ClickHouse login that is refused is a configuration error, raised at once.

Example (needs the servers, so not a doctest):

    checks = StartupChecks([KafkaTopicsProbe(kafka.connection_config(), ["bets"])], 30.0)
    if not checks.wait(stop):
        ...  # stop requested while waiting
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import confluent_kafka
import structlog
from confluent_kafka.admin import AdminClient

from pitboss.sinks.clickhouse_client import ClickHouseUnavailableError, ping_server
from pitboss.sinks.kafka_logging import kafka_client_logger

log = structlog.get_logger(__name__)


class DependencyUnavailableError(RuntimeError):
    """A dependency did not answer before the start-up deadline (`pitboss run` exits 3)."""


class Probe(Protocol):
    """One dependency that start-up waits for."""

    @property
    def what(self) -> str:
        """What is checked, for log lines: e.g. `Kafka at b1:9092`."""
        ...

    def problem(self, timeout_s: float) -> str | None:
        """Ask the dependency once; return None if it answers, else what is wrong."""
        ...


class KafkaTopicsProbe:
    """Ask the brokers for the metadata of each input topic, as Bytewax's Kafka source will.

    One admin client serves every attempt, so a slow first connection (TLS, SASL)
    carries on between attempts. Topics already found are not asked for again.

    Args:
        config: librdkafka connection keys (`KafkaSettings.connection_config()`).
        topics: the input topics that must exist with at least one partition.

    """

    def __init__(self, config: Mapping[str, str], topics: Sequence[str]) -> None:
        self.bootstrap = config.get("bootstrap.servers", "")
        self.topics = list(dict.fromkeys(topics))
        self._found: set[str] = set()
        client_config: dict[str, Any] = {**config, "logger": kafka_client_logger("startup")}
        self._admin = AdminClient(client_config)

    @property
    def what(self) -> str:
        """The brokers asked."""
        return f"Kafka at {self.bootstrap}"

    def problem(self, timeout_s: float) -> str | None:
        """Return None once every topic has partitions, else the first thing missing."""
        try:
            for topic in self.topics:
                if topic not in self._found:
                    missing = self._topic_problem(topic, timeout_s)
                    if missing is not None:
                        return missing
                    self._found.add(topic)
            return None
        finally:
            self._admin.poll(0)  # serves the client's log lines

    def _topic_problem(self, topic: str, timeout_s: float) -> str | None:
        try:
            metadata = self._admin.list_topics(topic, timeout=timeout_s)
        except confluent_kafka.KafkaException as exc:
            error = exc.args[0] if exc.args else exc
            reason = error.str() if isinstance(error, confluent_kafka.KafkaError) else str(exc)
            return f"no metadata for topic {topic!r}: {reason}"
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            reason = found.error.str() if found is not None and found.error else "not listed"
            return f"topic {topic!r}: {reason}"
        if not found.partitions:
            return f"topic {topic!r} has no partitions"
        return None


class ClickHouseProbe:
    """Ask a ClickHouse server for `SELECT 1` (raises at once if it refuses the login).

    Args:
        dsn: the server DSN; its password never appears in a message.

    """

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    @property
    def what(self) -> str:
        """The server asked, without credentials."""
        parts = urlsplit(self.dsn)
        return f"ClickHouse at {parts.scheme}://{parts.hostname}:{parts.port or ''}"

    def problem(self, timeout_s: float) -> str | None:
        """Return None if the server answers, else why not.

        Raises:
            ClickHouseConfigError: the DSN is malformed or the login was refused.

        """
        try:
            ping_server(self.dsn, timeout_s)
        except ClickHouseUnavailableError as exc:
            return str(exc)
        return None


class StartupChecks:
    """Wait until every probe answers, a stop is requested, or the deadline passes.

    Args:
        probes: the dependencies, asked in this order each round; one that answered
            is not asked again.
        timeout_s: the start-up deadline (`worker.startup_timeout_s`).
        retry_s: the pause between rounds (waits on the stop event).
        attempt_timeout_s: the most one request may take; it bounds how long a stop
            request can wait while a request is under way.
        on_wait: called with a probe's `what` when start-up starts waiting for it.
        clock: monotonic seconds.

    """

    def __init__(
        self,
        probes: Sequence[Probe],
        timeout_s: float,
        retry_s: float = 1.0,
        attempt_timeout_s: float = 1.0,
        on_wait: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.probes = list(probes)
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.attempt_timeout_s = attempt_timeout_s
        self.on_wait = on_wait
        self.clock = clock

    def wait(self, stop: threading.Event) -> bool:
        """Return True when every dependency answers, False if `stop` was set first.

        Raises:
            DependencyUnavailableError: one still did not answer at the deadline; the
                message names it, the setting and its last problem.
            ClickHouseConfigError: the ClickHouse DSN is malformed or its login refused.

        """
        started = self.clock()
        deadline = started + self.timeout_s
        waiting: dict[str, str] = {}
        pending = list(self.probes)
        while pending and not stop.is_set():
            probe = pending[0]
            remaining = deadline - self.clock()
            problem = probe.problem(max(min(self.attempt_timeout_s, remaining), 0.1))
            if problem is None:
                pending.pop(0)
                if probe.what in waiting:
                    log.info("dependency answers", dependency=probe.what,
                             after_s=round(self.clock() - started, 1))  # fmt: skip
                continue
            if probe.what not in waiting:
                self._started_waiting(probe.what, problem)
            waiting[probe.what] = problem
            if self.clock() >= deadline:
                raise DependencyUnavailableError(
                    f"{probe.what} did not answer within {self.timeout_s:g} s "
                    f"(worker.startup_timeout_s): {problem}"
                )
            stop.wait(min(self.retry_s, max(deadline - self.clock(), 0.0)))
        return not stop.is_set()

    def _started_waiting(self, what: str, problem: str) -> None:
        log.info("waiting for dependency", dependency=what, problem=problem,
                 timeout_s=self.timeout_s)  # fmt: skip
        if self.on_wait is not None:
            self.on_wait(what)
