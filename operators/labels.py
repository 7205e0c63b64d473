"""Training labels from delayed outcomes and event-time timers, without leakage.

Labels arrive late (assessments and chargebacks days after the behaviour) or are
decided by the passing of event time (churn). Each label is joined with features
the player had *before* the label became known:

- risk: `rg_assessment` (`harm_confirmed` 1, `no_concern` 0) and `self_exclusion`
  (1) learn from the player's features just before the label event;
- fraud: `chargeback` and `fraud_confirmed` (1), `fraud_cleared` (0) learn from the
  features at the player's last withdrawal request (when a fraudster cashes out),
  else from the features just before the label;
- churn: the features at a session's end, and at each inactivity checkpoint of a
  quiet spell, are kept; activity afterwards makes each a 0, no activity for
  `churn_horizon` after it makes it a 1 (an event-time timer). So the churn model
  learns from the very points it scores quiet players at: P(no activity within the
  horizon | the player's features now);
- players with no positive risk or fraud label `negative_horizon` after they were
  first seen become negatives of that kind, once. This is noisy on purpose: a
  harmed player not yet assessed is taught as a negative (see docs/models.md).

At most one pending session-end churn example, one per inactivity checkpoint and one
pending fraud example per player, so pending state is bounded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pitboss.operators.events import Chargeback, Event, FraudVerdict, RgAssessment, SelfExclusion
from pitboss.operators.feature_pack import pack_features, unpack_features
from pitboss.operators.feature_schema import FEATURE_NAMES
from pitboss.operators.outputs import LabelledExample
from pitboss.operators.player_state import (
    FRAUD_NEGATIVE_DONE,
    FRAUD_POSITIVE,
    NO_TIME,
    RISK_NEGATIVE_DONE,
    RISK_POSITIVE,
    PlayerState,
)

if TYPE_CHECKING:
    from pitboss.config.settings import LabelSettings

Features = tuple[float, ...]
N_FEATURES = len(FEATURE_NAMES)
_LABEL_EVENTS = (RgAssessment, SelfExclusion, Chargeback, FraudVerdict)


def _example(kind: str, player: PlayerState, features: Features, label: int,
             point_ts: int, label_ts: int) -> LabelledExample:
    if len(features) < N_FEATURES:  # kept by an older state format: newer features read 0
        features = (*features, *(0.0,) * (N_FEATURES - len(features)))
    return LabelledExample(kind, player.player_id, features, label, point_ts, label_ts)


class LabelRules:
    """Decide which events and timers produce training examples.

    Args:
        settings: the `[labels]` configuration.
    """

    def __init__(self, settings: LabelSettings) -> None:
        self.churn_horizon_ms = settings.churn_horizon_s * 1000
        self.negative_horizon_ms = settings.negative_horizon_s * 1000

    def outcome_label(self, event: Event) -> tuple[str, int] | None:
        """Return (kind, label) when `event` is a label, else None."""
        if not isinstance(event, _LABEL_EVENTS):  # one check for the usual case
            return None
        if isinstance(event, RgAssessment):
            return "risk", int(event.outcome == "harm_confirmed")
        if isinstance(event, SelfExclusion):
            return "risk", 1
        if isinstance(event, Chargeback):
            return "fraud", 1
        if isinstance(event, FraudVerdict):
            return "fraud", int(event.event_type == "fraud_confirmed")
        return None

    def on_outcome(
        self, player: PlayerState, kind: str, label: int, before: Features, ts_ms: int
    ) -> LabelledExample:
        """Return the example for an outcome label; `before` are the features just before it."""
        features, point_ts = before, ts_ms
        if kind == "fraud" and player.fraud_point is not None:
            features, point_ts = unpack_features(player.fraud_point), player.fraud_point_ts
        if label:
            player.flags |= RISK_POSITIVE if kind == "risk" else FRAUD_POSITIVE
        return _example(kind, player, features, label, point_ts, ts_ms)

    def remember_fraud_point(self, player: PlayerState, features: Features, ts_ms: int) -> None:
        """Keep the features of a withdrawal request for a later fraud label."""
        player.fraud_point = pack_features(features)
        player.fraud_point_ts = ts_ms

    def on_activity(self, player: PlayerState, ts_ms: int) -> list[LabelledExample]:
        """Activity after pending churn points makes them negatives, oldest first."""
        out: list[LabelledExample] = []
        point = player.churn_point
        if point is not None and ts_ms > player.churn_point_ts:
            out.append(_example("churn", player, unpack_features(point), 0,
                                player.churn_point_ts, ts_ms))
            player.churn_point = None
            player.churn_point_ts = NO_TIME
        quiet = player.quiet_points
        if quiet:
            kept = [(t, packed) for t, packed in quiet if t >= ts_ms]
            out += [_example("churn", player, unpack_features(packed), 0, t, ts_ms)
                    for t, packed in quiet if t < ts_ms]
            player.quiet_points = kept or None
        return out

    def start_quiet_point(self, player: PlayerState, features: Features, ts_ms: int) -> None:
        """Keep an inactivity checkpoint's features until its churn label is known."""
        point = (ts_ms, pack_features(features))
        player.quiet_points = [*(player.quiet_points or ()), point]

    def quiet_due(self, player: PlayerState) -> int | None:
        """Return when the oldest pending checkpoint becomes a positive, or None."""
        quiet = player.quiet_points
        return quiet[0][0] + self.churn_horizon_ms if quiet else None

    def on_quiet_timer(self, player: PlayerState, watermark: int) -> list[LabelledExample]:
        """No activity for the horizon after checkpoints: each one due is a positive."""
        quiet = player.quiet_points or []
        due = [(t, packed) for t, packed in quiet if t + self.churn_horizon_ms <= watermark]
        player.quiet_points = quiet[len(due):] or None
        return [_example("churn", player, unpack_features(packed), 1, t,
                         t + self.churn_horizon_ms) for t, packed in due]

    def start_churn_point(self, player: PlayerState, features: Features, ts_ms: int) -> int | None:
        """Keep a session's end as a churn point; return when its timer is due (or None)."""
        if player.churn_point is not None:
            return None
        player.churn_point = pack_features(features)
        player.churn_point_ts = ts_ms
        return ts_ms + self.churn_horizon_ms

    def churn_due(self, player: PlayerState) -> int | None:
        """Return when the pending churn point becomes a positive, or None."""
        if player.churn_point is None:
            return None
        return player.churn_point_ts + self.churn_horizon_ms

    def on_churn_timer(self, player: PlayerState) -> LabelledExample:
        """No activity for the horizon: the pending churn point is a positive."""
        assert player.churn_point is not None
        due = player.churn_point_ts + self.churn_horizon_ms
        example = _example("churn", player, unpack_features(player.churn_point), 1,
                           player.churn_point_ts, due)
        player.churn_point = None
        player.churn_point_ts = NO_TIME
        return example

    def negatives_due(self, player: PlayerState) -> int:
        """Return when the player's missing positives turn into negatives."""
        return player.first_ts + self.negative_horizon_ms

    def negatives_done(self, player: PlayerState) -> bool:
        """Return True once both kinds have a positive or were taught a negative."""
        flags = player.flags
        return bool(flags & (RISK_POSITIVE | RISK_NEGATIVE_DONE)) and bool(
            flags & (FRAUD_POSITIVE | FRAUD_NEGATIVE_DONE)
        )

    def on_negative_timer(
        self, player: PlayerState, features: Features, ts_ms: int
    ) -> list[LabelledExample]:
        """Emit a negative for each kind with no positive label yet (once per kind)."""
        out = []
        for kind, positive, done in (("risk", RISK_POSITIVE, RISK_NEGATIVE_DONE),
                                     ("fraud", FRAUD_POSITIVE, FRAUD_NEGATIVE_DONE)):
            if not player.flags & (positive | done):
                out.append(_example(kind, player, features, 0, ts_ms, ts_ms))
            player.flags |= done
        return out
