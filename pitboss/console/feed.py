"""The live side of the console: reviews, finalised actions and verdicts read off Kafka.

The store lags the topics (a server store by the writer's batch), and a console on
the topics alone has nothing else, so the console also reads the topics directly:
`actions.reviews` (new cases), the other action topics (actions finalised by an
approved review carry its `review_decision_id`) and `outcomes` (`review_decision`
events from this console or any other tool, so a review answered elsewhere leaves the
queue at once). Like `pitboss.replay.live.action_watch.ActionWatch`, it assigns every
partition from the beginning in a daemon thread and joins no group. A message that is
not readable is counted, never silently dropped.

Memory is bounded (`FeedLimits`): what the feed reads is kept per case (a review, its
verdict and the actions finalised for it, forgotten together, so a forgotten verdict
never reopens its review) and per player (their latest action records, for the case
page). Each case and player carries the newest time it was touched; the oldest are
forgotten first, when there are more than the limit and whenever they are older than
`max_age_days` before the newest action read (a record already that old when read is
not kept). Time is the worker's event time (`decided_at`); a verdict's time (the
reviewer's wall clock) never moves the feed's clock, so a verdict read before its
review (topics are read side by side) is not the first case forgotten. Older cases are
in the store; a console on the topics alone shows only the kept ones.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import confluent_kafka
import orjson

from pitboss.config.kafka import KafkaSettings
from pitboss.console.oldest_first import OldestFirst
from pitboss.console.store import Review, review_from_record
from pitboss.operators.event_time import rfc3339_ms

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class FeedLimits:
    """How much of the topics the feed keeps in memory; the oldest is forgotten first.

    Attributes:
        cases: reviews kept, each with its verdict and finalised actions.
        players: players whose action records are kept for their case pages.
        actions_per_player: a player's latest action records kept.
        max_age_days: nothing older than this, in event time, before the newest action
            read (an unanswered review expires after `review_expiry_days`, 14 by default).

    """

    cases: int = 20_000
    players: int = 5_000
    actions_per_player: int = 50
    max_age_days: float = 30.0

    @property
    def max_age_ms(self) -> int:
        """`max_age_days` in milliseconds."""
        return int(self.max_age_days * DAY_MS)


@dataclass(frozen=True, slots=True)
class SeenVerdict:
    """A `review_decision` read off the outcomes topic."""

    decision_id: str
    verdict: str
    reviewer: str
    player_id: str


@dataclass(slots=True)
class _Case:
    """What the feed read about one review: the review, its verdict, finalised actions."""

    review: Review | None = None
    verdict: SeenVerdict | None = None
    finalised: list[dict[str, Any]] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.verdict is not None or bool(self.finalised)


class FeedMemory:
    """The cases and players' actions read so far, within `FeedLimits`; not thread-safe.

    Args:
        limits: how much to keep.
        reviews_topic: the topic of review cases.
        outcomes_topic: the topic of verdicts.

    Example:
        >>> memory = FeedMemory(FeedLimits(cases=1), "actions.reviews", "outcomes")
        >>> for n in (1, 2):
        ...     memory.read("actions.reviews", {"decision_id": f"d{n}", "player_id": "p",
        ...                 "decided_at": f"2026-01-0{n}T00:00:00Z"})
        >>> [r.decision_id for r in memory.open_reviews()]
        ['d2']

    """

    def __init__(self, limits: FeedLimits, reviews_topic: str, outcomes_topic: str) -> None:
        self.limits = limits
        self._reviews_topic = reviews_topic
        self._outcomes_topic = outcomes_topic
        self.cases = OldestFirst[_Case]()
        self.players = OldestFirst[deque[dict[str, Any]]]()
        self.newest_ms = 0
        self.forgotten_cases = 0

    def read(self, topic: str, record: dict[str, Any]) -> None:
        """Take one record read off `topic`, then forget what is beyond the limits.

        Raises:
            KeyError, TypeError, ValueError, AttributeError: the record is not readable.

        """
        if topic == self._outcomes_topic:
            self._verdict(record)
        else:
            self._action(topic, record)
        self._forget()

    def _case(self, decision_id: str, at_ms: int) -> _Case:
        case = self.cases.get(decision_id)
        if case is None:
            case = _Case()
            if at_ms >= self._horizon():  # else already past the age limit: not kept
                self.cases.put(decision_id, case, at_ms)
        else:
            self.cases.touch(decision_id, at_ms)
        return case

    def _verdict(self, record: dict[str, Any]) -> None:
        if record.get("event_type") != "review_decision":
            return
        seen = SeenVerdict(str(record["decision_id"]), str(record["verdict"]),
                           str(record.get("reviewer") or ""), str(record["player_id"]))
        # A verdict's time is the reviewer's wall clock: it never moves the feed's clock,
        # which is the worker's event time (a worker catching up decides in the past).
        case = self._case(seen.decision_id, max(_ms(record.get("ts")), self.newest_ms))
        if case.verdict is None:
            case.verdict = seen

    def _action(self, topic: str, record: dict[str, Any]) -> None:
        player = str(record["player_id"])
        at_ms = _ms(record.get("decided_at"))
        review = None
        if topic == self._reviews_topic:
            review = review_from_record(record, datetime.fromtimestamp(at_ms / 1000, UTC))
        self.newest_ms = max(self.newest_ms, at_ms)
        self._player_record(player, record, at_ms)
        if review is not None:
            case = self._case(review.decision_id, at_ms)
            if case.review is None:
                case.review = review
        elif record.get("review_decision_id"):
            self._case(str(record["review_decision_id"]), at_ms).finalised.append(record)

    def _player_record(self, player: str, record: dict[str, Any], at_ms: int) -> None:
        records = self.players.get(player)
        if records is None:
            if at_ms < self._horizon():
                return
            records = deque(maxlen=self.limits.actions_per_player)
            self.players.put(player, records, at_ms)
        else:
            self.players.touch(player, at_ms)
        records.append(record)

    def _horizon(self) -> int:
        return self.newest_ms - self.limits.max_age_ms

    def _forget(self) -> None:
        """Forget the oldest cases and players beyond the limits."""
        horizon = self._horizon()
        self.forgotten_cases += self.cases.forget(self.limits.cases, horizon)
        self.players.forget(self.limits.players, horizon)

    def open_reviews(self) -> list[Review]:
        """Return reviews with no verdict or finalised action seen, oldest first."""
        open_ = [c.review for c in self.cases.values() if c.review is not None and not c.answered]
        return sorted(open_, key=lambda r: (r.decided_at, r.decision_id))


class LiveFeed:
    """Consume action and outcome topics in the background until `close()`.

    Args:
        kafka: connection settings and topic names.
        limits: how much of what it reads the feed keeps in memory.

    """

    def __init__(self, kafka: KafkaSettings, limits: FeedLimits | None = None) -> None:
        group = f"pitboss-console-{os.getpid()}-{time.time_ns()}"
        self._consumer = confluent_kafka.Consumer(kafka.consumer_config(group))
        self._topics = [*kafka.topics.actions, kafka.topics.outcomes]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.memory = FeedMemory(limits or FeedLimits(), kafka.topics.reviews,
                                 kafka.topics.outcomes)  # fmt: skip
        self.unreadable = 0
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, name="console-feed", daemon=True)

    def start(self, timeout_s: float = 10.0) -> None:
        """Assign every partition of the topics from the beginning; read in the background."""
        from pitboss.replay.live.action_watch import assign_from_beginning

        self.errors += assign_from_beginning(self._consumer, self._topics, timeout_s)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for message in self._consumer.consume(500, timeout=0.2):
                    self._take(message)
        finally:
            self._consumer.close()

    def _take(self, message: confluent_kafka.Message) -> None:
        error = message.error()
        if error is not None:
            with self._lock:
                self.errors = [*self.errors[-4:], error.str()]
            return
        try:
            record = orjson.loads(message.value() or b"")
            with self._lock:
                self.memory.read(message.topic() or "", record)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            with self._lock:
                self.unreadable += 1

    def open_reviews(self) -> list[Review]:
        """Return reviews read off the topic with no verdict seen yet, oldest first."""
        with self._lock:
            return self.memory.open_reviews()

    def answered(self) -> set[str]:
        """Return the ids of reviews with a verdict or a finalised action seen."""
        with self._lock:
            cases = self.memory.cases
            return {k for k in cases if cases[k].answered}

    def counts(self) -> dict[str, int]:
        """Return review counts as the kept cases tell them: open, approved, denied, all."""
        with self._lock:
            cases = list(self.memory.cases.values())
        verdicts = [c.verdict.verdict for c in cases if c.verdict is not None]
        return {"open": sum(c.review is not None and not c.answered for c in cases),
                "approved": verdicts.count("approve"), "denied": verdicts.count("deny"),
                "all": sum(c.review is not None for c in cases)}  # fmt: skip

    def player_actions(self, player_id: str) -> list[dict[str, Any]]:
        """Return the player's latest action records read, in the order read."""
        with self._lock:
            records = self.memory.players.get(player_id)
            return list(records) if records is not None else []

    def verdict_for(self, decision_id: str) -> SeenVerdict | None:
        """Return the verdict seen on the outcomes topic for a review, if any."""
        with self._lock:
            case = self.memory.cases.get(decision_id)
            return case.verdict if case is not None else None

    def finalised_for(self, decision_id: str) -> list[dict[str, Any]]:
        """Return the actions the worker finalised for an approved review, as read."""
        with self._lock:
            case = self.memory.cases.get(decision_id)
            return list(case.finalised) if case is not None else []

    def review(self, decision_id: str) -> Review | None:
        """Return a review read off the topic by its decision id."""
        with self._lock:
            case = self.memory.cases.get(decision_id)
            return case.review if case is not None else None

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop reading and close the consumer."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def __enter__(self) -> LiveFeed:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.close()


def _ms(value: object) -> int:
    """Return an event time given as epoch ms or RFC 3339 text, in ms (0 when unreadable)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    return (rfc3339_ms(value) or 0) if isinstance(value, str) else 0
