"""The typed bet path reads exactly what the parser's dict path reads, or leaves the message."""

from __future__ import annotations

import json
from dataclasses import astuple

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pitboss.config.settings import ContractSettings
from pitboss.operators.bet_decoder import BET_MARK
from pitboss.operators.contract import EventParser
from pitboss.operators.events import Bet, DeadLetter, Event

NOW_MS = 1_795_000_000_000
CONTRACT = ContractSettings(rates={"EUR": 1.0, "GBP": 1.17, "SEK": 0.087}, max_amount=50_000.0)
TYPED = EventParser(CONTRACT, lambda: NOW_MS)
DICT_ONLY = EventParser(CONTRACT, lambda: NOW_MS, typed_bets=False)

GOOD = {
    "event_id": "e-1", "event_type": "bet", "player_id": "p-1",
    "ts": "2026-11-18T08:00:00.123Z", "jurisdiction": "MT", "channel": "web",
    "stake": 2.5, "currency": "GBP", "game_id": "slot-7", "game_type": "slot",
    "session_id": "s-1", "payout": 0.0, "bonus_stake": 1.0, "bet_id": "b-1",
}

_numbers = st.one_of(
    st.sampled_from([
        "0", "-0", "0.0", "-0.0", "-1", "1", "2", "2.5", "2.6", "3", "1e-300", "0.1e-400",
        "1e400", "50000", "50000.0", "50000.1", "42735.05", "42735.1", "1e6", "01", "+1",
        ".5", "1.", "NaN", "true", "1795000000000", "1795000000000.0", "-62135596800000",
        "-62135596800001", "253402300799999", "253402300800000", "18446744073709551616",
    ]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(2**70), 2**70).map(str),
    st.from_regex(r"\A-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?\Z"),
)
_strings = st.one_of(
    st.sampled_from([
        "", "x", "x" * 16, "x" * 17, "x" * 64, "x" * 65, "x" * 128, "x" * 129, "x" * 256,
        "x" * 257, "\u00e9" * 64, "\u00e9" * 65, "\U0001f600" * 16, "\U0001f600" * 17,
        "bet", "deposit", "GBP", "SEK", "XTS", "gbp", "slot", "poker", "Slot", "web",
        "retail", "fax", "2026-11-18T08:00:00Z", "2026-11-18T09:00:00+01:00",
        "2026-11-18 08:00:00.5z", "2026-11-18T08:00:00", "2030-01-01T00:00:00Z",
    ]),
    st.text(max_size=70),
).map(lambda text: json.dumps(text, ensure_ascii=False))
_literals = st.one_of(_numbers, _strings, st.sampled_from(["null", "true", "{}", '[1]']))
_keys = st.sampled_from([*GOOD, "odds", "Stake", ""])


def _text_edges(limit: int) -> list[str]:
    return [json.dumps(text) for text in ("", "x" * limit, "x" * (limit + 1), "null")]


# Per field, the values at the edges of what the contract accepts (stake is 2.5 GBP).
EDGES = {
    "event_id": _text_edges(128), "player_id": _text_edges(64), "jurisdiction": _text_edges(16),
    "game_id": _text_edges(256), "session_id": _text_edges(256), "bet_id": _text_edges(256),
    "stake": ["0", "-0.0", "1e-300", "2", "42735.04", "42735.05", "42735.1", "null", '"2"'],
    "payout": ["0", "-0.0", "-1e-300", "42735.04", "42735.1", "null", '"1"'],
    "bonus_stake": ["0", "-0.0", "2.5", "2.5000000000000004", "3", "null", "-1"],
    "currency": ['"EUR"', '"SEK"', '"XTS"', '"gbp"', "null", "1"],
    "game_type": ['"poker"', '"other"', '"Slot"', '""', "null"],
    "channel": ['"retail"', '"mobile"', '"fax"', "null", '""'],
    "event_type": ['"bet"', '"bet_settled"', '"BET"', "null"],
    "ts": ["1795000000000", "1795000000000.0", "-62135596800000", "-62135596800001",
           "253402300799999", "253402300800000", '"2026-11-18T08:00:00"', '"2030-01-01T00:00:00Z"',
           '"2026-11-18 09:00:00.5+01:00"', "null"],
}


