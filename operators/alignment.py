"""Event-time alignment: several input streams merged into one order that does not depend on them.

A live worker reads four topics of several partitions each; a replay reads one or
more files. Read as they come, a small topic is drained long before a large one,
and each player's events arrive hours apart from their true order. `EventAligner`
merges the streams the way Flink's watermark alignment and Kafka Streams' task
merge do: it buffers what was read, tracks each stream's progress in event time,
and releases a message only once its event-order key
(`pitboss.operators.event_order`) is below the **low watermark**, the smallest
progress over all streams that may still send something. Released messages come
out in key order.

So whenever every stream is in event-time order, the released sequence is the
input sorted by the event-order key: the same whatever the number of topics,
partitions or files, and the same in a replay and a live worker. A message that
arrives below the watermark (disorder within a stream) is released at once.

A stream stops holding the watermark when its reader says it is idle (caught up
and quiet: a decision the reader makes, since it alone may look at the wall
clock) or has ended. Positions are tracked so that a snapshot resumes exactly:
each stream restarts at its first unreleased message and skips those released
past it, so nothing is lost or released twice. In-order streams then come out in
the same order however they are read again. Disordered ones do too if every
stream is read again up to where it had been read (and ended again if it had
ended) before anything new: a snapshot keeps positions, not progress, so reading
on earlier may hold back a late message that would have gone at once. Idleness
is not kept either: the reader decides it again.

Example:
    >>> aligner = EventAligner(["bets/0", "deposits/0"], key_of=lambda raw: (int(raw), "p", 0))
    >>> # bets/0 sends 10 and 30; deposits/0 has sent nothing, so it may still send < 10:
    >>> aligner.push("bets/0", [("bets/0", 0, b"10"), ("bets/0", 1, b"30")])
    []
    >>> [raw for _, _, raw in aligner.push("deposits/0", [("deposits/0", 0, b"20")])]
    [b'10']
    >>> [raw for _, _, raw in aligner.set_idle("deposits/0", True)]
    [b'20']
    >>> aligner.snapshot()
    {'bets/0': (1, ()), 'deposits/0': (1, ())}
"""

from __future__ import annotations

import bisect
import heapq
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence

from pitboss.operators.event_order import OrderKey

RawMessage = tuple[str, int, bytes]
"""`(stream, position, value)`: what the aligner hands on, as the dataflow's raw messages."""

StreamResume = tuple[int, tuple[int, ...]]
"""Where a stream resumes: its first unreleased position, and later positions already
released (skipped when read again)."""

COMPACT_AFTER = 4096
"""Released entries a stream's queue keeps at its front before they are cut off."""
NOT_STARTED = -(2**62)
END_OF_TIME = 2**63 - 1


_Entry = tuple[int, str, int, int, int, RawMessage]
"""A buffered message under its full sort key: (time, player, kind rank, stream rank,
position, message); unique, since a stream's positions are."""


class _Stream:
    """One input stream's progress, its buffered messages in key order, unreleased positions.

    `queue[head:]` holds the stream's buffered messages sorted by key (a stream in
    event-time order only appends); `listed` is the entry the aligner's heap of
    stream heads holds for it (None when its queue is empty).
    """

    __slots__ = ("buffered", "ended", "head", "inflight", "listed", "max_ts", "name",
                 "next_position", "queue", "rank", "released", "skip")

    def __init__(self, name: str, rank: int, resume: StreamResume | None) -> None:
        self.name = name
        self.rank = rank
        self.max_ts = NOT_STARTED
        self.next_position = resume[0] if resume is not None else -1
        self.skip: set[int] = set(resume[1]) if resume is not None else set()
        self.inflight: deque[int] = deque()
        self.released: set[int] = set()
        self.buffered = 0
        self.ended = False
        self.queue: list[_Entry] = []
        self.head = 0
        self.listed: _Entry | None = None

    def resume(self) -> StreamResume:
        start = self.inflight[0] if self.inflight else self.next_position
        skip = (self.released | self.skip) if start >= 0 else set()
        return start, tuple(sorted(p for p in skip if p >= start))

    def mark_skipped(self, position: int) -> None:
        """Record a position released before the snapshot we resumed from, read again.

        It stays released: if an earlier position is still unreleased, a later snapshot
        restarts before it and must skip it again.
        """
        if self.inflight:
            self.inflight.append(position)
            self.released.add(position)

    def mark_released(self, position: int) -> None:
        self.buffered -= 1
        inflight = self.inflight
        if inflight[0] != position:
            self.released.add(position)
            return
        inflight.popleft()
        released = self.released
        while inflight and inflight[0] in released:
            released.discard(inflight.popleft())


