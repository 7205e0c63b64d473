"""Where a run's results go: ClickHouse tables, action and dead-letter files, the summary.

`RunOutputs` receives everything the pipeline emits (feature rows, scores, model
metrics, decisions, dead letters, counts) in whatever order the engine delivers
it, and routes it: rows to ClickHouse in batches through `ClickHouseWriter`;
emitted actions to `actions.jsonl` in the order decided (the models step's
deterministic order); dead letters to `rejected.jsonl` sorted by input position;
counts to `summary.json`. Files are written at the end, sorted, so they are
byte-identical however many workers ran.
Engine-agnostic: the Bytewax adapter is `pitboss.flows.outputs_sink`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from pitboss.models.model_set import ModelSet
from pitboss.models.storage import export_models
from pitboss.models.validation import MetricRow
from pitboss.operators.events import DeadLetter
from pitboss.operators.feature_schema import FEATURE_NAMES
from pitboss.operators.outputs import (
    FeatureRow,
    FinalModels,
    IngestCount,
    Ordered,
    ScoredPoint,
    ShardStats,
)
from pitboss.operators.policy.audit import COLUMNS as DECISION_COLUMNS
from pitboss.operators.policy.compliance_facts import ComplianceChange
from pitboss.operators.policy.gate import Decision

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
DECISION_KINDS: tuple[str, ...] = ("intervention", "offer", "review")


def compliance_row(change: ComplianceChange) -> tuple[Any, ...]:
    """Return the `compliance_state` row of a compliance fact change."""
    return (change.player_id, change.fact, change.value, change.until_ms, change.at_ms,
            change.source, change.reference)


def score_row(scored: ScoredPoint) -> tuple[Any, ...]:
    """Return the `player_scores` row of a scored point."""
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


def metric_row(row: MetricRow) -> tuple[Any, ...]:
    """Return the `model_metrics` row of a metric."""
    # `hour` is DateTime('UTC'): whole seconds.
    return (row.model_kind, row.role, row.model_version, row.hour_ms // 1000, row.metric,
            row.value, row.n)


class RowWriter(Protocol):
    """What `RunOutputs` needs of a ClickHouse writer (see `pitboss.sinks.clickhouse_writer`)."""

    def add(self, table: str, rows: list[tuple[Any, ...]], columns: Sequence[str]) -> None:
        """Buffer rows for `table`; the writer flushes by size and time."""

    def close(self) -> None:
        """Flush everything; raise if anything could not be delivered."""


@dataclass
class RunCounts:
    """The run's accounting: every input message ends up in exactly one bucket."""

    events_in: int = 0
    events_accepted: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    duplicates_dropped: int = 0
    late_events: int = 0
    players: int = 0
    feature_rows: int = 0
    scored_points: int = 0
    metric_rows: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    decisions_by_status: Counter[str] = field(default_factory=Counter)
    suppressed_by: Counter[str] = field(default_factory=Counter)

    def summary(self, elapsed_s: float) -> dict[str, Any]:
        """Return the `summary.json` document."""
        rejected = sum(self.rejected_by_reason.values())
        return {
            "events_in": self.events_in,
            "events_accepted": self.events_accepted,
            "events_rejected": rejected,
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
            "duplicates_dropped": self.duplicates_dropped,
            "late_events": self.late_events,
            "unaccounted": self.events_in
            - self.events_accepted
            - rejected
            - self.duplicates_dropped
            - self.late_events,
            "players": self.players,
            "feature_rows": self.feature_rows,
            "scored_points": self.scored_points,
            "model_metric_rows": self.metric_rows,
            "decisions": {kind: self.decisions.get(kind, 0) for kind in DECISION_KINDS},
            "decisions_by_status": dict(sorted(self.decisions_by_status.items())),
            "suppressed_by": dict(sorted(self.suppressed_by.items())),
            "elapsed_s": round(elapsed_s, 3),
            "events_per_s": round(self.events_in / elapsed_s, 1) if elapsed_s > 0 else 0.0,
        }


def dead_letter_record(letter: DeadLetter) -> dict[str, Any]:
    """Return the JSON form of a dead letter, as written to `rejected.jsonl`."""
    return {
        "reason": letter.reason,
        "field": letter.field,
        "event_id": letter.event_id,
        "player_id": letter.player_id,
        "source": letter.source,
        "position": letter.position,
        "excerpt": letter.excerpt,
        "detail": letter.detail,
    }


