"""Where a run's results go: ClickHouse tables, action and dead-letter files, the summary.

`RunOutputs` receives everything the pipeline emits (feature rows, scores, model
metrics, decisions, dead letters, counts) in whatever order the engine delivers
it, and routes it: rows to ClickHouse in batches through `ClickHouseWriter` (each
table's rows as `pitboss.sinks.tables` builds them, the same for live workers);
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
from pitboss.operators.events import DeadLetter
from pitboss.operators.outputs import FinalModels, IngestCount, Ordered, ShardStats
from pitboss.sinks.tables import OutputBatch, dead_letter_json, decision_of

DECISION_KINDS: tuple[str, ...] = ("intervention", "offer", "review")


class RowWriter(Protocol):
    """What `RunOutputs` needs of a ClickHouse writer (see `pitboss.sinks.clickhouse_writer`)."""

    def add(self, table: str, rows: list[tuple[Any, ...]], columns: Sequence[str]) -> None:
        """Buffer rows for `table`; the writer flushes by size and time."""

    def close(self) -> None:
        """Flush everything; raise if anything could not be delivered."""


TIMING_FIELDS = ("elapsed_s", "events_per_s", "scored_after_waiting")
"""The summary's figures that depend on timing, not on the input: left out when runs are
compared. `scored_after_waiting` counts the points that waited for the models' release
of their boundary (docs/architecture.md): how often the models step was behind."""


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
    scored_after_waiting: int = 0
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
            "scored_after_waiting": self.scored_after_waiting,
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
        self._actions: list[tuple[tuple[int, str, int], int, bytes]] = []
        self._final_models: object | None = None

    def write(self, items: Iterable[object]) -> None:
        """Route one batch of output items."""
        batch = OutputBatch(items)
        counts = self.counts
        for ordered in batch.decisions:
            self._decision(ordered)
        for letter in batch.dead_letters:
            self._dead_letter(letter)
        for item in batch.others:
            if isinstance(item, IngestCount):
                counts.events_in += item.messages
            elif isinstance(item, ShardStats):
                counts.players += item.players
                counts.events_accepted += item.accepted
            elif isinstance(item, FinalModels):
                self._final_models = item.models
        counts.feature_rows += len(batch.features)
        counts.scored_points += len(batch.scored)
        counts.scored_after_waiting += sum(scored.waited for scored in batch.scored)
        counts.metric_rows += len(batch.metrics)
        if self.writer is not None:
            for table, rows in batch.table_rows():
                self.writer.add(table.name, rows, table.columns)

    def _decision(self, ordered: Ordered) -> None:
        decision, counts = decision_of(ordered), self.counts
        counts.decisions_by_status[decision.status] += 1
        if decision.suppressed_by:
            counts.suppressed_by[decision.suppressed_by] += 1
        if decision.emitted:
            counts.decisions[decision.action.kind] += 1
            self._actions.append((ordered.order, ordered.sub, decision.action.to_json_bytes()))

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
                fh.write(dead_letter_json(letter))
                fh.write(b"\n")
        summary = self.counts.summary(self.monotonic() - self.started)
        (self.out_dir / "summary.json").write_bytes(
            orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        )
        return summary
