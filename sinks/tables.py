"""The ClickHouse rows of every output item: each table's name, columns and rows, once.

Replay (`pitboss.sinks.run_outputs.RunOutputs`) and live workers
(`pitboss.sinks.live_outputs.LiveOutputs`) receive the same items from the same
pipeline and write the same tables; what they differ in is where else an item goes
(files or Kafka) and when rows are flushed. So both sort a batch with
`OutputBatch(items)`, apply their own side effects to the kinds that have one, and
hand `OutputBatch.table_rows()` to their writer. Every mapping lives here, in `TABLES`:

| output item | table (sinks/schema) | row |
| --- | --- | --- |
| `FeatureRow` | `player_features` | `feature_rows` |
| `DeadLetter` | `rejected_events` | `rejected_rows` |
| `ScoredPoint` | `player_scores` | `score_rows` |
| `MetricRow` | `model_metrics` | `metric_rows` |
| `Ordered` carrying a `Decision` | `decisions` | `decision_rows` (the gate's `AuditRow`) |
| `ComplianceChange` | `compliance_state` | `compliance_rows` |

A dead letter's JSON record, a line of `rejected.jsonl` and the value of its message on
the dead-letter topic alike, is `dead_letter_json`. An emitted decision's record (a
line of `actions.jsonl`, the value on its action topic) is the action's own
`ActionRecord.to_json_bytes()`. `IngestCount`, `ShardStats` and `FinalModels` have
no table: they are counts and exports, kept in `OutputBatch.others`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from pitboss.models.validation import MetricRow
from pitboss.operators.events import DeadLetter
from pitboss.operators.feature_schema import FEATURE_NAMES
from pitboss.operators.outputs import FeatureRow, Ordered, ScoredPoint
from pitboss.operators.policy.audit import COLUMNS as DECISION_COLUMNS
from pitboss.operators.policy.compliance_facts import ComplianceChange
from pitboss.operators.policy.gate import Decision

Row = tuple[Any, ...]

FEATURE_COLUMNS: tuple[str, ...] = (
    "player_id",
    "as_of",
    "trigger",
    "trigger_event_id",
    "jurisdiction",
    *FEATURE_NAMES,
)
REJECTED_COLUMNS: tuple[str, ...] = (
    "source",
    "position",
    "reason",
    "field",
    "event_id",
    "player_id",
    "excerpt",
    "detail",
)
SCORE_COLUMNS: tuple[str, ...] = (
    "player_id",
    "scored_at",
    "trigger",
    "trigger_event_id",
    "jurisdiction",
    "churn",
    "risk",
    "fraud",
    "churn_version",
    "risk_version",
    "fraud_version",
    "churn_reasons",
    "risk_reasons",
    "fraud_reasons",
    "challenger_scores",
    "challenger_versions",
)
METRIC_COLUMNS: tuple[str, ...] = (
    "model_kind",
    "role",
    "model_version",
    "hour",
    "metric",
    "value",
    "n",
)
COMPLIANCE_COLUMNS: tuple[str, ...] = (
    "player_id",
    "fact",
    "value",
    "until_ms",
    "at",
    "source",
    "reference",
)


# The outputs stage sees every feature row and scored point of a run: each table's rows
# are built by one comprehension per batch, the simple rows written inline in it (one
# function call per row fewer), the scored points' through `_score_row`.


def feature_rows(rows: Sequence[FeatureRow]) -> list[Row]:
    """Return the `player_features` rows of feature rows (`as_of` in epoch milliseconds)."""
    return [(r.player_id, r.as_of_ms, r.trigger, r.trigger_event_id, r.jurisdiction, *r.values)
            for r in rows]  # fmt: skip


def rejected_rows(letters: Sequence[DeadLetter]) -> list[Row]:
    """Return the `rejected_events` rows of dead letters (absent fields as empty strings)."""
    return [(d.source, d.position, d.reason, d.field or "", d.event_id or "", d.player_id or "",
             d.excerpt, d.detail) for d in letters]  # fmt: skip


def score_rows(points: Sequence[ScoredPoint]) -> list[Row]:
    """Return the `player_scores` rows of scored points (challengers as maps by model)."""
    return [_score_row(scored) for scored in points]


def _score_row(scored: ScoredPoint) -> Row:
    p, sc = scored.point, scored.scores
    churn, risk, fraud = sc["churn"], sc["risk"], sc["fraud"]
    return (
        p.player_id, p.ts_ms, p.trigger, p.trigger_event_id, p.jurisdiction,
        churn.value, risk.value, fraud.value,
        churn.model_version, risk.model_version, fraud.model_version,
        list(churn.reasons), list(risk.reasons), list(fraud.reasons),
        {k: v.value for k, v in scored.challengers.items()},
        {k: v.model_version for k, v in scored.challengers.items()},
    )


def metric_rows(metrics: Sequence[MetricRow]) -> list[Row]:
    """Return the `model_metrics` rows of metrics (`hour` in whole seconds: a `DateTime`)."""
    return [(m.model_kind, m.role, m.model_version, m.hour_ms // 1000, m.metric, m.value, m.n)
            for m in metrics]  # fmt: skip


def decision_of(ordered: Ordered) -> Decision:
    """Return the decision an item of `OutputBatch.decisions` carries."""
    decision: Decision = ordered.item  # type: ignore[assignment]  # `OutputBatch` checked it
    return decision


def decision_rows(decisions: Sequence[Ordered]) -> list[Row]:
    """Return the `decisions` audit rows of decisions in their place in the run's order.

    A row is the gate's `AuditRow` (`pitboss.operators.policy.audit`), which also
    names the columns.
    """
    return [o.item.as_audit_row().as_tuple() for o in decisions]  # type: ignore[attr-defined]


def compliance_rows(changes: Sequence[ComplianceChange]) -> list[Row]:
    """Return the `compliance_state` rows of compliance fact changes (`at` in epoch ms)."""
    return [(c.player_id, c.fact, c.value, c.until_ms, c.at_ms, c.source, c.reference)
            for c in changes]  # fmt: skip


def dead_letter_json(letter: DeadLetter) -> bytes:
    """Return a dead letter's JSON record: a `rejected.jsonl` line, a dead-letter topic value.

    Example:
        >>> dead_letter_json(DeadLetter(reason="late", field="ts_ms", event_id="e1",
        ...     player_id=None, source="bets", position=7, excerpt="{...}"))
        b'{"reason":"late","field":"ts_ms","event_id":"e1","player_id":null,"source":"bets","position":7,"excerpt":"{...}","detail":""}'

    """
    return orjson.dumps({
        "reason": letter.reason,
        "field": letter.field,
        "event_id": letter.event_id,
        "player_id": letter.player_id,
        "source": letter.source,
        "position": letter.position,
        "excerpt": letter.excerpt,
        "detail": letter.detail,
    })  # fmt: skip


@dataclass(frozen=True, slots=True)
class Table:
    """A ClickHouse table the outputs write: its name, its columns and the rows of items.

    `rows(items)` returns one row per item, each with its values in `columns` order,
    as the writer's `add(name, rows, columns)` takes them.
    """

    name: str
    columns: tuple[str, ...]
    rows: Callable[[Sequence[Any]], list[Row]]


FEATURES = Table("player_features", FEATURE_COLUMNS, feature_rows)
REJECTED = Table("rejected_events", REJECTED_COLUMNS, rejected_rows)
SCORES = Table("player_scores", SCORE_COLUMNS, score_rows)
METRICS = Table("model_metrics", METRIC_COLUMNS, metric_rows)
DECISIONS = Table("decisions", DECISION_COLUMNS, decision_rows)
COMPLIANCE = Table("compliance_state", COMPLIANCE_COLUMNS, compliance_rows)
TABLES: tuple[Table, ...] = (FEATURES, REJECTED, SCORES, METRICS, DECISIONS, COMPLIANCE)
"""Every table the outputs write, in the order a batch's rows are handed to the writer."""


