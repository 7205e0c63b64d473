"""The event-order key: read as the contract reads time and player, never raising.

The key decides the order in which live and replay workers process events, so it
must read `ts` and `player_id` exactly as the contract parser does (for every event
the parser accepts), and it must give any input, however broken, either a valid key
or `UNKEYED`.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pitboss.config.settings import load_settings
from pitboss.operators.contract import EventParser, parse_timestamp
from pitboss.operators.event_order import TYPE_RANK, UNKEYED, OrderKey, OrderKeyReader
from pitboss.operators.events import EVENT_CLASSES, MAX_TS_MS, MIN_TS_MS, DeadLetter, Event
from pitboss.replay.simulator.simulate import DEFAULT_START_MS, simulate

DAY_MS = 86_400_000
NOW_MS = DEFAULT_START_MS + 30 * DAY_MS
"""The parser's wall clock: after every simulated event, so none is in the future."""
UNKNOWN_RANK = len(EVENT_CLASSES)


def _message(**fields: Any) -> bytes:
    return _dumps(fields)


def _dumps(value: Any) -> bytes:
    """Encode JSON with integers of any size (orjson stops at 64 bits; msgspec reads them)."""
    return json.dumps(value).encode()


def _is_valid_key(key: OrderKey) -> bool:
    ts, player_id, rank = key
    return (type(ts) is int and MIN_TS_MS <= ts <= MAX_TS_MS and type(player_id) is str
            and player_id != "" and type(rank) is int and 0 <= rank <= UNKNOWN_RANK)


@cache
def _parser() -> EventParser:
    return EventParser(load_settings().contract, now_ms=lambda: NOW_MS)


# --- Reading the key ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ts", "expected_ms"),
    [
        ("2026-11-20T12:00:00.123Z", 1_795_176_000_123),
        ("2026-11-20T12:00:00Z", 1_795_176_000_000),
        ("2026-11-20T14:00:00.123+02:00", 1_795_176_000_123),
        ("2026-11-20T06:30:00.123-05:30", 1_795_176_000_123),
        ("2026-11-20t12:00:00.123z", 1_795_176_000_123),
        ("2026-11-20T12:00:00.123456+00:00", 1_795_176_000_123),
        (1_795_176_000_123, 1_795_176_000_123),
        (0, 0),
        (-1, -1),
        (MIN_TS_MS, MIN_TS_MS),
        (MAX_TS_MS, MAX_TS_MS),
    ],
)
def test_times_are_read_as_the_contract_reads_them(ts: object, expected_ms: int) -> None:
    read = OrderKeyReader()
    assert parse_timestamp(ts) == expected_ms
    assert read(_message(event_type="deposit", ts=ts, player_id="p1")) == (expected_ms, "p1", 2)


def test_offsets_of_one_instant_give_one_key() -> None:
    moment = datetime(2026, 3, 29, 0, 59, 59, 999_000, tzinfo=UTC)
    read = OrderKeyReader()
    keys = {
        read(_message(event_type="bet", player_id="p", ts=moment.astimezone(zone).isoformat()))
        for zone in (UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=9, minutes=30)))
    }
    assert keys == {(int(moment.timestamp() * 1000), "p", 0)}


def test_ranks_follow_the_contract_order_and_unknown_types_come_last() -> None:
    read = OrderKeyReader()
    ranks = [read(_message(event_type=name, ts=5, player_id="p"))[2] for name in EVENT_CLASSES]
    assert ranks == list(range(len(EVENT_CLASSES)))
    assert TYPE_RANK["bet"] == 0 and TYPE_RANK["deposit"] == 2
    for unknown in ("spin", "", "BET", None, 7, ["bet"], {"bet": 1}, True):
        assert read(_message(event_type=unknown, ts=5, player_id="p")) == (5, "p", UNKNOWN_RANK)
    assert read(_message(ts=5, player_id="p")) == (5, "p", UNKNOWN_RANK)


