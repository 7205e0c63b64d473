"""The event aligner: one order of release whatever the streams, batches and restarts.

The invariants: every message is released exactly once; in-order streams are merged
into the event-order key's order however the input was split and read (so a live
worker decides as a replay does); batching never matters; a snapshot resumes exactly
where the uninterrupted run would be; idle and ended streams stop holding the
watermark; unkeyed messages wait for nothing. A reference model (`Definition`) says
what must be released after every single step.
"""

from __future__ import annotations

import itertools
import json
import pickle
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from pitboss.operators.alignment import END_OF_TIME, NOT_STARTED, EventAligner, RawMessage
from pitboss.operators.event_order import UNKEYED, OrderKey, OrderKeyReader
from pitboss.operators.events import TOPICS
from pitboss.replay.simulator.simulate import DEFAULT_START_MS, simulate

READ = OrderKeyReader()
STREAMS = ["bets/0", "bets/1", "deposits/0", "sessions/0"]
PLAYERS = ["p1", "p2", "p3"]
TYPES = ["bet", "deposit", "session_end", "mystery"]


def _event(ts: int, player: str, event_type: str, n: int) -> bytes:
    """Return a raw event `n` at `ts` seconds into the run (n makes every message distinct)."""
    return json.dumps({"event_type": event_type, "ts": DEFAULT_START_MS + ts * 1_000,
                       "player_id": player, "n": n}).encode()


def _garbage(n: int) -> bytes:
    return f'{{"event_type": "bet", "n": {n}, trunc'.encode()


def _order(names: Iterable[str]) -> dict[str, int]:
    return {name: rank for rank, name in enumerate(sorted(names))}


def _sort_key(ranks: dict[str, int]) -> Callable[[RawMessage], tuple[OrderKey, int, int]]:
    """Return the order the aligner promises for in-order streams: (key, stream, position)."""
    return lambda m: (READ(m[2]), ranks[m[0]], m[1])


def _ts(message: RawMessage) -> int:
    return READ(message[2])[0]


# --- Feeds and schedules ------------------------------------------------------------------------

Op = tuple[str, str, int]
"""`("push", stream, count)`, `("end", stream, 0)` or `("idle", stream, 1 or 0)`."""


@dataclass
class Feed:
    """Messages of each stream, with increasing (not always consecutive) positions."""

    streams: dict[str, list[RawMessage]]

    @property
    def names(self) -> list[str]:
        return list(self.streams)

    def all(self) -> list[RawMessage]:
        return [m for messages in self.streams.values() for m in messages]


def _feed(draw: st.DrawFn, values: dict[str, list[bytes]]) -> Feed:
    streams: dict[str, list[RawMessage]] = {}
    for name, raws in values.items():
        first = draw(st.integers(0, 3))
        gaps = draw(st.lists(st.integers(1, 3), min_size=len(raws), max_size=len(raws)))
        positions = itertools.accumulate(gaps, initial=first)
        numbered = zip(positions, raws, strict=False)
        streams[name] = [(name, position, raw) for position, raw in numbered]
    return Feed(streams)


KEYS = st.tuples(st.integers(0, 12), st.sampled_from(PLAYERS), st.sampled_from(TYPES))


@st.composite
def in_order_feeds(draw: st.DrawFn, max_streams: int = 4) -> Feed:
    """Draw keyed events split at random into streams, each in event-time order.

    Events of equal time keep whatever order the draw gives them within a stream: only
    event time, not the whole key, is in order.
    """
    keys = draw(st.lists(KEYS, max_size=40))
    names = STREAMS[: draw(st.integers(1, max_streams))]
    per_stream: dict[str, list[tuple[int, bytes]]] = {name: [] for name in names}
    for n, (ts, player, event_type) in enumerate(keys):
        per_stream[draw(st.sampled_from(names))].append((ts, _event(ts, player, event_type, n)))
    values = {name: [raw for _, raw in sorted(draw(st.permutations(items)), key=lambda i: i[0])]
              for name, items in per_stream.items()}
    return _feed(draw, values)


