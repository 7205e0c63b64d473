"""Records the per-player operators emit besides dead letters: feature rows and counts.

These are what leaves the engine-agnostic operators for the sinks. They are
slotted dataclasses: cheap to build, picklable, and explicit about their fields.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class FeatureRow:
    """A player's features at an event time, in `operators.features.FEATURE_NAMES` order.

    `trigger` says why the row was taken (`session_end`, `session_timeout`,
    `hourly`); (`player_id`, `as_of_ms`, `trigger`) is the row's deterministic key.
    """

    player_id: str
    as_of_ms: int
    trigger: str
    trigger_event_id: str
    jurisdiction: str
    values: tuple[float, ...]


@dataclass(slots=True)
class IngestCount:
    """How many raw messages a source handed to validation in one batch."""

    source: str
    messages: int


@dataclass(slots=True)
class ShardStats:
    """A shard's totals, emitted when its input ends."""

    players: int
    accepted: int


@dataclass(slots=True)
class ClockTick:
    """Event-time progress for a shard that has not seen an event for a while."""

    ts_ms: int
