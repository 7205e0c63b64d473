"""A crafted event log of one harmed player whose risk reaches the `rg_review` rung.

Short simulations raise no `rg_review`: the top of the ladder needs several markers of
harm at full strength at once (`config/policy.toml`, `rg_review = 0.9` on the risk
rule's noisy-OR over the marker table), which a simulated player reaches only after
weeks. The console's live test needs one deterministically, so this module writes the
contract events of a player who, after two ordinary days (short sessions, small
stakes, one deposit each), plays one long night: six hours in one session, stakes
swinging between the usual and twelve times it after every loss, deposit after
deposit with declined ones between, and a withdrawal reversed to keep playing. That
meets loss chasing, stake escalation, long sessions, deposit frequency, declined
deposits and cancelled withdrawals at full strength: risk at least
1 - 0.6 x 0.6 x 0.65 x 0.7 x 0.7 x 0.7 = 0.92, whatever the learned model says (the
rule is the risk score's floor).

Example:
    >>> events = harmed_player_events("rg-1", end_ms=1_767_571_200_000 + 3 * 86_400_000)
    >>> sorted({e["event_type"] for e in events})[:3]
    ['bet', 'deposit', 'session_end']
    >>> all(a["ts"] <= b["ts"] for a, b in zip(events, events[1:]))
    True

"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
USUAL_STAKE = 5.0
CHASED_STAKE = 60.0


def harmed_player_events(player_id: str, end_ms: int, jurisdiction: str = "MT"
                         ) -> list[dict[str, Any]]:
    """Return the player's events, in event-time order, the last one at or before `end_ms`.

    Args:
        player_id: the player's id.
        end_ms: the end of the window (epoch ms); the long night ends an hour before it.
        jurisdiction: the player's jurisdiction (the default uses EUR, the base currency).

    Returns:
        Contract v1 events (dicts with `ts` in epoch ms), oldest first.

    """
    writer = _Events(player_id, jurisdiction)
    for day in (2, 1):  # two ordinary days: three short sessions each
        for hour in (10, 15, 20):
            start = end_ms - day * DAY_MS - 8 * HOUR_MS + (hour - 12) * HOUR_MS
            writer.ordinary_session(start)
    writer.long_night(end_ms - 7 * HOUR_MS, hours=6)
    return sorted(writer.events, key=lambda e: (e["ts"], e["event_id"]))


def merged(messages: Iterable[bytes], events: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """Merge crafted events into a simulated log by event time (the log is nearly in order)."""
    crafted = [(e["ts"], orjson.dumps(e)) for e in events]
    simulated = ((_ts(m), m) for m in messages)
    for _, message in heapq.merge(simulated, crafted, key=lambda pair: pair[0]):
        yield message


def _ts(message: bytes) -> int:
    """Return a message's event time in ms, or 0 for one without a readable time."""
    from pitboss.operators.event_time import rfc3339_ms

    try:
        value = orjson.loads(message).get("ts")
    except (orjson.JSONDecodeError, AttributeError):
        return 0
    if isinstance(value, int):
        return value
    return (rfc3339_ms(value) or 0) if isinstance(value, str) else 0


class _Events:
    """Builds one player's events with ids numbered in order."""

    def __init__(self, player_id: str, jurisdiction: str) -> None:
        self.player_id = player_id
        self.jurisdiction = jurisdiction
        self.events: list[dict[str, Any]] = []
        self.sessions = 0

    def add(self, event_type: str, ts: int, **fields: Any) -> None:
        self.events.append({
            "event_id": f"{self.player_id}-{len(self.events)}", "event_type": event_type,
            "player_id": self.player_id, "ts": ts, "jurisdiction": self.jurisdiction,
            "channel": "web", **fields})

    def money(self, event_type: str, ts: int, amount: float, status: str, **fields: Any) -> None:
        self.add(event_type, ts, amount=amount, currency="EUR", status=status, **fields)

    def bet(self, ts: int, session: str, stake: float, payout: float) -> None:
        self.add("bet", ts, stake=stake, currency="EUR", game_id="slot-1", game_type="slot",
                 session_id=session, payout=payout)

    def session(self, start: int, minutes: int) -> str:
        self.sessions += 1
        session = f"{self.player_id}-s{self.sessions}"
        self.add("session_start", start, session_id=session, device_id="d-1")
        self.add("session_end", start + minutes * MINUTE_MS, session_id=session)
        return session

    def ordinary_session(self, start: int) -> None:
        """Twenty minutes, one deposit, ten small bets that win about what they stake."""
        session = self.session(start, 20)
        self.money("deposit", start + MINUTE_MS, 50.0, "approved", method="card",
                   instrument_id="card-1", device_id="d-1")
        for i in range(10):
            payout = 2 * USUAL_STAKE if i % 2 else 0.0
            self.bet(start + (2 + i) * MINUTE_MS, session, USUAL_STAKE, payout)

    def long_night(self, start: int, hours: int) -> None:
        """One session of `hours`: chasing losses, deposits, declines, a reversed withdrawal."""
        session = self.session(start, hours * 60)
        for i in range(6):  # six approved deposits and four declined ones in the hour
            at = start + (2 + 8 * i) * MINUTE_MS
            self.money("deposit", at, 100.0, "approved", method="card",
                       instrument_id="card-1", device_id="d-1")
            if i < 4:
                self.money("deposit", at + 4 * MINUTE_MS, 100.0, "declined", method="card",
                           instrument_id="card-1", device_id="d-1")
        self.money("withdrawal", start + 60 * MINUTE_MS, 80.0, "requested")
        self.money("withdrawal", start + 70 * MINUTE_MS, 80.0, "cancelled")
        for i in range(hours * 12):  # a bet every five minutes, every one lost
            stake = CHASED_STAKE if i % 2 else USUAL_STAKE
            self.bet(start + (1 + 5 * i) * MINUTE_MS, session, stake, 0.0)