@st.composite
def any_feeds(draw: st.DrawFn, max_streams: int = 4) -> Feed:
    """Draw streams in any order of time, with unkeyed messages among the events."""
    names = STREAMS[: draw(st.integers(1, max_streams))]
    counter = itertools.count()
    values: dict[str, list[bytes]] = {}
    for name in names:
        keys = draw(st.lists(st.none() | KEYS, max_size=20))
        values[name] = [_garbage(next(counter)) if key is None else _event(*key, next(counter))
                        for key in keys]
    return _feed(draw, values)


@st.composite
def schedules(draw: st.DrawFn, feed: Feed, idle: bool = False) -> list[Op]:
    """Draw an interleaving of pushes, ends and, if asked, idle switches.

    A push reads 1..5 messages; a stream ends after its last message.
    """
    left = {name: len(messages) for name, messages in feed.streams.items()}
    open_streams = list(feed.names)
    ops: list[Op] = []
    while open_streams:
        name = draw(st.sampled_from(open_streams))
        if idle and draw(st.integers(0, 4)) == 4:  # the simplest draw (0) moves on
            ops.append(("idle", name, draw(st.integers(0, 1))))
        elif left[name]:
            count = draw(st.integers(1, min(5, left[name])))
            ops.append(("push", name, count))
            left[name] -= count
        else:
            ops.append(("end", name, 0))
            open_streams.remove(name)
    return ops


@dataclass
class Reader:
    """Drives an aligner through a schedule, reading each stream from its cursor."""

    feed: Feed
    aligner: EventAligner
    cursor: dict[str, int] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)

    def apply(self, op: Op) -> list[RawMessage]:
        name = op[1]
        if op[0] == "end":
            self.ended.add(name)
            return self.aligner.end(name)
        if op[0] == "idle":
            return self.aligner.set_idle(name, bool(op[2]))
        start = self.cursor.get(name, 0)
        self.cursor[name] = start + op[2]
        return self.aligner.push(name, self.feed.streams[name][start : start + op[2]])

    def run(self, ops: Sequence[Op]) -> list[RawMessage]:
        return [m for op in ops for m in self.apply(op)]


def _aligner(feed: Feed) -> EventAligner:
    return EventAligner(feed.names, READ)


def _run(feed: Feed, ops: Sequence[Op]) -> list[RawMessage]:
    return Reader(feed, _aligner(feed)).run(ops)


# --- The reference model ------------------------------------------------------------------------


class Definition:
    """What the aligner must release after each single step, by its definition.

    A message is released once its time is below the progress of every stream that
    may still send (not ended, not idle); unkeyed messages at once; everything once
    no stream may send. Each release comes out in (key, stream, position) order.
    """

    def __init__(self, names: list[str]) -> None:
        self.ranks = _order(names)
        self.progress: dict[str, int | None] = dict.fromkeys(names)
        self.idle: set[str] = set()
        self.ended: set[str] = set()
        self.buffer: list[RawMessage] = []

    def waiting(self) -> list[str]:
        return [s for s in self.progress if s not in self.ended and s not in self.idle]

    def release(self) -> list[RawMessage]:
        reached = [self.progress[s] for s in self.waiting()]
        started = [p for p in reached if p is not None]
        mark = None if len(started) < len(reached) else min(started, default=None)

        def due(m: RawMessage) -> bool:
            key = READ(m[2])
            return key == UNKEYED or not reached or (mark is not None and key[0] < mark)

        out = sorted(filter(due, self.buffer), key=_sort_key(self.ranks))
        self.buffer = [m for m in self.buffer if not due(m)]
        return out

    def push(self, message: RawMessage) -> list[RawMessage]:
        stream = message[0]
        self.idle.discard(stream)
        key = READ(message[2])
        reached = self.progress[stream]
        if key != UNKEYED and (reached is None or key[0] > reached):
            self.progress[stream] = key[0]
        self.buffer.append(message)
        return self.release()

    def lagging(self) -> str | None:
        waiting = [(self.progress[s] or NOT_STARTED, self.ranks[s], s) for s in self.waiting()]
        return min(waiting)[2] if waiting else None


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_releases_exactly_what_the_definition_allows_after_every_step(data: st.DataObject) -> None:
    feed = data.draw(any_feeds())
    ops = data.draw(schedules(feed, idle=True))
    reader, model = Reader(feed, _aligner(feed)), Definition(feed.names)
    for op in ops:
        if op[0] == "push":
            start = reader.cursor.get(op[1], 0)
            expected = [m for message in feed.streams[op[1]][start : start + op[2]]
                        for m in model.push(message)]
        elif op[0] == "idle":
            if op[2]:
                model.idle.add(op[1])
            else:
                model.idle.discard(op[1])
            expected = model.release()
        else:
            model.ended.add(op[1])
            expected = model.release()
        assert reader.apply(op) == expected, op
        assert reader.aligner.lagging() == model.lagging()
        assert reader.aligner.pending() == len(model.buffer)
        for name in feed.names:
            assert reader.aligner.buffered(name) == sum(m[0] == name for m in model.buffer)
    assert reader.aligner.watermark == END_OF_TIME