def test_the_key_orders_time_then_player_then_type() -> None:
    read = OrderKeyReader()
    messages = [
        _message(event_type="withdrawal", ts=1, player_id="b"),
        _message(event_type="bet", ts=2, player_id="a"),
        _message(event_type="bet", ts=1, player_id="b"),
        _message(event_type="deposit", ts=1, player_id="a"),
        b"{broken",
    ]
    assert sorted(messages, key=read) == [messages[4], messages[3], messages[2], messages[0],
                                          messages[1]]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"text"',
        b"null",
        b'{"ts": 5}',
        b'{"player_id": "p"}',
        b'{"ts": 5, "player_id": ""}',
        b'{"ts": 5, "player_id": 7}',
        b'{"ts": 5, "player_id": null}',
        b'{"ts": 5.0, "player_id": "p"}',
        b'{"ts": true, "player_id": "p"}',
        b'{"ts": null, "player_id": "p"}',
        b'{"ts": "2026-11-20T12:00:00", "player_id": "p"}',
        b'{"ts": "2026-11-20 12:00", "player_id": "p"}',
        b'{"ts": "yesterday", "player_id": "p"}',
        b'{"ts": 253402300800000, "player_id": "p"}',  # after 9999-12-31
        b'{"ts": -62135596800001, "player_id": "p"}',  # before 0001-01-01
        b'{"ts": 9223372036854775807, "player_id": "p"}',
        b'{"ts": 18446744073709551616, "player_id": "p"}',  # beyond 64 bits
        b'{"ts": 5, "player_id": "p"',  # truncated mid-JSON
        b'{"ts": 5, "player_id": "p"} trailing',
        b'\xef\xbb\xbf{"ts": 5, "player_id": "p"}',
        b'{"ts": 5, "player_id": "\xff"}',
        b'{"ts": 5, "player_id": "\\ud800"}',
    ],
)
def test_unreadable_time_or_player_is_unkeyed(raw: bytes) -> None:
    assert OrderKeyReader()(raw) == UNKEYED


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [10, 900, 999, 1000, 1023, 1024, 1025, 100_000])
@pytest.mark.parametrize("where", ["ts", "player_id", "event_type", "extra"])
def test_deep_nesting_anywhere_is_read_as_the_parser_reads_it(depth: int, where: str) -> None:
    """The key reader stops short of the parser's depth limit, yet neither raises nor disagrees."""
    fields = {"event_id": "e1", "event_type": "session_end", "session_id": "s1",
              "player_id": "p1", "ts": DEFAULT_START_MS}
    raw = _dumps(fields)[:-1] + b', "' + where.encode() + b'": ' + _nested(depth) + b"}"
    key = OrderKeyReader()(raw)
    accepted = _assert_agrees(OrderKeyReader(), raw, 0)
    assert accepted == (where == "extra" and depth < 1024)
    assert key == (UNKEYED if where in ("ts", "player_id") or depth >= 1024
                   else (DEFAULT_START_MS, "p1", 6 if where == "extra" else UNKNOWN_RANK))


def test_unkeyed_sorts_before_every_event() -> None:
    earliest = OrderKeyReader()(_message(event_type="bet", ts=MIN_TS_MS, player_id="\x00"))
    assert earliest > UNKEYED


# --- Never raising ----------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=8,
)
TIMES = st.one_of(
    st.integers(),
    st.integers(MIN_TS_MS - 2, MAX_TS_MS + 2),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),  # noqa: DTZ001
                 timezones=st.timezones()).map(datetime.isoformat),
    st.text(alphabet="0123456789-:T.Z+ tz", max_size=32),
    JSON_VALUES,
)


