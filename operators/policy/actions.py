"""The action record: the value the policy writes to an action topic (docs/policy.md).

One `ActionRecord` per decision. Kafka key is the player, headers carry the decision
id and policy version, and the value is the JSON of `to_dict` in a fixed key order,
so the same decision always serialises to the same bytes (replay files compare
byte for byte, consumers deduplicate on `decision_id`). The topic is deployment
configuration, not part of the record: a record of kind `kind` goes to
`KafkaSettings.topics.for_action(kind)` (`[kafka.topics]`).

Example:
    >>> record = ActionRecord(
    ...     decision_id="d1", player_id="p1", kind="intervention", action="rg_message",
    ...     severity="low", decided_at_ms=1_767_268_800_000, trigger="session_end",
    ...     trigger_event_id="e1", reasons=("risk_score",),
    ...     scores={"churn": 0.1, "risk": 0.55, "fraud": 0.0},
    ...     model_versions={"risk": "risk-v1"}, policy_version="2026.01.1+abcd1234",
    ...     jurisdiction="UK", requires_review=False)
    >>> record.kafka_key(), record.to_dict()["decided_at"]
    (b'p1', '2026-01-01T12:00:00.000Z')

"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

# Each kind has its own action topic, named in the configuration (`KafkaTopics.for_action`).
KINDS = ("intervention", "offer", "review")
LADDER_ACTIONS = ("rg_message", "reality_check", "deposit_limit_suggestion", "cool_off_suggestion")
MANDATORY_COOL_OFF = "mandatory_cool_off"
HOLD_WITHDRAWALS_AND_BONUSES = "hold_withdrawals_and_bonuses"
RG_REVIEW = "rg_review"
FRAUD_REVIEW = "fraud_review"
RETENTION_OFFER = "retention_offer"
REACTIVATION_OFFER = "reactivation_offer"
REVIEW_VERDICT = "review_verdict"
# What each review asks a human to approve.
PROPOSED_BY_REVIEW: dict[str, str] = {
    RG_REVIEW: MANDATORY_COOL_OFF,
    FRAUD_REVIEW: HOLD_WITHDRAWALS_AND_BONUSES,
}
SCORE_KINDS = ("churn", "risk", "fraud")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def rfc3339_ms(ts_ms: int) -> str:
    """Format epoch milliseconds as RFC 3339 UTC with milliseconds and `Z`.

    >>> rfc3339_ms(1_767_268_800_123)
    '2026-01-01T12:00:00.123Z'
    """
    moment = _EPOCH + timedelta(milliseconds=ts_ms)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ts_ms % 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Offer:
    """What an offer gives: a type, a value and its currency."""

    type: str
    value: float
    currency: str


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """A decision as consumers see it: who, what, when, why, on which scores and policy.

    `decided_at_ms` is the event time of the scoring point that decided it (never the
    wall clock). `offer` is set for offers only, `proposed_action` for reviews only and
    `review_decision_id` for actions finalised by an approved review (and for a review's
    verdict rows).
    """

    decision_id: str
    player_id: str
    kind: str
    action: str
    severity: str
    decided_at_ms: int
    trigger: str
    trigger_event_id: str
    reasons: tuple[str, ...]
    scores: dict[str, float]
    model_versions: dict[str, str]
    policy_version: str
    jurisdiction: str
    requires_review: bool
    offer: Offer | None = None
    proposed_action: str | None = None
    review_decision_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown action kind {self.kind!r}")
        if not self.reasons:
            raise ValueError("an action record needs at least one reason code")

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON contract form, keys in contract order."""
        out: dict[str, Any] = {
            "decision_id": self.decision_id,
            "player_id": self.player_id,
            "kind": self.kind,
            "action": self.action,
            "severity": self.severity,
            "decided_at": rfc3339_ms(self.decided_at_ms),
            "trigger": self.trigger,
            "trigger_event_id": self.trigger_event_id,
            "reasons": list(self.reasons),
            "scores": {kind: self.scores.get(kind, 0.0) for kind in SCORE_KINDS},
            "model_versions": dict(sorted(self.model_versions.items())),
            "policy_version": self.policy_version,
            "jurisdiction": self.jurisdiction,
            "requires_review": self.requires_review,
        }
        if self.offer is not None:
            out["offer"] = {
                "type": self.offer.type,
                "value": self.offer.value,
                "currency": self.offer.currency,
            }
        if self.proposed_action is not None:
            out["proposed_action"] = self.proposed_action
        if self.review_decision_id is not None:
            out["review_decision_id"] = self.review_decision_id
        return out

    def to_json_bytes(self) -> bytes:
        """Return the record as compact JSON bytes, identical for identical decisions."""
        return orjson.dumps(self.to_dict())

    def kafka_key(self) -> bytes:
        """Return the Kafka message key: the player id."""
        return self.player_id.encode()

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        """Return the Kafka headers: decision id and policy version."""
        return [
            ("decision_id", self.decision_id.encode()),
            ("policy_version", self.policy_version.encode()),
        ]