# --- Nothing lost, nothing repeated ---------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_message_is_released_exactly_once_by_the_end(data: st.DataObject) -> None:
    feed = data.draw(any_feeds())
    released = _run(feed, data.draw(schedules(feed, idle=True)))
    assert Counter(released) == Counter(feed.all())
    assert len(released) == len(feed.all())  # each message pushed once, released once


def test_keys_at_the_end_of_time_are_released_when_every_stream_ends() -> None:
    """A key may lie at or beyond `END_OF_TIME`: it waits for the ends, it is never lost."""
    aligner = EventAligner(["a", "b"], key_of=lambda raw: (int(raw), "p", 0))
    late = [("a", 0, str(END_OF_TIME).encode()), ("a", 1, str(2**70).encode())]
    assert aligner.push("a", late) == []
    assert aligner.push("b", [("b", 0, b"5")]) == []
    assert aligner.end("b") == [("b", 0, b"5"), late[0]]  # below a's progress, 2**70
    assert aligner.end("a") == [late[1]]
    assert aligner.pending() == 0


# --- One order whatever the split -----------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_in_order_streams_come_out_sorted_by_key_stream_and_position(data: st.DataObject) -> None:
    feed = data.draw(in_order_feeds())
    released = _run(feed, data.draw(schedules(feed)))
    assert released == sorted(feed.all(), key=_sort_key(_order(feed.names)))


@st.composite
def keyed_splits(draw: st.DrawFn) -> tuple[list[bytes], list[Feed]]:
    """Draw events sorted by key and the same events split by player over 1..4 streams.

    As on Kafka, where a topic's partition is chosen by player, equal keys (one player,
    one type, one time) always share a stream.
    """
    keys = sorted(draw(st.lists(KEYS, max_size=40)), key=lambda k: (k[0], k[1], TYPES.index(k[2])))
    values = [_event(*key, n) for n, key in enumerate(keys)]
    feeds = []
    for count in range(1, len(STREAMS) + 1):
        stream_of = {p: STREAMS[draw(st.integers(0, count - 1))] for p in PLAYERS}
        split: dict[str, list[bytes]] = {name: [] for name in STREAMS[:count]}
        for raw in values:
            split[stream_of[READ(raw)[1]]].append(raw)
        feeds.append(_feed(draw, split))
    return values, feeds


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_released_order_is_the_same_for_any_number_of_streams(data: st.DataObject) -> None:
    """The property that makes a live worker (many partitions) decide as a replay (one file)."""
    values, feeds = data.draw(keyed_splits())
    outcomes = [[raw for _, _, raw in _run(feed, data.draw(schedules(feed)))] for feed in feeds]
    assert all(outcome == values for outcome in outcomes)


