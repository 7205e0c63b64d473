"""The usual bet decoded straight into typed fields: the parser's fast path, never its judge.

Bets are nearly all the traffic, and most of the parser's time on them went to
building a dict and checking it field by field in Python. `BetDecoder` has msgspec
decode the message into a struct whose types and lengths are checked in C, then
checks what is left (currency, amount limits, the event-time rules) the way
`pitboss.operators.contract` does, and builds the same `Bet`.

It only ever accepts. A message it cannot vouch for (any other event type, a field
it does not know, a wrong type, a value out of range, a timestamp near the wall
clock) gets `None`, and `EventParser` parses it the usual way, which alone decides
rejections and their details. So the fast path changes how fast a bet is read, never
what is read: a property test checks that for any message it accepts, the parser's
own path builds an equal `Bet`.

Example:
    >>> decoder = BetDecoder({"EUR": 1.0, "GBP": 1.17}, max_amount=1e6,
    ...                      default_jurisdiction="UK", read_event_time=lambda s: 0)
    >>> bet = decoder.decode(b'{"event_id":"e1","event_type":"bet","player_id":"p1",'
    ...     b'"ts":1795000000000,"stake":2.0,"currency":"GBP","game_id":"g7",'
    ...     b'"game_type":"slot","payout":0.0}', horizon_ms=2**62)
    >>> bet.stake_base, bet.jurisdiction, bet.bet_id
    (2.34, 'UK', None)
    >>> decoder.decode(b'{"event_type":"deposit"}', horizon_ms=2**62) is None
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Literal

import msgspec

from pitboss.operators.events import (
    CHANNELS,
    GAME_TYPES,
    MAX_EVENT_ID_CHARS,
    MAX_JURISDICTION_CHARS,
    MAX_PLAYER_ID_CHARS,
    MAX_TEXT_CHARS,
    MAX_TS_MS,
    MIN_TS_MS,
    Bet,
)

_EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_EVENT_ID_CHARS)]
_PlayerId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PLAYER_ID_CHARS)]
_Jurisdiction = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_JURISDICTION_CHARS)]
_Text = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT_CHARS)]

BET_MARK = b'"bet"'
"""Bytes every bet holds, however it is spaced: most other messages skip the fast path at once."""


class _BetMessage(msgspec.Struct, forbid_unknown_fields=True):
    """Every field a bet may carry, typed; anything else sends the message the usual way."""

    event_id: _EventId
    event_type: Literal["bet"]
    player_id: _PlayerId
    ts: str | int
    stake: float
    currency: str
    game_id: _Text
    game_type: str
    jurisdiction: _Jurisdiction | None = None
    channel: str | None = None
    session_id: _Text | None = None
    payout: float | None = None
    bonus_stake: float | None = None
    bet_id: _Text | None = None


class BetDecoder:
    """Decode well-formed bets into `Bet`s; say `None` to everything else.

    Args:
        rates: currency code to rate into the base currency (the base currency at 1.0).
        max_amount: the largest amount, in the base currency, a money field may hold.
        default_jurisdiction: the jurisdiction of a bet that names none.
        read_event_time: the parser's RFC 3339 reader (epoch ms, or None when invalid).
    """

    def __init__(
        self,
        rates: Mapping[str, float],
        max_amount: float,
        default_jurisdiction: str,
        read_event_time: Callable[[str], int | None],
    ) -> None:
        self._rates = dict(rates)
        self._max_amount = max_amount
        self._jurisdiction = default_jurisdiction
        self._read_event_time = read_event_time
        self._decode = msgspec.json.Decoder(_BetMessage).decode

    def decode(self, raw: bytes, horizon_ms: int) -> Bet | None:
        """Return the bet in `raw`, or None when the parser's own path must read it.

        Args:
            raw: the message value.
            horizon_ms: event times above this need the wall clock (the parser's
                future-timestamp rule), so such bets are left to the parser.
        """
        try:
            m = self._decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):  # ValidationError is a DecodeError
            return None
        ts = m.ts
        ts_ms = self._read_event_time(ts) if isinstance(ts, str) else ts
        if ts_ms is None or not MIN_TS_MS <= ts_ms <= MAX_TS_MS:
            return None
        stake, rate = m.stake, self._rates.get(m.currency)
        if ts_ms > horizon_ms or rate is None or not stake > 0.0:
            return None
        channel, payout, bonus_stake = m.channel, m.payout, m.bonus_stake
        if (channel is not None and channel not in CHANNELS) or m.game_type not in GAME_TYPES:
            return None
        stake_base = stake * rate
        if stake_base > self._max_amount:
            return None
        payout_base = None
        if payout is not None:
            if not payout >= 0.0:
                return None
            payout_base = payout * rate
            if payout_base > self._max_amount:
                return None
        elif m.bet_id is None:
            return None
        bonus_stake_base = 0.0
        if bonus_stake is not None:
            if not 0.0 <= bonus_stake <= stake:
                return None
            bonus_stake_base = bonus_stake * rate
        jurisdiction = m.jurisdiction
        return Bet(
            m.event_id,
            "bet",
            m.player_id,
            ts_ms,
            self._jurisdiction if jurisdiction is None else jurisdiction,
            channel,
            stake,
            m.currency,
            stake_base,
            m.game_id,
            m.game_type,
            m.session_id,
            payout_base,
            bonus_stake_base,
            m.bet_id,
        )
