"""The ingest router keys items as a plain message-by-message reference would."""

from __future__ import annotations

from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pitboss.operators.events import DeadLetter, Event, SessionEnd
from pitboss.operators.ingest import RECORDS, IngestRouter, RawMessage, is_shard_work
from pitboss.operators.outputs import ClockTick, IngestCount
from pitboss.operators.player_state import NO_TIME
from pitboss.operators.sharding import shard_index, shard_names


class _StubParser:
    """Reads `player,ts` (or `bad` for a dead letter without a player) instead of JSON."""

    def parse(self, raw: bytes, source: str, position: int) -> Event | DeadLetter:
        text = raw.decode()
        if text == "bad":
            return DeadLetter("malformed_json", None, None, None, source, position, text)
        player, ts = text.split(",")
        return SessionEnd(f"e{position}", "session_end", player, int(ts), "UK", None, "s")


INPUT = "input"


def _reference(
    batches: list[list[RawMessage]], shards: int, tick_ms: int
) -> list[list[tuple[str, object]]]:
    """Route message by message, checking for due ticks after every event.

    One event-time clock covers the whole input, whichever source a message came from:
    the sources arrive already merged in event time (`pitboss.operators.alignment`).
    """
    names = shard_names(shards)
    max_ts: dict[str, int] = {}
    last: dict[str, list[int]] = {}
    next_check: dict[str, int] = {}
    routed = []
    for batch in batches:
        out: list[tuple[str, object]] = []
        counts: dict[str, IngestCount] = {}
        for source, position, raw in batch:
            if source not in counts:
                counts[source] = IngestCount(source, 0)
                out.append((RECORDS, counts[source]))
            counts[source].messages += 1
            item = _StubParser().parse(raw, source, position)
            if isinstance(item, DeadLetter):
                out.append((RECORDS, item))
                continue
            index = shard_index(item.player_id, shards)
            out.append((names[index], item))
            sent = last.setdefault(INPUT, [NO_TIME] * shards)
            sent[index] = max(sent[index], item.ts_ms)
            max_ts[INPUT] = max(max_ts.get(INPUT, NO_TIME), item.ts_ms)
            if max_ts[INPUT] < next_check.get(INPUT, NO_TIME):
                continue
            for shard in range(shards):
                if sent[shard] <= max_ts[INPUT] - tick_ms:
                    out.append((names[shard], ClockTick(max_ts[INPUT], names[shard])))
                    sent[shard] = max_ts[INPUT]
            next_check[INPUT] = min(sent) + tick_ms
        routed.append(out)
    return routed


_MESSAGE = st.tuples(
    st.sampled_from(["a", "b"]),
    st.one_of(
        st.just(b"bad"),
        st.builds(
            lambda player, ts: f"p{player},{ts}".encode(),
            st.integers(0, 40),
            st.integers(0, 300),
        ),
    ),
)


@settings(max_examples=300)
@given(
    st.lists(st.lists(_MESSAGE, max_size=30), max_size=6),
    st.integers(1, 5),
    st.integers(1, 100),
    st.integers(1, 8),
)
def test_router_matches_the_reference(
    batches: list[list[tuple[str, bytes]]], shards: int, tick_ms: int, max_players: int
) -> None:
    raw = [[(source, i, value) for i, (source, value) in enumerate(batch)] for batch in batches]
    router = IngestRouter(_StubParser(), shards, tick_ms, max_players=max_players)
    assert [router.route(batch) for batch in raw] == _reference(raw, shards, tick_ms)


@settings(max_examples=200)
@given(st.lists(st.lists(_MESSAGE, max_size=30), max_size=6), st.integers(1, 5),
       st.integers(1, 100))
def test_by_shard_each_shard_gets_what_route_gives_it_in_the_same_order(
    batches: list[list[tuple[str, bytes]]], shards: int, tick_ms: int
) -> None:
    raw = [[(source, i, value) for i, (source, value) in enumerate(batch)] for batch in batches]
    per_message = IngestRouter(_StubParser(), shards, tick_ms)
    by_shard = IngestRouter(_StubParser(), shards, tick_ms)
    for batch in raw:
        expected: dict[str, list[object]] = {}
        records: list[tuple[str, object]] = []
        for key, item in per_message.route(batch):
            if key == RECORDS:
                records.append((key, item))
            else:
                expected.setdefault(key, []).append(item)
        gathered = by_shard.route_by_shard(batch)
        work = [kv for kv in gathered if is_shard_work(kv)]
        assert len({key for key, _ in work}) == len(work)  # one list per shard
        assert dict(work) == expected
        assert gathered[len(work):] == records  # then the records, one by one, in input order


def test_records_go_to_the_outputs_not_to_a_shard() -> None:
    router = IngestRouter(_StubParser(), 2, 1_000)
    gathered = router.route_by_shard([("a", 0, b"bad"), ("a", 1, b"p1,5"), ("a", 2, b"bad")])
    records = [item for key, item in gathered if key == RECORDS]
    assert [type(r).__name__ for r in records] == ["IngestCount", "DeadLetter", "DeadLetter"]
    assert records[0] == IngestCount("a", 3)
    work = [items for key, items in gathered if key != RECORDS]
    assert all(isinstance(items, list) for items in work)
    shard_items = [item for items in work for item in cast(list[object], items)]
    assert shard_items and all(isinstance(i, Event | ClockTick) for i in shard_items)


def test_events_keep_where_they_came_from() -> None:
    router = IngestRouter(_StubParser(), 2, 1_000)
    (_, count), (_, event), *_ = router.route([("topic/0", 7, b"p1,5")])
    assert count == IngestCount("topic/0", 1)
    assert isinstance(event, SessionEnd)
    assert (event.source, event.position, event.raw) == ("topic/0", 7, b"p1,5")


def test_tick_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="tick_ms"):
        IngestRouter(_StubParser(), 2, 0)


def test_a_shard_is_ticked_as_soon_as_it_has_been_quiet_for_tick_ms() -> None:
    router = IngestRouter(_StubParser(), 2, 10)
    player = next(f"p{i}" for i in range(100) if shard_index(f"p{i}", 2) == 0)
    batch = [("a", 0, f"{player},0".encode()), ("a", 1, f"{player},10".encode())]
    ticks = [item for _, item in router.route(batch) if isinstance(item, ClockTick)]
    assert ticks == [ClockTick(0, "s01"), ClockTick(10, "s01")]
