"""Producers of actions and dead letters that never lose a message silently.

A decision that does not reach its action topic is a player who is not protected,
so `ActionProducer` checks every delivery report. It wraps confluent_kafka's
`Producer` with an idempotent, `acks=all` configuration; the first failed delivery
(or fatal client error) is kept and raised as `ActionDeliveryError` from the next
`send`, `poll` or `flush`, so the worker stops with a clear message instead of
carrying on. `flush` also fails if anything is still undelivered at its deadline.
(Bytewax's own Kafka sink does not check delivery reports, so it must not carry
actions.) `DeadLetterProducer` sends rejected input to `events.rejected` through
the same producer. Neither class knows about Bytewax: the flow layer calls `send`
per item, `poll` regularly and `flush` before it commits input offsets.

Example (against a running cluster, see `pitboss.replay.live.dev_broker`):

    producer = ActionProducer.from_settings(KafkaSettings(bootstrap_servers=bootstrap))
    producer.send("actions.offers", b"p1", b'{"offer": "x"}', [("schema", b"1")])
    producer.flush(30.0)
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType

import confluent_kafka

from pitboss.config.kafka import KafkaSettings
from pitboss.operators.events import DeadLetter
from pitboss.sinks.kafka_logging import kafka_client_logger
from pitboss.sinks.tables import dead_letter_json

# How many failed deliveries are kept for the error message; the rest are only counted.
_KEPT_FAILURES = 10

# A flush waits in slices this long, so a stop request is noticed between them.
_FLUSH_SLICE_S = 0.5

_IDEMPOTENCE_VALUES = {"true", "True", "1", True}
_ACKS_VALUES = {"all", "-1", -1}


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """One message that Kafka did not accept: where it was going and why."""

    topic: str
    key: bytes
    error: str

    def __str__(self) -> str:
        return f"topic {self.topic!r}, key {self.key[:64]!r}: {self.error}"


class ActionDeliveryError(RuntimeError):
    """A message was not delivered, or not within the deadline; the worker must stop.

    Args:
        message: what happened, naming topic, key and error.
        failures: the failed deliveries known so far (at most the first ten).

    """

    def __init__(self, message: str, failures: Sequence[DeliveryFailure] = ()) -> None:
        super().__init__(message)
        self.failures = tuple(failures)


@dataclass(frozen=True, slots=True)
class DeliveryCounters:
    """A snapshot of a producer's deliveries, for metrics."""

    sent: int
    delivered: int
    failed: int
    last_latency_s: float | None

    @property
    def outstanding(self) -> int:
        """Messages handed to the client that have no delivery report yet."""
        return self.sent - self.delivered - self.failed


class DeliveryLedger:
    """What became of every message handed to the client: the delivery callbacks' state.

    Kept apart from `ActionProducer` so the client's callbacks do not hold the
    producer itself: dropping an `ActionProducer` frees its client at once.
    """

    def __init__(self) -> None:
        self.sent = 0
        self.delivered = 0
        self.failed = 0
        self.last_latency_s: float | None = None
        self.failures: list[DeliveryFailure] = []
        self.fatal: str | None = None
        self.last_client_error: str | None = None
        self.in_flight: Counter[str] = Counter()

    def on_send(self, topic: str) -> None:
        """Count a message the client accepted."""
        self.sent += 1
        self.in_flight[topic] += 1

    def on_delivery(
        self, err: confluent_kafka.KafkaError | None, msg: confluent_kafka.Message
    ) -> None:
        """Record one delivery report (librdkafka calls this from `poll`/`flush`)."""
        topic = msg.topic() or ""
        self.in_flight[topic] -= 1
        if self.in_flight[topic] <= 0:
            del self.in_flight[topic]
        if err is None:
            self.delivered += 1
            self.last_latency_s = msg.latency()
            return
        self.failed += 1
        if len(self.failures) < _KEPT_FAILURES:
            self.failures.append(DeliveryFailure(topic, msg.key() or b"", err.str()))

    def on_error(self, err: confluent_kafka.KafkaError) -> None:
        """Record a client-level error; only fatal ones fail the producer."""
        # Transient errors (brokers down) are retried by librdkafka until
        # message.timeout.ms; fatal ones end the idempotent producer for good.
        self.last_client_error = err.str()
        if err.fatal() and self.fatal is None:
            self.fatal = err.str()

    def raise_if_failed(self) -> None:
        """Raise `ActionDeliveryError` if any delivery failed or the client died.

        Raises:
            ActionDeliveryError: naming the first failed message's topic, key and error.

        """
        if self.failures:
            more = f" (and {self.failed - 1} more)" if self.failed > 1 else ""
            message = f"delivery failed: {self.failures[0]}{more}"
            raise ActionDeliveryError(message, self.failures)
        if self.fatal is not None:
            raise ActionDeliveryError(f"Kafka producer hit a fatal error: {self.fatal}")

    def client_error_note(self) -> str:
        """Return `; last client error: ...` for error messages, or nothing."""
        if self.last_client_error is None:
            return ""
        return f"; last client error: {self.last_client_error}"