class OutputBatch:
    """One batch of output items sorted by kind, each kind in the order it arrived.

    Args:
        items: the batch, as the engine hands it to the outputs.

    `decisions` holds the `Ordered` items carrying a `Decision` (their order and sub
    say where each goes in `actions.jsonl`); `others` holds the items with no table
    (`IngestCount`, `ShardStats`, `FinalModels`; any other item is left there unused).
    """

    __slots__ = ("compliance", "dead_letters", "decisions", "features", "metrics", "others",
                 "scored")

    def __init__(self, items: Iterable[object]) -> None:
        # The outputs stage sees every feature row and scored point, and a live worker's
        # batches can be a few items: the commonest kinds are tested first, and the
        # lists are filled as locals through appends looked up once per batch.
        features: list[FeatureRow] = []
        dead_letters: list[DeadLetter] = []
        scored: list[ScoredPoint] = []
        metrics: list[MetricRow] = []
        decisions: list[Ordered] = []
        compliance: list[ComplianceChange] = []
        others: list[object] = []
        add_scored, add_feature = scored.append, features.append
        for item in items:
            if isinstance(item, ScoredPoint):
                add_scored(item)
            elif isinstance(item, FeatureRow):
                add_feature(item)
            elif isinstance(item, Ordered) and isinstance(item.item, Decision):
                decisions.append(item)
            elif isinstance(item, MetricRow):
                metrics.append(item)
            elif isinstance(item, ComplianceChange):
                compliance.append(item)
            elif isinstance(item, DeadLetter):
                dead_letters.append(item)
            else:
                others.append(item)
        self.features, self.dead_letters, self.scored = features, dead_letters, scored
        self.metrics, self.decisions, self.compliance = metrics, decisions, compliance
        self.others = others

    def table_rows(self) -> list[tuple[Table, list[Row]]]:
        """Return every table with rows in this batch and its rows, in `TABLES` order."""
        rows: list[tuple[Table, list[Row]]] = []
        if self.features:
            rows.append((FEATURES, FEATURES.rows(self.features)))
        if self.dead_letters:
            rows.append((REJECTED, REJECTED.rows(self.dead_letters)))
        if self.scored:
            rows.append((SCORES, SCORES.rows(self.scored)))
        if self.metrics:
            rows.append((METRICS, METRICS.rows(self.metrics)))
        if self.decisions:
            rows.append((DECISIONS, DECISIONS.rows(self.decisions)))
        if self.compliance:
            rows.append((COMPLIANCE, COMPLIANCE.rows(self.compliance)))
        return rows
