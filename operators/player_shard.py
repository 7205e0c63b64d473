"""One shard of per-player state: deduplication, lateness, event-time timers, features, labels.

`PlayerShard` is the engine-agnostic heart of the dataflow, a `pitboss.operators.step.Step`.
The engine hands it batches of items for the shard in arrival order (events and clock
ticks; a parser's dead letters go straight to the outputs and never reach a shard) and
gets back what to emit: feature rows and dead letters (duplicates, late events) for the
sinks, and, stamped for the deterministic merge (`pitboss.operators.ordered_merge`),
scoring points and labelled examples for the global models.

Event time only: the shard's clock is the latest event time it has seen (from
its own events or from `ClockTick`s), and timers fire once that clock minus
`allowed_lateness` passes their due time, so out-of-order events within the
allowed lateness are still counted in their proper place. When the input ends,
time stops: timers due later never fire.

Example:
    >>> from pitboss.config.settings import load_settings
    >>> from pitboss.operators.events import SessionStart, SessionEnd
    >>> settings = load_settings()
    >>> shard = PlayerShard.from_settings(settings.features, settings.labels, scoring=False)
    >>> out = shard.process([
    ...     SessionStart("e1", "session_start", "p1", 0, "UK", None, "s1", None, None),
    ...     SessionEnd("e2", "session_end", "p1", 600_000, "UK", None, "s1"),
    ...     SessionEnd("e2", "session_end", "p1", 600_000, "UK", None, "s1"),
    ... ])
    >>> [type(o).__name__ for o in out], out[1].reason
    (['FeatureRow', 'DeadLetter'], 'duplicate')
"""

from __future__ import annotations

import heapq
import pickle
from array import array
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, cast

from pitboss.operators import player_state as m
from pitboss.operators.events import (
    Bet,
    BetSettled,
    BonusClaim,
    DeadLetter,
    Deposit,
    Event,
    SessionEnd,
    SessionStart,
    Withdrawal,
)
from pitboss.operators.feature_schema import FEATURE_INDEX
from pitboss.operators.features import FeatureEngine, event_hash
from pitboss.operators.labels import LabelRules
from pitboss.operators.ordered_merge import DONE, ShardProgress, Stamped
from pitboss.operators.out_of_rhythm import OutOfRhythm
from pitboss.operators.outputs import ClockTick, FeatureRow, ScoringPoint, ShardStats
from pitboss.operators.panes import DAY_MS, HOUR_MS, LEVELS
from pitboss.operators.pickle_cache import PickleCache
from pitboss.operators.player_state import (
    AT_LIMIT_SCORED,
    CHECKPOINT_MASK,
    CHECKPOINT_SHIFT,
    COMPACTED,
    MAX_CHECKPOINTS,
    NO_TIME,
    RHYTHM_POINT_DONE,
    PlayerState,
)
from pitboss.operators.recent_ids import remember, seen
from pitboss.operators.sharding import shard_key
from pitboss.operators.state_pickle import load_pickled, written_before_namespace

if TYPE_CHECKING:
    from pitboss.config.settings import FeatureSettings, LabelSettings

IDLE_AFTER_MS = LEVELS[-1][0] * LEVELS[-1][1] + DAY_MS  # longest window plus a day

ROW_TRIGGERS = frozenset({"session_end", "session_timeout", "hourly"})
# Events after which the player is scored at once: payment and compliance events, among
# them the markers of harm (a declined deposit, a reversed withdrawal, a deposit). Bets are
# scored every `session_score_bets` bets or `session_score_interval_ms` within a session,
# and at once when one uses up a limit (`limit_reached`).
SCORED_EVENTS = frozenset({
    "deposit", "withdrawal", "bonus_claim", "self_exclusion", "consent", "limit_set",
    "review_decision", "rg_assessment", "chargeback", "fraud_confirmed", "fraud_cleared",
})
# Events passed to the policy with the point (compliance facts and human verdicts).
POLICY_EVENTS = frozenset({
    "self_exclusion", "consent", "limit_set", "review_decision", "rg_assessment",
})
_AT_LIMIT = FEATURE_INDEX["at_limit"]
ACTIVITY = (Bet, BetSettled, Deposit, Withdrawal, BonusClaim, SessionStart, SessionEnd)