class ActionProducer:
    """An idempotent, `acks=all` Kafka producer that checks every delivery.

    Args:
        config: confluent_kafka.Producer settings (librdkafka dotted keys), e.g.
            `KafkaSettings.producer_config()`. `enable.idempotence` and `acks`
            are forced on; a config that asks for weaker guarantees is refused.
            librdkafka's log lines go to `kafka_client_logger("producer")` unless
            the config names another `logger`.
        queue_full_timeout_s: how long `send` waits for room in the client's
            local queue before giving up with `ActionDeliveryError`.

    Raises:
        ValueError: the config weakens delivery guarantees or sets a callback.

    """

    def __init__(
        self,
        config: Mapping[str, str | int | float | bool],
        queue_full_timeout_s: float = 30.0,
    ) -> None:
        _check_guarantees(config)
        self.queue_full_timeout_s = queue_full_timeout_s
        self._ledger = DeliveryLedger()
        self._producer = confluent_kafka.Producer(
            {"logger": kafka_client_logger("producer"), **config, "enable.idempotence": "true",
             "acks": "all", "error_cb": self._ledger.on_error}
        )  # fmt: skip

    @classmethod
    def from_settings(
        cls, settings: KafkaSettings, queue_full_timeout_s: float = 30.0
    ) -> ActionProducer:
        """Build a producer from the `[kafka]` section of the configuration."""
        return cls(settings.producer_config(), queue_full_timeout_s=queue_full_timeout_s)

    def send(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        headers: Sequence[tuple[str, bytes]] = (),
        *,
        timestamp_ms: int = 0,
    ) -> None:
        """Hand one message to the client; delivery is checked later, never skipped.

        Args:
            topic: destination topic.
            key: message key: the player id, so one player's actions share a
                partition and stay in order. An empty key goes to a random partition.
            value: the encoded action.
            headers: Kafka headers, e.g. `[("schema", b"1")]`.
            timestamp_ms: the record's CreateTime in epoch milliseconds; 0 lets the
                client stamp it with the time of sending.

        Raises:
            ActionDeliveryError: an earlier message failed, this one was refused
                (e.g. too large), or the local queue stayed full past the timeout.

        """
        self._ledger.raise_if_failed()
        deadline = time.monotonic() + self.queue_full_timeout_s
        while not self._produce(topic, key, value, headers, timestamp_ms):
            if time.monotonic() >= deadline:
                raise ActionDeliveryError(
                    f"local queue full for {self.queue_full_timeout_s} s: cannot send to "
                    f"topic {topic!r}, key {key[:64]!r}{self._ledger.client_error_note()}"
                )
            # Back-pressure: serving delivery reports is what frees room in the queue.
            self._producer.poll(0.1)
            self._ledger.raise_if_failed()
        self._ledger.on_send(topic)
        self._producer.poll(0)

    def _produce(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        headers: Sequence[tuple[str, bytes]],
        timestamp_ms: int,
    ) -> bool:
        try:
            self._producer.produce(
                topic,
                value=value,
                key=key,
                headers=list(headers),
                on_delivery=self._ledger.on_delivery,
                timestamp=timestamp_ms,
            )
        except BufferError:
            return False
        except confluent_kafka.KafkaException as exc:
            raise ActionDeliveryError(
                f"Kafka refused a message for topic {topic!r}, key {key[:64]!r}: {exc}"
            ) from exc
        return True

    def poll(self, timeout_s: float = 0.0) -> int:
        """Serve delivery reports; call this regularly even when nothing is sent.

        Args:
            timeout_s: how long to wait for at least one report.

        Returns:
            The number of reports served.

        Raises:
            ActionDeliveryError: a delivery has failed.

        """
        served = self._producer.poll(timeout_s)
        self._ledger.raise_if_failed()
        return served

    def flush(
        self, timeout_s: float, stop: threading.Event | None = None, stop_timeout_s: float = 10.0
    ) -> None:
        """Wait until every message sent so far is delivered.

        Args:
            timeout_s: the most to wait.
            stop: a stop request: once it is set, wait at most `stop_timeout_s` more, so
                a worker asked to stop does not wait out `message.timeout.ms` for
                brokers that are gone.
            stop_timeout_s: see `stop`.

        Raises:
            ActionDeliveryError: a delivery failed, or messages are still
                undelivered when the time runs out.

        """
        started = time.monotonic()
        deadline, stopping = started + timeout_s, False
        while True:
            if stop is not None and stop.is_set() and not stopping:
                stopping, deadline = True, min(deadline, time.monotonic() + stop_timeout_s)
            remaining = deadline - time.monotonic()
            self._producer.flush(max(min(remaining, _FLUSH_SLICE_S), 0.0))
            self._ledger.raise_if_failed()
            if remaining <= _FLUSH_SLICE_S or not self._ledger.in_flight.total():
                break
        self._raise_if_undelivered(time.monotonic() - started, stopping)

    def _raise_if_undelivered(self, waited_s: float, stopping: bool) -> None:
        in_flight = self._ledger.in_flight
        if in_flight.total():
            waiting = ", ".join(f"{topic}: {n}" for topic, n in sorted(in_flight.items()))
            after = " after a stop request" if stopping else ""
            raise ActionDeliveryError(
                f"{in_flight.total()} message(s) not delivered within {waited_s:.1f} s{after} "
                f"({waiting}){self._ledger.client_error_note()}"
            )

    @property
    def counters(self) -> DeliveryCounters:
        """Sent, delivered and failed counts and the last delivery latency."""
        ledger = self._ledger
        return DeliveryCounters(ledger.sent, ledger.delivered, ledger.failed, ledger.last_latency_s)

    def __enter__(self) -> ActionProducer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # On a clean exit everything must be delivered; while another error is
        # propagating, flushing could only hide it.
        if exc_type is None:
            self.flush(self.queue_full_timeout_s)


