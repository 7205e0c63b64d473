"""Where a run's results go: ClickHouse tables, dead-letter files and the run summary.

`RunOutputs` receives everything the per-player operators emit (feature rows,
dead letters, counts) in whatever order the engine delivers it, and routes it:
rows to ClickHouse in batches through `ClickHouseWriter`, dead letters to
`rejected.jsonl` (written sorted by input position at the end, so the file is
byte-identical however many workers ran), and counts to `summary.json`.
Engine-agnostic: the Bytewax adapter is `flows.outputs_sink`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from operators.events import DeadLetter
from operators.features import FEATURE_NAMES
from operators.outputs import FeatureRow, IngestCount, ShardStats

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
DECISION_KINDS: tuple[str, ...] = ("intervention", "offer", "review")


class RowWriter(Protocol):
    """What `RunOutputs` needs of a ClickHouse writer (see `sinks.clickhouse_writer`)."""

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
    decisions: Counter[str] = field(default_factory=Counter)

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
            "decisions": {kind: self.decisions.get(kind, 0) for kind in DECISION_KINDS},
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

    def write(self, items: Iterable[object]) -> None:
        """Route one batch of output items."""
        features: list[tuple[Any, ...]] = []
        rejected: list[tuple[Any, ...]] = []
        counts = self.counts
        for item in items:
            if isinstance(item, FeatureRow):
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
        if self.writer is not None:
            if features:
                self.writer.add("player_features", features, FEATURE_COLUMNS)
            if rejected:
                self.writer.add("rejected_events", rejected, REJECTED_COLUMNS)

    def _dead_letter(self, letter: DeadLetter) -> None:
        self._dead.append(letter)
        if letter.reason == "duplicate":
            self.counts.duplicates_dropped += 1
        elif letter.reason == "late":
            self.counts.late_events += 1
        else:
            self.counts.rejected_by_reason[letter.reason] += 1

    def close(self) -> dict[str, Any]:
        """Flush ClickHouse, write `rejected.jsonl` and `summary.json`; return the summary."""
        if self.writer is not None:
            self.writer.close()
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
