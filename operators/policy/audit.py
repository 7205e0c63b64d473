"""Rows of the append-only `decisions` audit table (sinks/schema/0003_decisions.sql).

One row per decision and per status change. A row carries every field of the action
record, the status, the gate rule that held it back, the reviewer of a verdict and
the feature snapshot that led to it, so any decision can be explained from its row
alone. `COLUMNS` is in the order of `AuditRow.as_tuple()`, for a writer taking
`add("decisions", rows, columns)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pitboss.operators.policy.actions import ActionRecord

TABLE = "decisions"
COLUMNS: tuple[str, ...] = (
    "decision_id",
    "status",
    "suppressed_by",
    "player_id",
    "kind",
    "action",
    "severity",
    "decided_at",
    "trigger",
    "trigger_event_id",
    "reasons",
    "score_churn",
    "score_risk",
    "score_fraud",
    "model_versions",
    "policy_version",
    "jurisdiction",
    "requires_review",
    "offer_type",
    "offer_value",
    "offer_currency",
    "proposed_action",
    "review_decision_id",
    "reviewer",
    "features",
)


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One row of the `decisions` table: an action record with its status and evidence.

    `decided_at` is written as epoch milliseconds (a `DateTime64(3, 'UTC')` column);
    empty strings stand for absent optional fields.
    """

    action: ActionRecord
    status: str
    suppressed_by: str
    reviewer: str
    features: dict[str, float]

    @staticmethod
    def columns() -> tuple[str, ...]:
        """Return the column names, in `as_tuple` order."""
        return COLUMNS

    def as_tuple(self) -> tuple[Any, ...]:
        """Return the row's values in `COLUMNS` order."""
        a = self.action
        offer = a.offer
        return (
            a.decision_id,
            self.status,
            self.suppressed_by,
            a.player_id,
            a.kind,
            a.action,
            a.severity,
            a.decided_at_ms,
            a.trigger,
            a.trigger_event_id,
            list(a.reasons),
            a.scores.get("churn", 0.0),
            a.scores.get("risk", 0.0),
            a.scores.get("fraud", 0.0),
            dict(a.model_versions),
            a.policy_version,
            a.jurisdiction,
            a.requires_review,
            offer.type if offer else "",
            offer.value if offer else 0.0,
            offer.currency if offer else "",
            a.proposed_action or "",
            a.review_decision_id or "",
            self.reviewer,
            dict(self.features),
        )