def test_simulated_topics_and_partitions_give_the_order_of_one_sorted_log() -> None:
    """Simulated events, in event time, read as four topics of three partitions or one log."""
    messages = sorted(simulate(40, 2, seed=11), key=READ)
    keyed = [raw for raw in messages if READ(raw) != UNKEYED]
    assert len(keyed) > 1_000

    partitions: dict[str, list[RawMessage]] = {}
    for raw in keyed:
        event = json.loads(raw)
        topic = TOPICS.get(event["event_type"], "other")
        name = f"{topic}/{zlib.crc32(event['player_id'].encode()) % 3}"
        stream = partitions.setdefault(name, [])
        stream.append((name, len(stream), raw))
    assert len(partitions) >= 8
    live = EventAligner(partitions, READ)
    cursors = dict.fromkeys(partitions, 0)
    released: list[RawMessage] = []
    for turn in itertools.count():  # each partition in turn, in batches of its own size
        names = [n for n in partitions if cursors[n] < len(partitions[n])]
        if not names:
            break
        name = names[turn % len(names)]
        size = 1 + len(name) * (turn % 7)
        batch = partitions[name][cursors[name] : cursors[name] + size]
        cursors[name] += len(batch)
        released += live.push(name, batch)
    for name in partitions:
        released += live.end(name)

    replay = EventAligner(["log"], READ)
    replayed = replay.push("log", [("log", i, raw) for i, raw in enumerate(keyed)])
    replayed += replay.end("log")
    assert [raw for _, _, raw in released] == [raw for _, _, raw in replayed] == keyed


# --- Batches never matter ---------------------------------------------------------------------


@st.composite
def rebatched(draw: st.DrawFn, ops: list[Op]) -> list[Op]:
    """Return `ops` with pushes split, or merged when consecutive on one stream.

    The same messages are pushed in the same order, in other batches.
    """
    out: list[Op] = []
    for op in ops:
        if op[0] != "push":
            out.append(op)
            continue
        if out and out[-1][0] == "push" and out[-1][1] == op[1] and draw(st.booleans()):
            out[-1] = ("push", op[1], out[-1][2] + op[2])
            continue
        count = op[2]
        while count:
            part = draw(st.integers(1, count))
            out.append(("push", op[1], part))
            count -= part
    return out


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_single_stream_is_released_alike_however_it_is_batched(data: st.DataObject) -> None:
    feed = data.draw(any_feeds(max_streams=1))
    ops = data.draw(schedules(feed))
    assert _run(feed, data.draw(rebatched(ops))) == _run(feed, ops)
    one_by_one = [("push", feed.names[0], 1)] * len(feed.all()) + [("end", feed.names[0], 0)]
    assert _run(feed, one_by_one) == _run(feed, ops)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_only_the_order_of_messages_matters_never_the_batches(data: st.DataObject) -> None:
    """Disordered streams too: the same messages in the same order, batched otherwise."""
    feed = data.draw(any_feeds())
    ops = data.draw(schedules(feed, idle=True))
    assert _run(feed, data.draw(rebatched(ops))) == _run(feed, ops)


# --- Snapshot and resume ----------------------------------------------------------------------