def _check_guarantees(config: Mapping[str, str | int | float | bool]) -> None:
    if config.get("enable.idempotence", "true") not in _IDEMPOTENCE_VALUES:
        raise ValueError("ActionProducer needs enable.idempotence=true")
    for acks_key in ("acks", "request.required.acks"):
        if config.get(acks_key, "all") not in _ACKS_VALUES:
            raise ValueError(f"ActionProducer needs {acks_key}=all")
    callbacks = sorted({"error_cb", "on_delivery"} & set(config))
    if callbacks:
        raise ValueError(f"ActionProducer installs its own {callbacks}")


class DeadLetterProducer:
    """Send `DeadLetter` records as JSON to the dead-letter topic, keyed by player.

    Args:
        producer: the worker's `ActionProducer`, so dead letters get the same
            delivery checks and share its connections.
        topic: the dead-letter topic, normally `KafkaSettings.topics.rejected`.

    Example:
        >>> DeadLetterProducer.encode(DeadLetter(
        ...     reason="late", field="ts_ms", event_id="e1", player_id="p1",
        ...     source="bets", position=7, excerpt="{...}"))
        (b'p1', b'{"reason":"late","field":"ts_ms","event_id":"e1","player_id":"p1","source":"bets","position":7,"excerpt":"{...}","detail":""}', [('reason', b'late')])

    """  # noqa: E501

    def __init__(self, producer: ActionProducer, topic: str = "events.rejected") -> None:
        self.producer = producer
        self.topic = topic

    @staticmethod
    def encode(dead: DeadLetter) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        """Return key (player id, or empty), JSON value and headers of a dead letter.

        The value is `pitboss.sinks.tables.dead_letter_json`: the record a replay writes
        to `rejected.jsonl`.
        """
        key = (dead.player_id or "").encode()
        return key, dead_letter_json(dead), [("reason", dead.reason.encode())]

    def send(self, dead: DeadLetter) -> None:
        """Send one dead letter; failures surface like those of actions."""
        key, value, headers = self.encode(dead)
        self.producer.send(self.topic, key, value, headers)
