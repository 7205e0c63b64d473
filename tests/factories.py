"""Factories for validated events, so tests say only what matters to them."""

from __future__ import annotations

import itertools
from typing import Any

from pitboss.operators.events import (
    Bet,
    BetSettled,
    BonusClaim,
    Consent,
    Deposit,
    LimitSet,
    SelfExclusion,
    SessionEnd,
    SessionStart,
    Withdrawal,
)

T0 = 1_767_268_800_000  # 2026-01-01T12:00:00Z, midday in every configured zone but the US
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_ids = itertools.count()


def _common(kind: str, player: str, ts: int, event_id: str | None, jurisdiction: str) -> dict:
    return {
        "event_id": event_id or f"{kind}-{next(_ids)}",
        "event_type": kind,
        "player_id": player,
        "ts_ms": ts,
        "jurisdiction": jurisdiction,
        "channel": None,
    }


def bet(player: str = "p1", ts: int = T0, stake: float = 10.0, payout: float | None = 0.0,
        game_type: str = "slot", event_id: str | None = None, jurisdiction: str = "UK",
        bonus_stake: float = 0.0, session_id: str | None = None, **kw: Any) -> Bet:
    return Bet(**_common("bet", player, ts, event_id, jurisdiction), stake=stake, currency="EUR",
               stake_base=stake, game_id="g1", game_type=game_type, session_id=session_id,
               payout_base=payout, bonus_stake_base=bonus_stake,
               bet_id=kw.get("bet_id"))


def settled(
    player: str = "p1", ts: int = T0, bet_id: str = "b1", payout: float = 0.0
) -> BetSettled:
    return BetSettled(**_common("bet_settled", player, ts, None, "UK"), bet_id=bet_id,
                      payout=payout, currency="EUR", payout_base=payout)


def deposit(player: str = "p1", ts: int = T0, amount: float = 50.0, status: str = "approved",
            instrument: str | None = "card-1", device: str | None = None,
            event_id: str | None = None) -> Deposit:
    return Deposit(**_common("deposit", player, ts, event_id, "UK"), amount=amount,
                   currency="EUR", amount_base=amount, method="card", status=status,
                   instrument_id=instrument, device_id=device)


def withdrawal(player: str = "p1", ts: int = T0, amount: float = 20.0,
               status: str = "requested") -> Withdrawal:
    return Withdrawal(**_common("withdrawal", player, ts, None, "UK"), amount=amount,
                      currency="EUR", amount_base=amount, status=status)


def bonus(player: str = "p1", ts: int = T0, amount: float = 10.0) -> BonusClaim:
    return BonusClaim(**_common("bonus_claim", player, ts, None, "UK"), bonus_id="b",
                      amount=amount, amount_base=amount, bonus_type="deposit_match")


def session_start(player: str = "p1", ts: int = T0, session: str = "s1",
                  device: str | None = None, event_id: str | None = None) -> SessionStart:
    return SessionStart(**_common("session_start", player, ts, event_id, "UK"),
                        session_id=session, device_id=device, ip_hash=None)


def session_end(player: str = "p1", ts: int = T0, session: str = "s1",
                event_id: str | None = None) -> SessionEnd:
    return SessionEnd(**_common("session_end", player, ts, event_id, "UK"), session_id=session)


def limit(player: str = "p1", ts: int = T0, limit_type: str = "deposit", period: str = "day",
          amount: float = 100.0) -> LimitSet:
    return LimitSet(**_common("limit_set", player, ts, None, "UK"), limit_type=limit_type,
                    period=period, amount=amount)


def exclusion(player: str = "p1", ts: int = T0, until: int | None = None) -> SelfExclusion:
    return SelfExclusion(**_common("self_exclusion", player, ts, None, "UK"), until_ms=until)


def consent(player: str = "p1", ts: int = T0, marketing: bool = True) -> Consent:
    return Consent(**_common("consent", player, ts, None, "UK"), marketing=marketing)