def _resume(reader: Reader, order: list[str], batch: int) -> tuple[Reader, list[RawMessage]]:
    """Snapshot, pickle, and build a new aligner from it; re-read what the old one had read.

    Each stream is read again from its start position up to where it had been read
    (positions in the skip list are pushed too: the aligner drops them) and ended again
    if it had ended. Returns the new reader and what re-reading released.
    """
    snapshot = reader.aligner.snapshot()
    restored = pickle.loads(pickle.dumps(snapshot))
    assert restored == snapshot
    aligner = EventAligner(reader.feed.names, READ, resume=restored)
    again = Reader(reader.feed, aligner, dict(reader.cursor), set(reader.ended))
    out: list[RawMessage] = []
    for name in order:
        start = aligner.start_position(name)
        read = reader.feed.streams[name][: reader.cursor.get(name, 0)]
        read = [m for m in read if start is None or m[1] >= start]
        for first in range(0, len(read), batch):
            out += aligner.push(name, read[first : first + batch])
        if name in reader.ended:
            out += aligner.end(name)
    return again, out


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_snapshot_then_resume_equals_uninterrupted(data: st.DataObject) -> None:
    """Disordered streams and unkeyed messages included; resumed up to three times in a row."""
    feed = data.draw(any_feeds())
    ops = data.draw(schedules(feed))
    uninterrupted = _run(feed, ops)
    cuts = set(data.draw(st.lists(st.integers(0, len(ops)), max_size=3)))
    reader, released = Reader(feed, _aligner(feed)), []
    for i, op in enumerate([*ops, None]):
        if i in cuts:
            order = data.draw(st.permutations(feed.names))
            reader, out = _resume(reader, order, data.draw(st.integers(1, 4)))
            released += out
        if op is not None:
            released += reader.apply(op)
    assert released == uninterrupted


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_resumed_reader_reading_on_at_its_own_pace_skips_and_repeats_nothing(
    data: st.DataObject,
) -> None:
    """After the snapshot, each stream is read on from its start position at random.

    Every message comes out once, and in-order streams in the promised order.
    """
    in_order = data.draw(st.booleans())
    feed = data.draw(in_order_feeds() if in_order else any_feeds())
    ops = data.draw(schedules(feed))
    before = Reader(feed, _aligner(feed))
    released = before.run(ops[: data.draw(st.integers(0, len(ops)))])
    snapshot = pickle.loads(pickle.dumps(before.aligner.snapshot()))

    aligner = EventAligner(feed.names, READ, resume=snapshot)
    rest = {}
    for name, messages in feed.streams.items():
        start = aligner.start_position(name)
        rest[name] = [m for m in messages if start is None or m[1] >= start]
    after = Reader(Feed(rest), aligner)
    released += after.run(data.draw(schedules(after.feed)))
    assert Counter(released) == Counter(feed.all())
    assert len(released) == len(feed.all())
    if in_order:
        assert released == sorted(feed.all(), key=_sort_key(_order(feed.names)))


def test_a_position_skipped_after_a_resume_stays_skipped_in_the_next_snapshot() -> None:
    """Resumed at (0, skip 1): 1 is read again and dropped, and the next snapshot still skips it."""
    names = ["a", "b"]
    messages = [("a", 0, _event(5, "p1", "bet", 0)), ("a", 1, _event(1, "p1", "bet", 1)),
                ("a", 2, _event(6, "p1", "bet", 2))]
    first = EventAligner(names, READ)
    released = first.push("a", messages) + first.push("b", [("b", 0, _event(3, "p2", "bet", 3))])
    assert released == [messages[1]]
    assert first.snapshot() == {"a": (0, (1,)), "b": (0, ())}

    second = EventAligner(names, READ, resume=first.snapshot())
    assert second.start_position("a") == 0 and second.start_position("b") == 0
    assert second.push("a", messages) == []
    assert second.snapshot() == {"a": (0, (1,)), "b": (0, ())}

    third = EventAligner(names, READ, resume=second.snapshot())
    assert third.push("a", messages) == []
    assert third.push("b", [("b", 0, _event(3, "p2", "bet", 3))]) == []
    assert third.end("b") + third.end("a") == [("b", 0, _event(3, "p2", "bet", 3)), messages[0],
                                                 messages[2]]


# --- The snapshot stays small -------------------------------------------------------------------


def _disordered(messages: Sequence[RawMessage]) -> set[int]:
    """Positions of unkeyed messages and of events earlier than one before them."""
    highest, out = NOT_STARTED, set()
    for _, position, raw in messages:
        key: OrderKey = READ(raw)
        if key == UNKEYED or key[0] < highest:
            out.add(position)
        highest = max(highest, key[0])
    return out


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_skip_lists_hold_only_disordered_messages(data: st.DataObject) -> None:
    in_order = data.draw(st.booleans())
    feed = data.draw(in_order_feeds() if in_order else any_feeds())
    reader = Reader(feed, _aligner(feed))
    for op in data.draw(schedules(feed, idle=True)):
        reader.apply(op)
        snapshot = reader.aligner.snapshot()
        assert pickle.loads(pickle.dumps(snapshot)) == snapshot
        for name, (start, skip) in snapshot.items():
            read = feed.streams[name][: reader.cursor.get(name, 0)]
            assert set(skip) <= _disordered([m for m in read if m[1] >= start])
            assert list(skip) == sorted(skip) and all(p > start for p in skip)
            if in_order:
                assert skip == ()
        assert len(pickle.dumps(snapshot)) <= 100 + sum(40 + 10 * len(s) for _, s in
                                                        snapshot.values())


