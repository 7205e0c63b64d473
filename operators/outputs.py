"""Records the per-player operators emit besides dead letters: feature rows and counts.

These are what leaves the engine-agnostic operators for the sinks. They are
slotted dataclasses: cheap to build, picklable, and explicit about their fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from pitboss.operators.pickling import PickledByFields


@dataclass(slots=True)
class FeatureRow(PickledByFields):
    """A player's features at an event time, in `feature_schema.FEATURE_NAMES` order.

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
class IngestCount(PickledByFields):
    """How many raw messages a source handed to validation in one batch."""

    source: str
    messages: int


@dataclass(slots=True)
class ShardStats(PickledByFields):
    """A shard's totals, emitted when its input ends."""

    players: int
    accepted: int


@dataclass(slots=True)
class ClockTick(PickledByFields):
    """Event-time progress for a shard that has not seen an event for a while."""

    ts_ms: int
    shard: str = ""


@dataclass(slots=True)
class ScoringPoint(PickledByFields):
    """A moment at which a player is scored: features as of `ts_ms` and why.

    Emitted by the player shards on feature updates that matter (session end,
    hourly while active, deposits, withdrawals, bonus claims, compliance events,
    inactivity timers), not on every bet. `trigger` is the event type or timer kind
    (`session_end`, `hourly`, `deposit`, `withdrawal`, `bonus_claim`, `self_exclusion`,
    `consent`, `limit_set`, `inactivity`, ...); `trigger_event_id` is empty for timers.
    `features` is in `pitboss.operators.feature_schema.FEATURE_NAMES` order. `event` carries the
    triggering compliance or outcome event when the policy needs it (`review_decision`,
    `self_exclusion`, `consent`, `limit_set`, `rg_assessment`), else None.
    """

    player_id: str
    ts_ms: int
    trigger: str
    trigger_event_id: str
    jurisdiction: str
    features: tuple[float, ...]
    event: object | None = None


@dataclass(slots=True)
class Score(PickledByFields):
    """One model kind's score for a point: value in [0, 1], its model version and reasons."""

    value: float
    model_version: str
    reasons: tuple[str, ...]


@dataclass(slots=True)
class ScoredPoint(PickledByFields):
    """A scoring point with the champion scores per kind (`churn`, `risk`, `fraud`).

    `challengers` holds shadow models' scores: recorded, never used for decisions.
    """

    point: ScoringPoint
    scores: dict[str, Score]
    challengers: dict[str, Score]
    order: tuple[int, str, int] = (0, "", 0)
    """Its place in the run's order: the (clock, shard, sequence) its shard stamped it with."""
    waited: bool = False
    """Whether it waited for the models' release of its time (the models step was behind)."""


@dataclass(slots=True)
class FinalModels(PickledByFields):
    """The models as they stand when a replay's input ends, for export (`DIR/models`)."""

    models: object


@dataclass(slots=True)
class Ordered(PickledByFields):
    """An output with its place in the run's deterministic order (`order`, then `sub`)."""

    order: tuple[int, str, int]
    sub: int
    item: object


@dataclass(slots=True)
class LabelledExample(PickledByFields):
    """A label that became known, joined with the features the player had when scored.

    `features` are those of the scoring point at `point_ts_ms` (before the label's
    time: no leakage from the future); the model learns it at `label_ts_ms`.
    """

    kind: str
    player_id: str
    features: tuple[float, ...]
    label: int
    point_ts_ms: int
    label_ts_ms: int
