"""Watch the action topics as a downstream consumer would: counts, recent actions, latency.

`ActionWatch` reads every partition of `actions.interventions`,
`actions.offers` and `actions.reviews` from the beginning by assignment, in a
daemon thread: it joins no consumer group, so it never takes partitions from a
real consumer and starts reading at once (a group join can take seconds; on the
development broker, half the session timeout). Partitions are those the topics
have when it starts; a missing topic is reported under `errors`. It keeps what the
demo shows and the benchmark measures: actions by (kind, action), the latest few
actions, and for every action the wall-clock time it was read, handed to an
optional `on_action` callback with the decoded record. A message that is not an
action record is counted under `unreadable` rather than dropped silently.

Example (against a running cluster, so not a doctest):

    with ActionWatch(kafka_settings) as watch:
        time.sleep(5)
        print(watch.snapshot().by_kind)
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import confluent_kafka
import orjson

from pitboss.config.kafka import KafkaSettings
from pitboss.operators.contract import wall_clock_ms

RECENT = 8


@dataclass(frozen=True, slots=True)
class SeenAction:
    """One action as read back: when, who, what and why."""

    read_at_ms: int
    player_id: str
    kind: str
    action: str
    reasons: tuple[str, ...]
    trigger: str
    trigger_event_id: str


@dataclass(frozen=True, slots=True)
class WatchSnapshot:
    """What the watch has read so far."""

    actions: int
    by_kind: dict[tuple[str, str], int]
    recent: tuple[SeenAction, ...]
    unreadable: int
    errors: tuple[str, ...] = field(default=())


def read_action(value: bytes, read_at_ms: int) -> SeenAction | None:
    """Decode an action record's value, or None if it is not one.

    Example:
        >>> read_action(b'{"player_id":"p1","kind":"offer","action":"retention_offer",'
        ...             b'"reasons":["churn_score"],"trigger":"deposit","trigger_event_id":"e9"}',
        ...             5).trigger_event_id
        'e9'
        >>> read_action(b'not json', 5) is None
        True

    """
    try:
        record: Any = orjson.loads(value)
        return SeenAction(
            read_at_ms, str(record["player_id"]), str(record["kind"]), str(record["action"]),
            tuple(record.get("reasons", ())), str(record.get("trigger", "")),
            str(record.get("trigger_event_id", "")),
        )  # fmt: skip
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None


class ActionWatch:
    """Consume the action topics in a background thread until `close()`.

    Args:
        kafka: connection settings and topic names.
        on_action: called in the watch's thread with every action read.
        group_id: the client's group id (never joined, nothing committed); a fresh
            one per process by default.
        now_ms: the wall clock, read when each batch of messages arrives.

    """

    def __init__(
        self,
        kafka: KafkaSettings,
        on_action: Callable[[SeenAction], None] | None = None,
        group_id: str | None = None,
        now_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        config = kafka.consumer_config(group_id or f"pitboss-watch-{os.getpid()}-{time.time_ns()}")
        self._consumer = confluent_kafka.Consumer(config)
        self._topics = list(kafka.topics.actions)
        self._on_action = on_action
        self._now_ms = now_ms
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._by_kind: Counter[tuple[str, str]] = Counter()
        self._recent: deque[SeenAction] = deque(maxlen=RECENT)
        self._unreadable = 0
        self._errors: deque[str] = deque(maxlen=5)
        self._thread = threading.Thread(target=self._run, name="action-watch", daemon=True)

    def start(self, timeout_s: float = 10.0) -> None:
        """Assign every partition of the action topics from the beginning; read in the background.

        Args:
            timeout_s: how long to wait for the topics' metadata.

        """
        self._errors += assign_from_beginning(self._consumer, self._topics, timeout_s)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                messages = self._consumer.consume(500, timeout=0.1)
                if messages:
                    self._record(messages, self._now_ms())
        finally:
            self._consumer.close()

    def _record(self, messages: list[confluent_kafka.Message], read_at_ms: int) -> None:
        for message in messages:
            error = message.error()
            if error is not None:
                with self._lock:
                    self._errors.append(error.str())
                continue
            seen = read_action(message.value() or b"", read_at_ms)
            with self._lock:
                if seen is None:
                    self._unreadable += 1
                    continue
                self._by_kind[(seen.kind, seen.action)] += 1
                self._recent.append(seen)
            if self._on_action is not None:
                self._on_action(seen)

    def snapshot(self) -> WatchSnapshot:
        """Return a consistent copy of the counts so far."""
        with self._lock:
            return WatchSnapshot(
                actions=sum(self._by_kind.values()), by_kind=dict(self._by_kind),
                recent=tuple(self._recent), unreadable=self._unreadable,
                errors=tuple(self._errors),
            )  # fmt: skip

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop reading and close the consumer."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def __enter__(self) -> ActionWatch:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def assign_from_beginning(
    consumer: confluent_kafka.Consumer, topics: Iterable[str], timeout_s: float
) -> list[str]:
    """Assign every partition of `topics` to `consumer` from its first offset.

    Returns:
        One line per topic that is missing or has no partitions (the rest are assigned).

    """
    partitions, errors = [], []
    for topic in topics:
        about = consumer.list_topics(topic, timeout=timeout_s).topics[topic]
        if about.error is not None or not about.partitions:
            errors.append(f"topic {topic!r}: {about.error or 'no partitions'}")
        partitions += [confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                       for p in about.partitions]  # fmt: skip
    consumer.assign(partitions)
    return errors