class RunOutputs:
    """Route a run's outputs to ClickHouse, files and counters.

    Args:
        out_dir: the run directory (`rejected.jsonl`, `summary.json`).
        writer: the ClickHouse writer, or None to skip ClickHouse (tests of routing only).
        started: monotonic time the run started, for `elapsed_s` (sink side, not event time).
        monotonic: the clock used for elapsed time.
    """

    def __init__(
        self,
        out_dir: Path,
        writer: RowWriter | None,
        started: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out_dir = out_dir
        self.writer = writer
        self.started = started
        self.monotonic = monotonic
        self.counts = RunCounts()
        self._dead: list[DeadLetter] = []
        self._actions: list[tuple[int, int, bytes]] = []
        self._final_models: object | None = None

    def write(self, items: Iterable[object]) -> None:
        """Route one batch of output items."""
        features: list[tuple[Any, ...]] = []
        rejected: list[tuple[Any, ...]] = []
        scores: list[tuple[Any, ...]] = []
        metrics: list[tuple[Any, ...]] = []
        audit: list[tuple[Any, ...]] = []
        compliance: list[tuple[Any, ...]] = []
        counts = self.counts
        for item in items:
            if isinstance(item, ScoredPoint):
                scores.append(score_row(item))
            elif isinstance(item, ComplianceChange):
                compliance.append(compliance_row(item))
            elif isinstance(item, Ordered) and isinstance(item.item, Decision):
                audit.append(self._decision(item.order, item.sub, item.item))
            elif isinstance(item, MetricRow):
                metrics.append(metric_row(item))
            elif isinstance(item, FinalModels):
                self._final_models = item.models
            elif isinstance(item, FeatureRow):
                features.append(
                    (item.player_id, item.as_of_ms, item.trigger, item.trigger_event_id,
                     item.jurisdiction, *item.values)
                )
            elif isinstance(item, DeadLetter):
                self._dead_letter(item)
                rejected.append(
                    (item.source, item.position, item.reason, item.field or "",
                     item.event_id or "", item.player_id or "", item.excerpt, item.detail)
                )
            elif isinstance(item, IngestCount):
                counts.events_in += item.messages
            elif isinstance(item, ShardStats):
                counts.players += item.players
                counts.events_accepted += item.accepted
        counts.feature_rows += len(features)
        counts.scored_points += len(scores)
        counts.metric_rows += len(metrics)
        if self.writer is not None:
            for table, rows, columns in (
                ("player_features", features, FEATURE_COLUMNS),
                ("rejected_events", rejected, REJECTED_COLUMNS),
                ("player_scores", scores, SCORE_COLUMNS),
                ("model_metrics", metrics, METRIC_COLUMNS),
                ("decisions", audit, DECISION_COLUMNS),
                ("compliance_state", compliance, COMPLIANCE_COLUMNS),
            ):
                if rows:
                    self.writer.add(table, rows, columns)

    def _decision(self, order: int, sub: int, decision: Decision) -> tuple[Any, ...]:
        counts = self.counts
        counts.decisions_by_status[decision.status] += 1
        if decision.suppressed_by:
            counts.suppressed_by[decision.suppressed_by] += 1
        if decision.emitted:
            counts.decisions[decision.action.kind] += 1
            self._actions.append((order, sub, decision.action.to_json_bytes()))
        return decision.as_audit_row().as_tuple()

    def _dead_letter(self, letter: DeadLetter) -> None:
        self._dead.append(letter)
        if letter.reason == "duplicate":
            self.counts.duplicates_dropped += 1
        elif letter.reason == "late":
            self.counts.late_events += 1
        else:
            self.counts.rejected_by_reason[letter.reason] += 1

    def checkpoint(self) -> None:
        """Do nothing: a replay keeps no recovery state and re-runs from its input."""

    def close(self) -> dict[str, Any]:
        """Flush ClickHouse, write `rejected.jsonl` and `summary.json`; return the summary."""
        if self.writer is not None:
            self.writer.close()
        if isinstance(self._final_models, ModelSet):
            export_models(self._final_models, self.out_dir / "models")
        self._actions.sort(key=lambda a: (a[0], a[1]))
        with (self.out_dir / "actions.jsonl").open("wb") as fh:
            for _, _, record in self._actions:
                fh.write(record)
                fh.write(b"\n")
        self._dead.sort(key=lambda d: (d.source, d.position, d.reason))
        with (self.out_dir / "rejected.jsonl").open("wb") as fh:
            for letter in self._dead:
                fh.write(orjson.dumps(dead_letter_record(letter)))
                fh.write(b"\n")
        summary = self.counts.summary(self.monotonic() - self.started)
        (self.out_dir / "summary.json").write_bytes(
            orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        )
        return summary