STATE_FORMAT = 7
"""Layout of a shard's pickled state (`ShardState`, `PlayerState`, `PaneLevels`).

Raised whenever one of them changes shape, so that recovery state written by another
layout is refused with a clear message instead of failing deep inside unpickling.
Format 2: sparse pane records, tracked ids and running amounts in one array each.
Format 3: a player quiet for `QUIET_MS` may be kept pickled (`ShardState.players`
values are `PlayerState` or its pickle); format 2 is format 3 with none so kept.
Format 4: `PlayerState.open_stakes` (stakes of unsettled bets, for loss chasing) and a
player's own baselines and when they were last scored, in `amounts`; a player pickled
in format 2 or 3 loads with neither (`PlayerState.__setstate__`).
Format 5: a player's rhythm of visits in its running amounts, pending inactivity
checkpoints (`PlayerState.quiet_points`) and the count of checkpoints scored in its
flags; a player pickled in formats 2 to 4 loads with no rhythm yet and its one
inactivity point as the first checkpoint.
Format 6: the variance of the player's gaps between visits in its running amounts and
a flag for the quiet spell's out-of-rhythm point (`PlayerState.flags`), and a feature
row one longer (`quiet_spreads`); a player pickled in formats 2 to 5 loads with no
variance kept (`pitboss.operators.visit_rhythm` reads it from its usual gap), and its
pending training examples read the new feature as 0 (`LabelRules`).
Format 7: the stake-shift chart in a player's running amounts (`pitboss.operators.
stake_shift`) and a feature row one longer (`stake_shift`); a player pickled in formats
2 to 6 loads with an empty chart (it rebuilds its baseline from the next bets), and its
pending training examples read the new feature as 0.
"""
READABLE_FORMATS = frozenset({2, 3, 4, 5, 6, 7})

QUIET_MS = HOUR_MS
"""A player with no event for this long (by the shard's clock) is kept pickled between
snapshots: a live worker snapshots every player of a shard at each epoch end, and a
pickle kept from the previous snapshot is copied instead of built again (and takes
less memory than the objects). The next event or timer of the player unpickles it."""


class IncompatibleStateError(RuntimeError):
    """Recovery state of player shards that this version cannot read (docs/operations.md)."""


def load_state(data: bytes) -> ShardState:
    """Return the shard state `PlayerShard.snapshot` wrote: the one reader of a shard's bytes.

    State pickled before the `pitboss` namespace loads too (`operators.state_pickle`).

    Raises:
        IncompatibleStateError: the bytes were written in another `STATE_FORMAT` (or
            by a version that did not tag its state).
    """
    try:
        loaded = load_pickled(data)
    except Exception as exc:  # an older layout can fail anywhere in its objects' setstate
        raise IncompatibleStateError(_incompatible("an unreadable format")) from exc
    if not (isinstance(loaded, tuple) and len(loaded) == 2 and isinstance(loaded[1], ShardState)):
        raise IncompatibleStateError(_incompatible("an untagged format (before format 2)"))
    if loaded[0] not in READABLE_FORMATS:
        raise IncompatibleStateError(_incompatible(f"format {loaded[0]}"))
    state: ShardState = loaded[1]
    if written_before_namespace(data):  # its quiet players' pickles name the old modules too
        players = state.players
        for player_id, player in players.items():
            if isinstance(player, bytes):
                players[player_id] = pickle.dumps(load_pickled(player),
                                                  protocol=pickle.HIGHEST_PROTOCOL)
    return state


def _incompatible(written: str) -> str:
    return (f"recovery state of the player shards was written in {written}; this version "
            f"reads format {STATE_FORMAT}. Start the worker with an empty recovery directory "
            "(docs/operations.md, 'Upgrading')")


@dataclass
class ShardState:
    """Everything a shard remembers; picklable for recovery."""

    players: dict[str, PlayerState | bytes] = field(default_factory=dict)
    """Every player seen; a quiet one may be kept as its pickle (`PlayerShard.player`)."""
    name: str = ""
    clock_ms: int = NO_TIME
    timers: list[tuple[int, int, str]] = field(default_factory=list)
    timer_seq: int = 0
    out_seq: int = 0
    accepted: int = 0


