"""One shard of per-player state: deduplication, lateness, event-time timers, feature rows.

`PlayerShard` is the engine-agnostic heart of the feature dataflow. The engine
hands it batches of items for the shard in arrival order (events, clock ticks,
and pass-through records such as dead letters) and gets back what to emit.

Event time only: the shard's clock is the latest event time it has seen (from
its own events or from `ClockTick`s), and timers fire once that clock minus
`allowed_lateness` passes their due time, so out-of-order events within the
allowed lateness are still counted in their proper place. When the input ends,
time stops: timers due later never fire.

Example:
    >>> from config.settings import load_settings
    >>> from operators.events import SessionStart, SessionEnd
    >>> shard = PlayerShard.from_settings(load_settings().features)
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
from dataclasses import dataclass, field

from config.settings import FeatureSettings
from operators.events import DeadLetter, Event
from operators.features import FeatureEngine, event_hash
from operators.outputs import ClockTick, FeatureRow, ShardStats
from operators.panes import DAY_MS, LEVELS
from operators.player_state import NO_TIME, PlayerState

SESSION_TIMER = "session"
IDLE_TIMER = "idle"
IDLE_AFTER_MS = LEVELS[-1][0] * LEVELS[-1][1] + DAY_MS  # longest window plus a day


@dataclass
class ShardState:
    """Everything a shard remembers; picklable for recovery."""

    players: dict[str, PlayerState] = field(default_factory=dict)
    clock_ms: int = NO_TIME
    timers: list[tuple[int, int, str, str]] = field(default_factory=list)
    timer_seq: int = 0
    accepted: int = 0


class PlayerShard:
    """Apply events to the players of one shard and emit feature rows and dead letters.

    Args:
        engine: the feature rules.
        allowed_lateness_ms: an event older than its player's latest event by more
            than this is dead-lettered as `late`.
        dedup_window_ms: how long (in the player's event time) an `event_id` is
            remembered to recognise duplicates.
        snapshot_interval_ms: an active player gets a feature row at least this often.
        state: state to resume from, or None for a fresh shard.
    """

    def __init__(
        self,
        engine: FeatureEngine,
        allowed_lateness_ms: int,
        dedup_window_ms: int,
        snapshot_interval_ms: int,
        state: ShardState | None = None,
    ) -> None:
        self.engine = engine
        self.lateness = allowed_lateness_ms
        self.dedup_window = max(dedup_window_ms, allowed_lateness_ms)
        self.snapshot_interval = snapshot_interval_ms
        self.state = state if state is not None else ShardState()

    @classmethod
    def from_settings(
        cls, settings: FeatureSettings, state: ShardState | None = None
    ) -> PlayerShard:
        """Build a shard from the `[features]` configuration."""
        return cls(
            FeatureEngine.from_settings(settings),
            settings.allowed_lateness_s * 1000,
            settings.dedup_window_s * 1000,
            settings.snapshot_interval_s * 1000,
            state,
        )

    # -- the engine calls these -------------------------------------------------------

    def process(self, items: list[object]) -> list[object]:
        """Handle a batch of items in arrival order; return what to emit, in order."""
        out: list[object] = []
        for item in items:
            if isinstance(item, Event):
                self._advance(item.ts_ms, out)
                self._event(item, out)
            elif isinstance(item, ClockTick):
                self._advance(item.ts_ms, out)
            else:
                out.append(item)
        return out

    def finish(self) -> list[object]:
        """The input ended: report totals; timers due later than the last event never fire."""
        return [ShardStats(len(self.state.players), self.state.accepted)]

    def snapshot_bytes(self) -> bytes:
        """Return an immutable copy of the state for recovery."""
        return pickle.dumps(self.state, protocol=pickle.HIGHEST_PROTOCOL)

    # -- events -----------------------------------------------------------------------

    def _event(self, event: Event, out: list[object]) -> None:
        st = self.state
        player = st.players.get(event.player_id)
        if player is None:
            player = st.players[event.player_id] = self.engine.new_state(
                event.player_id, event.jurisdiction
            )
            player.last_snapshot_ts = event.ts_ms
            self._schedule(event.ts_ms + IDLE_AFTER_MS, event.player_id, IDLE_TIMER)
        reason = self._reject_reason(player, event)
        if reason is not None:
            out.append(_dead_letter(event, reason))
            return
        was_open = player.session_id is not None
        trigger = self.engine.apply(player, event)
        st.accepted += 1
        due = self.engine.session_due_ms(player)
        if due is not None and (not was_open or trigger is not None):
            self._schedule(due, player.player_id, SESSION_TIMER)
        if trigger is None and event.ts_ms >= player.last_snapshot_ts + self.snapshot_interval:
            trigger = "hourly"
        if trigger is not None:
            as_of = max(event.ts_ms, player.max_ts)  # an out-of-order trigger reads the present
            out.append(self._row(player, as_of, trigger, event.event_id))

    def _reject_reason(self, player: PlayerState, event: Event) -> str | None:
        """Return `duplicate` or `late` for an event that must not be processed."""
        h = event_hash(event.event_id)
        if h in player.id_hashes:
            return "duplicate"
        if player.max_ts != NO_TIME and event.ts_ms < player.max_ts - self.lateness:
            return "late"
        hashes, times = player.id_hashes, player.id_times
        cutoff = max(player.max_ts, event.ts_ms) - self.dedup_window
        drop = 0
        while drop < len(times) and times[drop] < cutoff:
            drop += 1
        if drop:
            del hashes[:drop]
            del times[:drop]
        hashes.append(h)
        times.append(event.ts_ms)
        return None

    def _row(self, player: PlayerState, as_of: int, trigger: str, event_id: str) -> FeatureRow:
        player.last_snapshot_ts = as_of
        values = self.engine.snapshot(player, as_of)
        return FeatureRow(player.player_id, as_of, trigger, event_id, player.jurisdiction, values)

    # -- event-time timers ------------------------------------------------------------

    def _schedule(self, due_ms: int, player_id: str, kind: str) -> None:
        st = self.state
        st.timer_seq += 1
        heapq.heappush(st.timers, (due_ms, st.timer_seq, player_id, kind))

    def _advance(self, ts_ms: int, out: list[object]) -> None:
        """Move the shard clock forward and fire every timer the watermark has passed."""
        st = self.state
        if ts_ms <= st.clock_ms:
            return
        st.clock_ms = ts_ms
        watermark = ts_ms - self.lateness
        timers = st.timers
        while timers and timers[0][0] <= watermark:
            due, _, player_id, kind = heapq.heappop(timers)
            player = st.players.get(player_id)
            if player is not None:
                self._fire(player, due, kind, watermark, out)

    def _fire(
        self, player: PlayerState, due: int, kind: str, watermark: int, out: list[object]
    ) -> None:
        if kind == SESSION_TIMER:
            actual = self.engine.session_due_ms(player)
            if actual is None:
                return
            if actual > watermark:
                self._schedule(actual, player.player_id, SESSION_TIMER)
                return
            self.engine.close_session(player, player.session_last)
            out.append(self._row(player, actual, "session_timeout", ""))
        elif kind == IDLE_TIMER:
            actual = player.max_ts + IDLE_AFTER_MS
            if actual > watermark:
                self._schedule(actual, player.player_id, IDLE_TIMER)
                return
            compact(player, watermark)


def compact(player: PlayerState, now_ms: int) -> None:
    """Reduce an idle player's state to long-horizon aggregates and facts."""
    player.panes.fold(now_ms)
    del player.id_hashes[:]
    del player.id_times[:]
    del player.instruments[:]
    del player.instrument_seen[:]
    del player.devices[:]
    del player.device_seen[:]


def _dead_letter(event: Event, reason: str) -> DeadLetter:
    return DeadLetter(
        reason=reason,
        field="event_id" if reason == "duplicate" else "ts",
        event_id=event.event_id,
        player_id=event.player_id,
        source=event.source,
        position=event.position,
        excerpt=event.raw[:200].decode("utf-8", "replace"),
        detail=f"{event.event_type} at {event.ts_ms}",
    )
