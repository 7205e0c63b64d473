"""The console's one write: a reviewer's verdict as a `review_decision` event on `outcomes`.

The event follows contract v1 (docs/event-contract.md): `decision_id`, `verdict`
(`approve` or `deny`) and `reviewer`, which is always the authenticated user (the
caller passes a `User`, never form text). The note goes along as an extra field,
which the contract ignores and the topic keeps. It is sent through the same
`ActionProducer` as the worker's actions and flushed before `decide` returns: a
failed or late delivery raises `ActionDeliveryError`, which the page shows; the
producer is then rebuilt, since a failed idempotent producer stays failed. Every
verdict, delivered or not, is appended to the audit file (JSON lines) and logged.

`ts` is the wall clock: the console is a producer, and the verdict happens when the
human decides (the worker never reads the clock; it orders the event by this time).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import orjson
import structlog

from pitboss.config.kafka import KafkaSettings
from pitboss.console.store import Review
from pitboss.console.users import User
from pitboss.operators.contract import wall_clock_ms
from pitboss.sinks.kafka_actions import ActionDeliveryError, ActionProducer

Verdict = Literal["approve", "deny"]
VERDICTS: tuple[Verdict, ...] = ("approve", "deny")
MAX_NOTE_CHARS = 2000
REMEMBERED = 1000
"""Verdicts a desk remembers having delivered (the latest), until the feed has read them."""

_log = structlog.get_logger("pitboss.console")


class VerdictRefused(ValueError):
    """The verdict cannot be sent: not a reviewer, no note, a bad verdict, read-only console."""


@dataclass(frozen=True, slots=True)
class SentVerdict:
    """A verdict delivered to the outcomes topic."""

    event_id: str
    decision_id: str
    verdict: Verdict
    reviewer: str
    ts_ms: int


def review_decision_event(review: Review, verdict: Verdict, reviewer: User, note: str,
                          event_id: str, ts_ms: int) -> dict[str, object]:
    """Return the `review_decision` event (contract v1) for a verdict on `review`.

    Example:
        >>> from datetime import UTC, datetime
        >>> r = Review("d1", "p1", "rg_review", "high", "UK", datetime.now(UTC), (), {}, "")
        >>> event = review_decision_event(r, "approve", User("rita", "reviewer"), "ok", "e1", 5)
        >>> event["reviewer"], event["verdict"], event["decision_id"]
        ('rita', 'approve', 'd1')

    """
    return {
        "event_id": event_id, "event_type": "review_decision", "player_id": review.player_id,
        "ts": ts_ms, "jurisdiction": review.jurisdiction, "decision_id": review.decision_id,
        "verdict": verdict, "reviewer": reviewer.name, "note": note,
    }  # fmt: skip


class VerdictDesk:
    """Send verdicts to the outcomes topic through a checked producer.

    Args:
        kafka: brokers and topic names (`topics.outcomes`).
        audit_path: JSON-lines file every verdict attempt is appended to.
        delivery_timeout_s: how long `decide` waits for the broker's acknowledgement.
        now_ms: the wall clock (injected for tests).

    """

    def __init__(self, kafka: KafkaSettings, audit_path: Path, delivery_timeout_s: float = 10.0,
                 now_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._kafka = kafka
        self._topic = kafka.topics.outcomes
        self._audit_path = audit_path
        self._timeout_s = delivery_timeout_s
        self._now_ms = now_ms
        self._lock = threading.Lock()
        self._producer: ActionProducer | None = None
        self._sent: OrderedDict[str, SentVerdict] = OrderedDict()

    def _client(self) -> ActionProducer:
        if self._producer is None:
            config = self._kafka.producer_config()
            config["message.timeout.ms"] = str(int(self._timeout_s * 1000))
            self._producer = ActionProducer(config, queue_full_timeout_s=self._timeout_s)
        return self._producer

    def decide(self, review: Review, verdict: str, reviewer: User, note: str) -> SentVerdict:
        """Send one verdict and wait for its delivery.

        Raises:
            VerdictRefused: the user may not decide, the verdict or note is not acceptable.
            ActionDeliveryError: the broker did not acknowledge the event in time.

        """
        checked = _check(verdict, reviewer, note)
        event_id = f"console-{uuid.uuid4().hex}"
        ts_ms = self._now_ms()
        event = review_decision_event(review, checked, reviewer, note.strip(), event_id, ts_ms)
        sent = SentVerdict(event_id, review.decision_id, checked, reviewer.name, ts_ms)
        with self._lock:
            try:
                producer = self._client()
                producer.send(self._topic, review.player_id.encode(), orjson.dumps(event))
                producer.flush(self._timeout_s)
            except ActionDeliveryError as exc:
                self._producer = None
                self._audit(event, f"failed: {exc}")
                raise
            self._audit(event, "delivered")
            self._sent[sent.decision_id] = sent
            while len(self._sent) > REMEMBERED:
                self._sent.popitem(last=False)
        return sent

    def sent_for(self, decision_id: str) -> SentVerdict | None:
        """Return the verdict this desk delivered for a review, if among its latest.

        The feed reads the outcomes topic a moment after the delivery; until then this
        is how the case page knows the review is answered (and refuses a second verdict).
        """
        with self._lock:
            return self._sent.get(decision_id)

    def _audit(self, event: dict[str, object], outcome: str) -> None:
        line = {**event, "outcome": outcome}
        with self._audit_path.open("ab") as out:
            out.write(orjson.dumps(line) + b"\n")
        _log.info("review verdict", decision_id=event["decision_id"], verdict=event["verdict"],
                  reviewer=event["reviewer"], event_id=event["event_id"], outcome=outcome)

    def close(self) -> None:
        """Deliver anything outstanding (nothing, normally) and drop the producer."""
        with self._lock:
            if self._producer is not None:
                try:
                    self._producer.flush(self._timeout_s)
                except ActionDeliveryError as exc:
                    _log.error("verdict producer closed with undelivered events", error=str(exc))
                self._producer = None


def _check(verdict: str, reviewer: User, note: str) -> Verdict:
    if not reviewer.may_decide:
        raise VerdictRefused(f"{reviewer.name} is an {reviewer.role}: only reviewers may decide")
    if verdict not in VERDICTS:
        raise VerdictRefused("the verdict must be approve or deny")
    if not note.strip():
        raise VerdictRefused("a note is required: say why")
    if len(note) > MAX_NOTE_CHARS:
        raise VerdictRefused(f"the note is longer than {MAX_NOTE_CHARS} characters")
    return "approve" if verdict == "approve" else "deny"