@st.composite
def _field(draw: st.DrawFn) -> tuple[str, str]:
    """Draw a key, and a value at its edges or any literal at all."""
    key = draw(_keys)
    return key, draw(st.one_of(st.sampled_from(EDGES.get(key, ["null"])), _literals))


@st.composite
def bet_messages(draw: st.DrawFn) -> bytes:
    """Draw a bet as producers write it, a field or two dropped, replaced, repeated or added."""
    fields = [(key, json.dumps(value)) for key, value in GOOD.items()]
    for _ in range(draw(st.integers(0, 2))):  # drop a field
        del fields[draw(st.integers(0, len(fields) - 1))]
    for _ in range(draw(st.integers(0, 2))):  # replace or add one (a repeat when it exists)
        key, literal = draw(_field())
        places = [i for i, (name, _) in enumerate(fields) if name == key]
        replace = draw(st.booleans())
        if places and replace:
            fields[places[0]] = (key, literal)
        else:
            fields.insert(draw(st.integers(0, len(fields))), (key, literal))
    body = ",".join(f"{json.dumps(key)}:{literal}" for key, literal in fields)
    return ("{" + body + "}").encode("utf-8", "surrogatepass")


def _compact(message: dict[str, object]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


def _same(a: Event | DeadLetter, b: Event | DeadLetter) -> bool:
    """Equal, and equal in repr too (so -0.0 and 0.0 differ)."""
    return type(a) is type(b) and repr(astuple(a)) == repr(astuple(b))


@settings(max_examples=3000, deadline=None)
@given(bet_messages())
@example(_compact(GOOD))
@example(_compact({**GOOD, "stake": 2, "payout": None}))
@example(_compact({**GOOD, "ts": NOW_MS + 10**9}))
def test_typed_bets_parse_exactly_as_the_dict_path(raw: bytes) -> None:
    assert _same(TYPED.parse(raw, "bets/0", 7), DICT_ONLY.parse(raw, "bets/0", 7))


@pytest.mark.parametrize(("key", "literal"), [(k, v) for k, vs in EDGES.items() for v in vs])
def test_each_edge_of_each_field_parses_as_the_dict_path_does(key: str, literal: str) -> None:
    fields = {k: json.dumps(v) for k, v in GOOD.items()} | {key: literal}
    raw = ("{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}").encode()
    DICT_ONLY.parse(raw, "bets/0", 6)  # both parsers have read the wall clock once
    TYPED.parse(raw, "bets/0", 6)

    assert _same(TYPED.parse(raw, "bets/0", 7), DICT_ONLY.parse(raw, "bets/0", 7))


@pytest.mark.parametrize("raw", [_compact(GOOD), json.dumps(GOOD, indent=1).encode()])
def test_the_usual_bet_takes_the_typed_path_however_it_is_spaced(raw: bytes) -> None:
    decoded = TYPED._decode_bet
    assert decoded is not None and BET_MARK in raw
    bet = decoded(raw, 2**62)

    assert isinstance(bet, Bet) and bet.stake_base == 2.5 * 1.17 and bet.jurisdiction == "MT"


def test_what_the_typed_path_cannot_vouch_for_goes_the_dict_way() -> None:
    decoded = TYPED._decode_bet
    assert decoded is not None
    assert decoded(_compact({**GOOD, "odds": 2.0}), 2**62) is None
    assert decoded(_compact({**GOOD, "stake": -1}), 2**62) is None
    # Near the wall clock the future-timestamp rule needs the clock: the parser reads it.
    assert decoded(_compact(GOOD), horizon_ms=0) is None


def test_a_bet_too_large_is_refused_before_any_path_reads_it() -> None:
    raw = _compact({**GOOD, "game_id": "g" * 200})
    small = EventParser(ContractSettings(max_message_bytes=128), lambda: NOW_MS)

    letter = small.parse(raw, "bets/0", 1)

    assert isinstance(letter, DeadLetter) and letter.reason == "too_large"