class EventAligner:
    """Buffer messages of several streams and release them in event-order key order.

    A message is released as soon as its key is below the low watermark, checked after
    every single message pushed: so what comes out depends on the streams' contents and
    on which stream sent what first, never on how the reads were batched.

    Args:
        streams: every stream that may send messages (names sort to break exact ties
            between streams, which only events of one player and type on two streams have).
        key_of: reads a raw message's event-order key (`operators.event_order.OrderKeyReader`);
            a key's time lies between `NOT_STARTED` and `END_OF_TIME`, except that a
            time below `NOT_STARTED` (`UNKEYED`) is released at once.
        resume: per stream, what `snapshot` returned, or None for a fresh start.
        reorder_window_ms: how far behind the least stream progress the watermark stays
            (Flink's bounded out-of-orderness). With 0 (the default) the output is the
            sorted input whenever each stream is in order; with W it is also sorted when
            messages arrive up to W late within their stream, at the price of holding
            everything W of event time longer.
        keep: which keys to hand on (an input partition's players,
            `pitboss.operators.partitioning`); None keeps all. A message not kept is
            never buffered or released, but its time still moves its stream's progress,
            so the watermark, and with it the place of every kept message, is the same
            as when every message is kept.

    """

    def __init__(
        self,
        streams: Iterable[str],
        key_of: Callable[[bytes], OrderKey],
        resume: Mapping[str, StreamResume] | None = None,
        reorder_window_ms: int = 0,
        keep: Callable[[OrderKey], bool] | None = None,
    ) -> None:
        names = sorted(set(streams))
        self._keep = keep
        resume = resume or {}
        self._streams = {name: _Stream(name, rank, resume.get(name))
                         for rank, name in enumerate(names)}
        self._key_of = key_of
        self._by_rank = list(self._streams.values())
        # The head of every stream's queue, a k-way merge: a release costs log(streams),
        # not log(messages buffered), which live reads make large (100,000 and more).
        self._heads: list[_Entry] = []
        self._pending = 0
        self._idle: set[str] = set()
        self._window = reorder_window_ms
        self._least = NOT_STARTED if names else END_OF_TIME
        self._mark = self._least - reorder_window_ms
        # With no stream left that may send, everything buffered goes, whatever its key.
        self._draining = not names

    @property
    def streams(self) -> list[str]:
        """Return the stream names, in tie-breaking order."""
        return list(self._streams)

    @property
    def watermark(self) -> int:
        """Return the low watermark: the least progress of the streams that may still send.

        Streams that ended or are idle do not count; with none left it is `END_OF_TIME`.
        """
        return self._mark

    def start_position(self, stream: str) -> int | None:
        """Return where to start reading `stream`: its resume position, or None if fresh."""
        position = self._streams[stream].next_position
        return position if position >= 0 else None

    def push(
        self, stream: str, messages: Iterable[RawMessage], before: Sequence[int] | None = None,
    ) -> list[RawMessage]:
        """Buffer messages `(stream, position, value)` read from `stream`; return the released.

        A stream that sends a message becomes active again if it was idle (an empty
        push leaves it idle). Released messages are the very tuples pushed.

        `before`, when given, holds for each message the progress its stream had made
        just before it, counting messages read elsewhere (a partition file's record of
        the whole log, `pitboss.replay.log.partitioned`): the stream moves there first,
        exactly as if those other messages had been read and not kept.
        """
        out: list[RawMessage] = []
        s = self._streams[stream]
        if stream in self._idle:
            messages = list(messages)
            if not messages:
                return out
            self._idle.discard(stream)
            self._update_mark()
        key_of, heads, skip, queue, keep = self._key_of, self._heads, s.skip, s.queue, self._keep
        for index, message in enumerate(messages):
            position = message[1]
            s.next_position = position + 1
            if skip and position in skip:
                skip.discard(position)  # released before the snapshot we resumed from
                s.mark_skipped(position)
                continue
            if before is not None and before[index] > s.max_ts:
                self._advance(s, before[index])
                if heads and (heads[0][0] < self._mark or self._draining):
                    self._release_into(out)
            key = key_of(message[2])
            ts, player_id, rank = key
            if keep is None or keep(key):
                entry = (ts, player_id, rank, s.rank, position, message)
                if len(queue) == s.head or entry > queue[-1]:
                    queue.append(entry)
                else:  # disorder within the stream
                    bisect.insort(queue, entry, lo=s.head)
                if s.listed is None or entry < s.listed:
                    s.listed = entry  # a new head (an older listing, if any, is now stale)
                    heapq.heappush(heads, entry)
                s.inflight.append(position)
                s.buffered += 1
                self._pending += 1
            # A message not kept (another partition's) still moves its stream's progress.
            if ts > s.max_ts:
                held = s.max_ts == self._least
                s.max_ts = ts
                if held:
                    self._update_mark()
            if heads and (heads[0][0] < self._mark or self._draining):
                self._release_into(out)
        return out

    def _advance(self, s: _Stream, ts: int) -> None:
        """Move stream `s`'s progress up to `ts` (above its own), and the watermark with it."""
        held = s.max_ts == self._least
        s.max_ts = ts
        if held:
            self._update_mark()

    def set_idle(self, stream: str, idle: bool) -> list[RawMessage]:
        """Say whether `stream` holds the watermark (not when idle); return what is released."""
        if idle == (stream in self._idle):
            return []
        if idle:
            self._idle.add(stream)
        else:
            self._idle.discard(stream)
        return self._refresh()

    def end(self, stream: str) -> list[RawMessage]:
        """Record that `stream` will send nothing more (the end of a file); return the released."""
        self._streams[stream].ended = True
        return self._refresh()

    def _refresh(self) -> list[RawMessage]:
        self._update_mark()
        out: list[RawMessage] = []
        self._release_into(out)
        return out

    def _update_mark(self) -> None:
        """Set the watermark: the least progress of the streams that may still send, less W.

        With no stream left that may send, everything buffered goes.
        """
        idle = self._idle
        waiting = [s.max_ts for s in self._streams.values() if not s.ended and s.name not in idle]
        self._least = min(waiting) if waiting else END_OF_TIME
        self._mark = self._least - self._window if waiting else END_OF_TIME
        self._draining = not waiting

    def _release_into(self, out: list[RawMessage]) -> None:
        """Move every message below the watermark to `out`: all of them once no stream waits."""
        heads, by_rank, mark, everything = self._heads, self._by_rank, self._mark, self._draining
        while heads and (everything or heads[0][0] < mark):
            entry = heads[0]
            s = by_rank[entry[3]]
            if entry is not s.listed:
                heapq.heappop(heads)  # stale: a message of the stream sorted before it
                continue
            queue, head = s.queue, s.head + 1
            if head < len(queue):
                s.listed = queue[head]
                heapq.heapreplace(heads, s.listed)
                if head > COMPACT_AFTER and head * 2 > len(queue):
                    del queue[:head]
                    head = 0
            else:
                s.listed = None
                heapq.heappop(heads)
                queue.clear()
                head = 0
            s.head = head
            message = entry[5]
            s.mark_released(message[1])
            self._pending -= 1
            out.append(message)

    def lagging(self) -> str | None:
        """Return the stream that holds the watermark (read it next), or None if none does."""
        idle = self._idle
        waiting = [(s.max_ts, s.rank, s.name) for s in self._streams.values()
                   if not s.ended and s.name not in idle]
        return min(waiting)[2] if waiting else None

    def progress(self, stream: str) -> int:
        """Return the highest event time read from `stream` (`NOT_STARTED` before any)."""
        return self._streams[stream].max_ts

    def buffered(self, stream: str) -> int:
        """Return how many messages of `stream` wait in the buffer."""
        return self._streams[stream].buffered

    def pending(self) -> int:
        """Return how many messages wait in the buffer, over all streams."""
        return self._pending

    def snapshot(self) -> dict[str, StreamResume]:
        """Return where each stream resumes; messages read but not released are read again."""
        return {name: s.resume() for name, s in self._streams.items()}
