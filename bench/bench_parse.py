"""Benchmark `EventParser.parse` on a realistic mix of contract-v1 messages.

Generates messages shaped like production traffic (mostly bets, then sessions and
payments, a sprinkle of everything else; timestamps as `...Z`, `+hh:mm` strings and
epoch milliseconds; currencies from the default rate table), then parses them all
with the production clock and prints valid events per second on one core.

Run: `.venv/bin/python bench/bench_parse.py [--messages 200000] [--seed 7]`
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

from pitboss.config.settings import load_settings
from pitboss.operators.contract import EventParser, wall_clock_ms
from pitboss.operators.events import DeadLetter

MIX = {
    "bet": 70,
    "bet_settled": 3,
    "deposit": 6,
    "withdrawal": 2,
    "bonus_claim": 2,
    "session_start": 6,
    "session_end": 6,
    "limit_set": 1,
    "consent": 1,
    "self_exclusion": 1,
    "chargeback": 1,
    "rg_assessment": 1,
}
GAME_TYPES = ["slot", "slot", "slot", "live_casino", "table", "sports", "crash", "poker"]
PLUS_TWO = timezone(timedelta(hours=2))


def _timestamp(rng: random.Random, now: datetime) -> str | int:
    moment = now - timedelta(milliseconds=rng.randrange(3_600_000))
    style = rng.random()
    if style < 0.5:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if style < 0.7:
        return moment.astimezone(PLUS_TWO).isoformat(timespec="milliseconds")
    return int(moment.timestamp() * 1000)


def _specific(event_type: str, rng: random.Random, currencies: list[str]) -> dict[str, Any]:
    money = round(rng.lognormvariate(1.5, 1.2), 2) + 0.1
    currency = rng.choice(currencies)
    if event_type == "bet":
        settled = rng.random() < 0.9
        return {
            "stake": money,
            "currency": currency,
            "game_id": f"game-{rng.randrange(500)}",
            "game_type": rng.choice(GAME_TYPES),
            "session_id": f"s-{rng.randrange(10**6)}",
            "payout": round(money * rng.choice([0, 0, 0.5, 2, 10]), 2) if settled else None,
            "bet_id": f"b-{rng.randrange(10**9)}",
            "bonus_stake": 0.0 if rng.random() < 0.8 else round(money / 2, 2),
        }
    other: dict[str, dict[str, Any]] = {
        "bet_settled": {"bet_id": f"b-{rng.randrange(10**9)}", "payout": money},
        "deposit": {
            "amount": money * 10,
            "currency": currency,
            "method": "card",
            "status": "approved",
            "instrument_id": "i-1",
        },
        "withdrawal": {"amount": money * 10, "currency": currency, "status": "requested"},
        "bonus_claim": {"bonus_id": "welcome", "amount": 10.0, "bonus_type": "free_spins"},
        "session_start": {"session_id": "s-1", "device_id": "d-1", "ip_hash": "ab12" * 16},
        "session_end": {"session_id": "s-1"},
        "limit_set": {"limit_type": "loss", "period": "week", "amount": 200, "currency": currency},
        "consent": {"marketing": rng.random() < 0.5},
        "self_exclusion": {"until": None},
        "chargeback": {"amount": money * 10, "currency": currency, "reference": "e-1"},
        "rg_assessment": {"outcome": "no_concern"},
    }
    return other[event_type]


def generate(count: int, seed: int, currencies: list[str]) -> list[bytes]:
    """Build `count` encoded messages, about 1 in 200 deliberately broken."""
    rng = random.Random(seed)
    now = datetime.now(UTC) - timedelta(minutes=1)
    types, weights = zip(*MIX.items(), strict=True)
    messages = []
    for n, event_type in enumerate(rng.choices(types, weights, k=count)):
        obj = {
            "event_id": f"e-{seed}-{n}",
            "event_type": event_type,
            "player_id": f"player-{rng.randrange(50_000)}",
            "ts": _timestamp(rng, now),
            "jurisdiction": rng.choice(["UK", "MT", "US-NJ", "SE"]),
            "channel": rng.choice(["web", "mobile"]),
            **_specific(event_type, rng, currencies),
        }
        if rng.random() < 0.005:
            obj["ts"] = "2026-11-20T12:00:00"  # no offset: dead-lettered
        messages.append(orjson.dumps(obj))
    return messages


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--messages", type=int, default=200_000)
    cli.add_argument("--seed", type=int, default=7)
    args = cli.parse_args()
    contract = load_settings().contract
    messages = generate(args.messages, args.seed, sorted(contract.rates))
    parser = EventParser(contract, now_ms=wall_clock_ms)
    parse = parser.parse

    valid = 0
    start = time.perf_counter()
    for n, raw in enumerate(messages):
        # Results are dropped as they go, like a streaming step: keeping 200k
        # objects alive would measure the garbage collector, not the parser.
        if type(parse(raw, "bench", n)) is not DeadLetter:
            valid += 1
    elapsed = time.perf_counter() - start

    start = time.perf_counter()
    for raw in messages:
        orjson.loads(raw)
    decode_only = time.perf_counter() - start

    size = sum(map(len, messages)) / len(messages)
    print(f"messages:            {len(messages):,} (mean {size:.0f} bytes)")
    print(f"valid / dead-letter: {valid:,} / {len(messages) - valid:,}")
    print(f"parse:               {elapsed:.3f} s, {elapsed / len(messages) * 1e6:.2f} us/message")
    print(f"valid events/s:      {valid / elapsed:,.0f} (one core)")
    print(f"orjson.loads alone:  {decode_only / len(messages) * 1e6:.2f} us/message")


if __name__ == "__main__":
    main()