# --- Idle streams and unkeyed messages ------------------------------------------------------------


def _at(raw: bytes) -> int:
    return (READ(raw)[0] - DEFAULT_START_MS) // 1_000


def test_an_idle_stream_does_not_hold_the_watermark_until_it_sends_again() -> None:
    aligner = EventAligner(["a", "b"], READ)
    a = [("a", i, _event(ts, "p1", "bet", i)) for i, ts in enumerate([10, 20, 30])]
    assert aligner.push("a", a[:2]) == []  # b may still send anything
    assert aligner.lagging() == "b"
    assert [_at(m[2]) for m in aligner.set_idle("b", True)] == [10]
    assert aligner.watermark == _ts(a[1]) and aligner.lagging() == "a"
    assert aligner.push("b", []) == [] and aligner.lagging() == "a"  # an empty read: still idle

    b5 = ("b", 0, _event(5, "p2", "bet", 9))
    assert aligner.push("b", [b5]) == []  # b sends again: active, and it holds the watermark
    assert aligner.watermark == _ts(b5) and aligner.lagging() == "b"
    assert aligner.push("a", a[2:]) == []
    b25 = ("b", 1, _event(25, "p2", "bet", 10))
    assert aligner.push("b", [b25]) == [b5, a[1]]
    assert aligner.set_idle("b", True) == [b25]
    assert aligner.set_idle("b", True) == []
    assert aligner.set_idle("b", False) == []
    assert aligner.end("a") + aligner.end("b") == [a[2]]


def test_an_ended_stream_does_not_hold_the_watermark() -> None:
    aligner = EventAligner(["a", "b", "c"], READ)
    a = [("a", 0, _event(10, "p1", "bet", 0)), ("a", 1, _event(30, "p1", "bet", 1))]
    b20 = ("b", 0, _event(20, "p1", "bet", 2))
    assert aligner.push("a", a) == []
    assert aligner.push("b", [b20]) == []  # c may still send anything
    assert aligner.end("c") == [a[0]]
    assert aligner.watermark == _ts(b20) and aligner.lagging() == "b"


def test_unkeyed_messages_are_released_at_once() -> None:
    aligner = EventAligner(["a", "b"], READ)
    batch = [("a", 0, _garbage(0)), ("a", 1, _event(10, "p1", "bet", 1)), ("a", 2, b""),
             ("a", 3, _event(12, "p1", "bet", 3)), ("a", 4, _garbage(4))]
    assert aligner.push("a", batch) == [batch[0], batch[2], batch[4]]  # b has not even started
    assert aligner.snapshot()["a"] == (1, (2, 4))
    assert aligner.end("b") == [batch[1]]


def test_no_streams_release_nothing_and_lag_nowhere() -> None:
    aligner = EventAligner([], READ)
    assert aligner.watermark == END_OF_TIME and aligner.lagging() is None
    assert aligner.snapshot() == {}


@st.composite
def displaced_feeds(draw: st.DrawFn, window_s: int) -> Feed:
    """Draw streams whose messages are each at most `window_s` behind their stream's latest."""
    keys = draw(st.lists(KEYS, max_size=40))
    names = STREAMS[: draw(st.integers(1, 4))]
    per_stream: dict[str, list[tuple[int, bytes]]] = {name: [] for name in names}
    for n, (ts, player, event_type) in enumerate(keys):
        jitter = draw(st.integers(0, window_s))  # sorting by ts + jitter displaces <= window
        per_stream[draw(st.sampled_from(names))].append(
            (ts + jitter, _event(ts, player, event_type, n)))
    values = {name: [raw for _, raw in sorted(items, key=lambda i: i[0])]
              for name, items in per_stream.items()}
    return _feed(draw, values)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.integers(0, 6))