@st.composite
def near_messages(draw: st.DrawFn) -> bytes:
    """Draw a JSON object with ts, player_id and event_type of any value, maybe cut."""
    fields: dict[str, Any] = draw(st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=3))
    for name, values in (("ts", TIMES), ("player_id", JSON_VALUES | st.text(max_size=3)),
                         ("event_type", JSON_VALUES | st.sampled_from(list(EVENT_CLASSES)))):
        if draw(st.booleans()):
            fields[name] = draw(values)
    raw = _dumps(fields)
    cut = draw(st.none() | st.integers(0, len(raw)))
    return raw if cut is None else raw[:cut]


DEEP_MESSAGES = st.tuples(st.integers(0, 1100), st.sampled_from([b"ts", b"x"])).map(
    lambda d: b'{"player_id": "p", "ts": 5, "' + d[1] + b'": ' + _nested(d[0]) + b"}")


@settings(max_examples=1000)
@given(st.binary() | near_messages() | DEEP_MESSAGES)
def test_any_bytes_give_a_valid_key_or_unkeyed(raw: bytes) -> None:
    key = OrderKeyReader()(raw)
    assert key == UNKEYED or _is_valid_key(key)


@settings(max_examples=500)
@given(ts=TIMES, player_id=JSON_VALUES | st.text(max_size=3),
       event_type=JSON_VALUES | st.sampled_from(list(EVENT_CLASSES)))
def test_key_is_the_contract_time_player_and_rank(ts: Any, player_id: Any,
                                                  event_type: Any) -> None:
    key = OrderKeyReader()(_message(ts=ts, player_id=player_id, event_type=event_type))
    ts_ms = parse_timestamp(ts)
    if ts_ms is None or type(player_id) is not str or not player_id:
        assert key == UNKEYED
    else:
        rank = TYPE_RANK.get(event_type, UNKNOWN_RANK) if type(event_type) is str else UNKNOWN_RANK
        assert key == (ts_ms, player_id, rank)


# --- Agreement with the contract parser ---------------------------------------------------------


def _assert_agrees(read: OrderKeyReader, raw: bytes, position: int) -> bool:
    """Check the key of every accepted event against the event; return whether it was accepted."""
    parsed = _parser().parse(raw, "simulated", position)
    if isinstance(parsed, DeadLetter):
        return False
    assert isinstance(parsed, Event)
    assert read(raw) == (parsed.ts_ms, parsed.player_id, TYPE_RANK[parsed.event_type]), raw
    return True


@pytest.mark.parametrize(("players", "days", "seed"), [(60, 3, 5), (100, 3, 7)])
def test_key_agrees_with_the_parser_on_every_simulated_event(
    players: int, days: int, seed: int
) -> None:
    read = OrderKeyReader()
    accepted = rejected_unkeyed = 0
    for position, raw in enumerate(simulate(players, days, seed)):
        if _assert_agrees(read, raw, position):
            accepted += 1
        elif read(raw) == UNKEYED:
            rejected_unkeyed += 1
    assert accepted > 8_000
    assert rejected_unkeyed >= 1  # the simulator's truncated messages


@cache
def _simulated_sample() -> list[bytes]:
    return list(itertools.islice(simulate(20, 2, 3), 400))


@settings(max_examples=400)
@given(index=st.integers(0, 399), ts=TIMES, player_id=st.none() | JSON_VALUES | st.text(max_size=3),
       duplicate_ts=st.none() | TIMES)
def test_key_agrees_with_the_parser_on_altered_events(
    index: int, ts: Any, player_id: Any, duplicate_ts: Any
) -> None:
    """Simulated events with another ts or player_id: accepted ones carry the key's fields."""
    fields = orjson.loads(_simulated_sample()[index])
    fields["ts"] = ts
    if player_id is not None:
        fields["player_id"] = player_id
    raw = _dumps(fields)
    if duplicate_ts is not None:  # a repeated name: JSON readers take the last value
        raw = raw[:-1] + b', "ts": ' + _dumps(duplicate_ts) + b"}"
    _assert_agrees(OrderKeyReader(), raw, index)
