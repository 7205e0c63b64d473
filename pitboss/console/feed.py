"""The live side of the console: reviews, finalised actions and verdicts read off Kafka.

A live worker's embedded store is locked by the worker (one chDB engine per data
directory), and a server store lags by the writer's batch, so the console also reads
the topics directly: `actions.reviews` (new cases), the other action topics (actions
finalised by an approved review carry its `review_decision_id`) and `outcomes`
(`review_decision` events from this console or any other tool, so a review answered
elsewhere leaves the queue at once). Like `pitboss.replay.live.action_watch.ActionWatch`, it
assigns every partition from the beginning in a daemon thread and joins no group.
A message that is not readable is counted, never silently dropped.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import confluent_kafka
import orjson

from pitboss.config.kafka import KafkaSettings
from pitboss.console.store import Review, review_from_record
from pitboss.operators.event_time import rfc3339_ms


@dataclass(frozen=True, slots=True)
class SeenVerdict:
    """A `review_decision` read off the outcomes topic."""

    decision_id: str
    verdict: str
    reviewer: str
    player_id: str


class LiveFeed:
    """Consume action and outcome topics in the background until `close()`.

    Args:
        kafka: connection settings and topic names.

    """

    def __init__(self, kafka: KafkaSettings) -> None:
        group = f"pitboss-console-{os.getpid()}-{time.time_ns()}"
        self._consumer = confluent_kafka.Consumer(kafka.consumer_config(group))
        self._review_topic = kafka.topics.reviews
        self._topics = [*kafka.topics.actions, kafka.topics.outcomes]
        self._outcomes = kafka.topics.outcomes
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.reviews: dict[str, Review] = {}
        self.verdicts: dict[str, SeenVerdict] = {}
        self.finalised: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.by_player: dict[str, list[dict[str, Any]]] = defaultdict(list)
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
                if message.topic() == self._outcomes:
                    self._verdict(record)
                else:
                    self._action(message.topic() or "", record)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            with self._lock:
                self.unreadable += 1

    def _verdict(self, record: dict[str, Any]) -> None:
        if record.get("event_type") != "review_decision":
            return
        seen = SeenVerdict(str(record["decision_id"]), str(record["verdict"]),
                           str(record.get("reviewer") or ""), str(record["player_id"]))
        self.verdicts.setdefault(seen.decision_id, seen)

    def _action(self, topic: str, record: dict[str, Any]) -> None:
        player = str(record["player_id"])
        self.by_player[player].append(record)
        if topic == self._review_topic:
            at_ms = rfc3339_ms(str(record["decided_at"])) or 0
            decided_at = datetime.fromtimestamp(at_ms / 1000, UTC)
            review = review_from_record(record, decided_at)
            self.reviews.setdefault(review.decision_id, review)
        elif record.get("review_decision_id"):
            self.finalised[str(record["review_decision_id"])].append(record)

    def open_reviews(self) -> list[Review]:
        """Return reviews read off the topic with no verdict seen yet, oldest first."""
        with self._lock:
            answered = set(self.verdicts) | set(self.finalised)
            open_ = [r for r in self.reviews.values() if r.decision_id not in answered]
        return sorted(open_, key=lambda r: (r.decided_at, r.decision_id))

    def answered(self) -> set[str]:
        """Return the ids of reviews with a verdict or a finalised action seen."""
        with self._lock:
            return set(self.verdicts) | set(self.finalised)

    def counts(self) -> dict[str, int]:
        """Return review counts as the topics tell them: open, approved, denied, all."""
        with self._lock:
            verdicts = list(self.verdicts.values())
            everything = len(self.reviews)
        approved = sum(v.verdict == "approve" for v in verdicts)
        denied = sum(v.verdict == "deny" for v in verdicts)
        return {"open": len(self.open_reviews()), "approved": approved, "denied": denied,
                "all": everything}

    def player_actions(self, player_id: str) -> list[dict[str, Any]]:
        """Return every action record read for the player, in the order read."""
        with self._lock:
            return list(self.by_player.get(player_id, ()))

    def verdict_for(self, decision_id: str) -> SeenVerdict | None:
        """Return the verdict seen on the outcomes topic for a review, if any."""
        with self._lock:
            return self.verdicts.get(decision_id)

    def finalised_for(self, decision_id: str) -> list[dict[str, Any]]:
        """Return the actions the worker finalised for an approved review, as read."""
        with self._lock:
            return list(self.finalised.get(decision_id, ()))

    def review(self, decision_id: str) -> Review | None:
        """Return a review read off the topic by its decision id."""
        with self._lock:
            return self.reviews.get(decision_id)

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