def test_a_reorder_window_sorts_messages_displaced_by_no_more_than_it(
    data: st.DataObject, window_s: int
) -> None:
    feed = data.draw(displaced_feeds(window_s))
    ops = data.draw(schedules(feed))
    aligner = EventAligner(feed.names, READ, reorder_window_ms=window_s * 1_000)
    released = Reader(feed, aligner).run(ops)
    assert released == sorted(feed.all(), key=_sort_key(_order(feed.names)))


def test_without_the_window_a_displaced_message_comes_out_where_it_arrives() -> None:
    early, mid, late = (_event(5, "p1", "bet", 0), _event(7, "p1", "bet", 1),
                        _event(2, "p1", "bet", 2))
    other = _event(9, "p2", "deposit", 3)
    for window_ms, expected in ((0, [early, late, mid, other]),
                                (5_000, [late, early, mid, other])):
        aligner = EventAligner(["a", "b"], READ, reorder_window_ms=window_ms)
        out = aligner.push("b", [("b", 0, other)])
        out += aligner.push("a", [("a", 0, early), ("a", 1, mid)])  # 5 goes below 7 (W = 0)
        out += aligner.push("a", [("a", 2, late)])
        out += aligner.end("a") + aligner.end("b")
        assert [raw for _, _, raw in out] == expected, window_ms


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_partition_releases_its_players_as_the_whole_input_orders_them(
    data: st.DataObject,
) -> None:
    """An input partition's messages come out as keeping everything orders them, step by step.

    Kept or not, a message moves its stream's progress, so displaced messages too.
    """
    feed = data.draw(any_feeds())
    ops = data.draw(schedules(feed, idle=True))
    players = data.draw(st.sets(st.sampled_from(PLAYERS)), label="kept players")

    def kept(key: OrderKey) -> bool:
        return key[1] in players

    whole, part = Reader(feed, _aligner(feed)), Reader(feed, EventAligner(feed.names, READ,
                                                                          keep=kept))
    for op in ops:
        expected = [m for m in whole.apply(op) if kept(READ(m[2]))]
        assert part.apply(op) == expected


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_stream_told_the_whole_progress_releases_what_the_whole_stream_does(
    data: st.DataObject,
) -> None:
    """A partition's messages with the whole stream's progress: as the whole stream, filtered.

    Pushed with the whole stream's progress before each (`before`), only a partition's
    messages come out as the whole stream with that partition's filter releases them,
    however batched.

    One stream (a partitioned log is read alone), in any order, unkeyed messages included.
    """
    feed = data.draw(any_feeds(max_streams=1))
    (name, messages), = feed.streams.items()
    players = data.draw(st.sets(st.sampled_from(PLAYERS)), label="kept players")
    with_unkeyed = data.draw(st.booleans(), label="unkeyed kept")
    window_ms = data.draw(st.sampled_from([0, 2_000]), label="reorder window")

    def kept(key: OrderKey) -> bool:
        return with_unkeyed if key == UNKEYED else key[1] in players

    whole = Reader(feed, EventAligner([name], READ, reorder_window_ms=window_ms, keep=kept))
    expected = whole.run(data.draw(schedules(feed)))
    progress, own, before = NOT_STARTED, [], []
    for message in messages:
        key = READ(message[2])
        if kept(key):
            own.append(message)
            before.append(progress)
        progress = max(progress, key[0])
    part = EventAligner([name], READ, reorder_window_ms=window_ms)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(own))), label="batch ends"))
    out: list[RawMessage] = []
    for start, end in itertools.pairwise([0, *cuts, len(own)]):
        out += part.push(name, own[start:end], before[start:end])
    assert out + part.end(name) == expected