class PlayerShard:
    """Apply events to the players of one shard; emit rows, dead letters, points and labels.

    Args:
        engine: the feature rules.
        labels: the label rules.
        allowed_lateness_ms: an event older than its player's latest event by more
            than this is dead-lettered as `late`.
        dedup_window_ms: how long (in the player's event time) an `event_id` is
            remembered to recognise duplicates.
        snapshot_interval_ms: an active player gets a feature row at least this often.
        checkpoints_ms: a quiet player is scored (trigger `inactivity`) after each of these
            spells without activity, increasing.
        out_of_rhythm: a quiet player is also scored at their own out-of-rhythm point, their
            usual gap plus their jurisdiction's spreads of their gaps, when it falls
            between the first and the last checkpoint (0: not): the policy's
            re-activation threshold, so that an offer can come at that point (the default
            policy's when None).
        shards: the total number of shards (to name this one from its players).
        scoring: emit scoring points and labels for the models (off: features only).
        state: state to resume from, or None for a fresh shard.
        session_score_bets: within a session, score at least every this many bets (0: off).
        session_score_interval_ms: within a session, score at the next bet once this long
            has passed since the last score (0: off).
    """

    def __init__(
        self,
        engine: FeatureEngine,
        labels: LabelRules,
        allowed_lateness_ms: int,
        dedup_window_ms: int,
        snapshot_interval_ms: int,
        checkpoints_ms: tuple[int, ...],
        shards: int,
        scoring: bool = True,
        state: ShardState | None = None,
        session_score_bets: int = 0,
        session_score_interval_ms: int = 0,
        out_of_rhythm: OutOfRhythm | None = None,
    ) -> None:
        self.engine = engine
        self.out_of_rhythm = out_of_rhythm if out_of_rhythm is not None else OutOfRhythm()
        self.session_score_bets = session_score_bets
        self.session_score_interval = session_score_interval_ms
        self.labels = labels
        self.lateness = allowed_lateness_ms
        self.dedup_window = max(dedup_window_ms, allowed_lateness_ms)
        self.snapshot_interval = snapshot_interval_ms
        if not 0 < len(checkpoints_ms) <= MAX_CHECKPOINTS:
            raise ValueError(f"between 1 and {MAX_CHECKPOINTS} inactivity checkpoints")
        self.checkpoints = tuple(checkpoints_ms)
        self.shards = shards
        self.scoring = scoring
        self.state = state if state is not None else ShardState()
        self._pickles = PickleCache()

    @classmethod
    def from_settings(
        cls,
        features: FeatureSettings,
        labels: LabelSettings,
        scoring: bool = True,
        state: ShardState | None = None,
        out_of_rhythm: OutOfRhythm | None = None,
    ) -> PlayerShard:
        """Build a shard from the `[features]` and `[labels]` configuration.

        `out_of_rhythm` is the policy's out-of-rhythm point (`OutOfRhythm.of_policy`), the
        default policy's when None.
        """
        return cls(
            FeatureEngine.from_settings(features),
            LabelRules(labels),
            features.allowed_lateness_s * 1000,
            features.dedup_window_s * 1000,
            features.snapshot_interval_s * 1000,
            tuple(s * 1000 for s in labels.inactivity_checkpoints_s),
            features.shards,
            scoring,
            state,
            features.session_score_bets,
            features.session_score_interval_s * 1000,
            out_of_rhythm,
        )

    # -- the engine calls these -------------------------------------------------------

    def process(self, items: list[object]) -> list[object]:
        """Handle a batch of events and clock ticks in arrival order; return what to emit, in order.

        Raises:
            TypeError: an item is neither an event nor a clock tick (a wiring mistake).
        """
        out: list[object] = []
        st = self.state
        for item in items:
            if isinstance(item, Event):
                if not st.name:
                    st.name = shard_key(item.player_id, self.shards)
                if item.ts_ms > st.clock_ms:
                    self._advance(item.ts_ms, out)
                self._event(item, out)
            elif isinstance(item, ClockTick):
                st.name = st.name or item.shard
                self._advance(item.ts_ms, out)
            else:
                raise TypeError(f"a player shard takes events and clock ticks, not {item!r}")
        if self.scoring and st.name:
            out.append(ShardProgress(st.name, st.clock_ms))
        return out

    def finish(self) -> list[object]:
        """Report totals at the end of the input; timers due later never fire."""
        out: list[object] = [ShardStats(len(self.state.players), self.state.accepted)]
        if self.scoring and self.state.name:
            out.append(ShardProgress(self.state.name, DONE))
        return out

    def snapshot(self) -> bytes:
        """Return an immutable copy of the state for recovery, tagged with `STATE_FORMAT`.

        Every player is written as its own pickle, made again only if the player was
        looked up since the last snapshot (`PickleCache`). Players quiet for `QUIET_MS`
        are kept as their pickle in memory too, until their next event or timer.
        """
        horizon = self.state.clock_ms - QUIET_MS
        players = self.state.players
        frozen = self._pickles.frozen(players)
        for player_id, player in players.items():
            if type(player) is PlayerState and player.max_ts < horizon:
                players[player_id] = frozen[player_id]
        written = replace(self.state, players=cast(dict[str, PlayerState | bytes], frozen))
        return pickle.dumps((STATE_FORMAT, written), protocol=pickle.HIGHEST_PROTOCOL)

    def player(self, player_id: str) -> PlayerState | None:
        """Return the state of `player_id` (unpickled if it was kept pickled), or None."""
        self._pickles.touch(player_id)
        players = self.state.players
        player = players.get(player_id)
        if isinstance(player, bytes):
            thawed: PlayerState = pickle.loads(player)
            players[player_id] = player = thawed
        return player

    # -- events -----------------------------------------------------------------------

    def _event(self, event: Event, out: list[object]) -> None:
        st = self.state
        self._pickles.touch(event.player_id)
        player = st.players.get(event.player_id)
        if isinstance(player, bytes):  # a quiet player kept pickled (see `snapshot`)
            player = self.player(event.player_id)
        if player is None:
            player = st.players[event.player_id] = self.engine.new_state(
                event.player_id, event.jurisdiction
            )
            player.last_snapshot_ts = event.ts_ms
        reason = self._reject_reason(player, event)
        if reason is not None:
            out.append(_dead_letter(event, reason, self._rejection_detail(player, event, reason)))
            return
        label = self.labels.outcome_label(event) if self.scoring else None
        if label is not None:
            before = self.engine.snapshot(player, max(event.ts_ms, player.max_ts))
            self._emit(self.labels.on_outcome(player, *label, before, event.ts_ms), out)
        trigger = self.engine.apply(player, event)
        st.accepted += 1
        if isinstance(event, ACTIVITY):
            self._on_activity(player, event.ts_ms, out)
        # No timer can fall due sooner than a session timeout after this event: re-arm only
        # when the player's current wake-up is later than that (or missing).
        earliest = event.ts_ms + self.engine.session_timeout_ms
        if player.wake_ms == NO_TIME or player.wake_ms > earliest:
            self._arm(player)
        if trigger is None and event.ts_ms >= player.last_snapshot_ts + self.snapshot_interval:
            trigger = "hourly"
        scored = event.event_type if event.event_type in SCORED_EVENTS else None
        if scored is None and self.scoring and isinstance(event, Bet):
            scored = self._in_session(player, event.ts_ms)
        if trigger is not None or scored is not None:
            as_of = max(event.ts_ms, player.max_ts)  # an out-of-order trigger reads the present
            self._features_at(player, as_of, trigger, event, out, scored)

    def _in_session(self, player: PlayerState, ts_ms: int) -> str | None:
        """Return why a bet is scored: `limit_reached`, `in_session`, or None (not scored)."""
        limits = player.limits and not player.flags & AT_LIMIT_SCORED
        if limits and self.engine.at_limit(player, max(ts_ms, player.max_ts)):
            player.flags |= AT_LIMIT_SCORED
            return "limit_reached"
        amounts = player.amounts
        every = self.session_score_bets
        if every and player.session_bets - amounts[m.SCORED_BETS] >= every:
            return "in_session"
        interval = self.session_score_interval
        if interval and ts_ms - amounts[m.SCORED_MS] >= interval:
            return "in_session"
        return None

    def _on_activity(self, player: PlayerState, ts_ms: int, out: list[object]) -> None:
        player.flags &= ~(CHECKPOINT_MASK | RHYTHM_POINT_DONE | COMPACTED)
        if not self.scoring:
            return
        for example in self.labels.on_activity(player, ts_ms):
            self._emit(example, out)

    def _features_at(
        self, player: PlayerState, as_of: int, trigger: str | None, event: Event | None,
        out: list[object], point_trigger: str | None = None,
    ) -> None:
        """Emit a feature row (row triggers) and a scoring point for `player` as of `as_of`.

        The scoring point is named after the event that caused it when there is one (a
        deposit that also falls due for an hourly row is scored as `deposit`).
        """
        values = self.engine.snapshot(player, as_of)
        event_id = event.event_id if event is not None else ""
        if trigger in ROW_TRIGGERS:
            player.last_snapshot_ts = as_of
            out.append(FeatureRow(player.player_id, as_of, trigger, event_id,
                                  player.jurisdiction, values))
            if trigger != "hourly":  # a session ended: drop the dedup array's spare capacity
                player.recent_ids = array("q", player.recent_ids)
        if not self.scoring:
            return
        policy_event = event if event is not None and event.event_type in POLICY_EVENTS else None
        player.amounts[m.SCORED_MS] = float(as_of)
        player.amounts[m.SCORED_BETS] = float(player.session_bets)
        if player.flags & AT_LIMIT_SCORED and not values[_AT_LIMIT]:
            player.flags &= ~AT_LIMIT_SCORED
        point_trigger = point_trigger or trigger or ""
        self._emit(ScoringPoint(player.player_id, as_of, point_trigger, event_id,
                                player.jurisdiction, values, policy_event), out)
        if isinstance(event, Withdrawal) and event.status == "requested":
            self.labels.remember_fraud_point(player, values, as_of)
        if trigger in ("session_end", "session_timeout"):
            self.labels.start_churn_point(player, values, as_of)
        elif trigger == "inactivity":
            self.labels.start_quiet_point(player, values, as_of)

    def _emit(self, item: object, out: list[object]) -> None:
        st = self.state
        st.out_seq += 1
        out.append(Stamped(st.name, st.clock_ms, st.out_seq, item))

    def _reject_reason(self, player: PlayerState, event: Event) -> str | None:
        """Return `duplicate` or `late` for an event that must not be processed."""
        h = event_hash(event.event_id)
        if seen(player.recent_ids, h):
            return "duplicate"
        if player.max_ts != NO_TIME and event.ts_ms < player.max_ts - self.lateness:
            return "late"
        cutoff = max(player.max_ts, event.ts_ms) - self.dedup_window
        remember(player.recent_ids, h, event.ts_ms, cutoff)
        return None

    def _rejection_detail(self, player: PlayerState, event: Event, reason: str) -> str:
        """Say what was rejected; for `late`, how late and against which event of the player.

        The shard's watermark is left out on purpose: live, it depends on how the inputs
        happened to interleave, and the dead-letter rows must be the same as in replay.
        """
        detail = f"{event.event_type} at {event.ts_ms}"
        if reason != "late":
            return detail
        behind = player.max_ts - event.ts_ms
        return (f"{detail}: {behind} ms behind the player's latest event at {player.max_ts}, "
                f"{behind - self.lateness} ms beyond the allowed {self.lateness} ms")

    # -- event-time timers ------------------------------------------------------------
    # Each player has at most one live entry in the shard's heap: its next wake-up, the
    # earliest of its timers (session timeout, inactivity, churn label, negatives, idle
    # compaction). Entries whose due time is no longer the player's `wake_ms` are stale.

    def _next_due(self, player: PlayerState) -> int | None:
        dues = []
        session = self.engine.session_due_ms(player)
        if session is not None:
            dues.append(session)
        active = player.last_active_ts
        if active != NO_TIME and not player.flags & COMPACTED:
            dues.append(active + IDLE_AFTER_MS)
        if self.scoring:
            checkpoint = self._checkpoint_due(player)
            if checkpoint is not None:
                dues.append(checkpoint)
            for churn in (self.labels.churn_due(player), self.labels.quiet_due(player)):
                if churn is not None:
                    dues.append(churn)
            if not self.labels.negatives_done(player):
                dues.append(self.labels.negatives_due(player))
        return min(dues) if dues else None

    def _checkpoint_due(self, player: PlayerState) -> int | None:
        """Return when the quiet player's next inactivity checkpoint falls due, or None."""
        if player.last_active_ts == NO_TIME:
            return None
        offsets = [o for o in self._next_offsets(player) if o is not None]
        return player.last_active_ts + min(offsets) if offsets else None

    def _next_offsets(self, player: PlayerState) -> tuple[int | None, int | None]:
        """Return the quiet spell at the next calendar checkpoint and at the rhythm point.

        Each is None when there is none to come. The out-of-rhythm point counts when it
        falls after the last checkpoint scored and before the last one configured, and
        is rounded up to the next millisecond and one more, so that the point's
        `quiet_spreads` is at or above the player's `out_of_rhythm` spreads whatever the
        float rounding.
        """
        done = (player.flags & CHECKPOINT_MASK) >> CHECKPOINT_SHIFT
        checkpoints = self.checkpoints
        calendar = checkpoints[done] if done < len(checkpoints) else None
        spreads = self.out_of_rhythm.spreads(player.jurisdiction)
        if not spreads or player.flags & RHYTHM_POINT_DONE:
            return calendar, None
        rhythm = int(self.engine.rhythm.out_of_rhythm_ms(player.amounts, spreads)) + 2
        after = checkpoints[done - 1] if done else checkpoints[0]
        return calendar, rhythm if after < rhythm < checkpoints[-1] else None

    def _score_checkpoint(self, player: PlayerState, due: int, out: list[object]) -> None:
        """Score the quiet player at the checkpoint due at `due`, and mark it (them) done."""
        calendar, rhythm = self._next_offsets(player)
        quiet = due - player.last_active_ts
        if quiet == calendar:
            player.flags += 1 << CHECKPOINT_SHIFT
        if quiet == rhythm:
            player.flags |= RHYTHM_POINT_DONE
        self._features_at(player, due, "inactivity", None, out)

    def _arm(self, player: PlayerState) -> None:
        """Make sure the player's earliest timer has an entry in the heap."""
        due = self._next_due(player)
        if due is None or (player.wake_ms != NO_TIME and player.wake_ms <= due):
            return
        st = self.state
        st.timer_seq += 1
        player.wake_ms = due
        heapq.heappush(st.timers, (due, st.timer_seq, player.player_id))

    def _advance(self, ts_ms: int, out: list[object]) -> None:
        """Move the shard clock forward and wake every player whose timer the watermark passed."""
        st = self.state
        if ts_ms <= st.clock_ms:
            return
        st.clock_ms = ts_ms
        watermark = ts_ms - self.lateness
        timers = st.timers
        while timers and timers[0][0] <= watermark:
            due, _, player_id = heapq.heappop(timers)
            player = self.player(player_id)
            if player is None or player.wake_ms != due:
                continue  # stale: the player's wake-up moved
            player.wake_ms = NO_TIME
            self._wake(player, watermark, out)
            self._arm(player)

    def _wake(self, player: PlayerState, watermark: int, out: list[object]) -> None:
        """Fire, in a fixed order, every timer of `player` that is due by `watermark`."""
        session = self.engine.session_due_ms(player)
        if session is not None and session <= watermark:
            self.engine.close_session(player, player.session_last)
            self._features_at(player, session, "session_timeout", None, out)
        active = player.last_active_ts
        if self.scoring:
            checkpoint = self._checkpoint_due(player)
            while checkpoint is not None and checkpoint <= watermark:
                self._score_checkpoint(player, checkpoint, out)
                checkpoint = self._checkpoint_due(player)
            churn = self.labels.churn_due(player)
            if churn is not None and churn <= watermark:
                self._emit(self.labels.on_churn_timer(player), out)
            for example in self.labels.on_quiet_timer(player, watermark):
                self._emit(example, out)
            negatives = self.labels.negatives_due(player)
            if not self.labels.negatives_done(player) and negatives <= watermark:
                features = self.engine.snapshot(player, negatives)
                for example in self.labels.on_negative_timer(player, features, negatives):
                    self._emit(example, out)
        idle = active + IDLE_AFTER_MS
        if active != NO_TIME and not player.flags & COMPACTED and idle <= watermark:
            player.flags |= COMPACTED
            compact(player, watermark)


def compact(player: PlayerState, now_ms: int) -> None:
    """Reduce an idle player's state to long-horizon aggregates and facts."""
    player.panes.fold(now_ms)
    player.recent_ids = array("q")
    player.tracked_ids = None
    player.fraud_point = None


def _dead_letter(event: Event, reason: str, detail: str) -> DeadLetter:
    return DeadLetter(
        reason=reason,
        field="event_id" if reason == "duplicate" else "ts",
        event_id=event.event_id,
        player_id=event.player_id,
        source=event.source,
        position=event.position,
        excerpt=event.raw[:200].decode("utf-8", "replace"),
        detail=detail,
    )
