"""A source wrapper that ends its partitions when a stop is requested: graceful shutdown.

Bytewax has no API to stop a running dataflow cleanly. `StoppableSource` wraps any
fixed-partitioned source; once `stop` is set (by a SIGTERM or Ctrl-C handler), every
partition ends at its next poll, the dataflow drains what is in flight, closes the
last epoch (snapshots are taken, the live sink flushes), closes the sinks and
returns. Each partition's resume state is its inner partition's, so a later start
continues from the next unread message. The stateful steps behind a live source
must treat this end of input as a pause (`build_flow(..., finish_at_eof=False)`).

Listing the partitions may block: Bytewax's Kafka source asks the brokers for each
topic's metadata with no timeout, forever if they went away after the start-up
checks. So the listing runs on a daemon thread while the calling one waits on the
stop event: a stop requested meanwhile lists no partitions and the dataflow ends.

Partitions with nothing to read ask to be woken `idle_poll` later rather than
being polled in a tight loop (Bytewax's Kafka partitions never block).

Bytewax snapshots every input partition at the end of every epoch, data or not,
so `on_snapshot` (e.g. `LiveMetrics.epoch_closed`) tells the worker that its
epochs keep closing: what `/readyz` judges (`pitboss.sinks.health`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

X = TypeVar("X")
S = TypeVar("S")

# How often a caller waiting for the partitions to be listed looks at the stop event.
_STOP_CHECK_S = 0.1


class _Listing:
    """Run a source's `list_parts` on a daemon thread (a hung one must not keep the process)."""

    def __init__(self, list_parts: Callable[[], list[str]]) -> None:
        self.done = threading.Event()
        self._list_parts = list_parts
        self._parts: list[str] = []
        self._error: BaseException | None = None
        threading.Thread(target=self._run, name="list-partitions", daemon=True).start()

    def _run(self) -> None:
        try:
            self._parts = self._list_parts()
        except BaseException as exc:  # handed to the waiting thread, which raises it
            self._error = exc
        finally:
            self.done.set()

    def parts(self) -> list[str]:
        """Return the partitions, or raise what listing them raised."""
        if self._error is not None:
            raise self._error
        return self._parts


class _StoppablePartition(StatefulSourcePartition[X, S], Generic[X, S]):
    def __init__(
        self,
        inner: StatefulSourcePartition[X, S],
        stop: threading.Event,
        idle_poll: timedelta,
        on_snapshot: Callable[[], None] | None,
    ) -> None:
        self._inner = inner
        self._stop = stop
        self._idle_poll = idle_poll
        self._on_snapshot = on_snapshot
        self._awake: datetime | None = None

    def next_batch(self) -> list[X]:
        if self._stop.is_set():
            raise StopIteration
        batch = list(self._inner.next_batch())
        self._awake = None if batch else datetime.now(UTC) + self._idle_poll
        return batch

    def next_awake(self) -> datetime | None:
        inner = self._inner.next_awake()
        return inner if inner is not None else self._awake

    def snapshot(self) -> S:
        state = self._inner.snapshot()
        if self._on_snapshot is not None:
            self._on_snapshot()
        return state

    def close(self) -> None:
        self._inner.close()


class StoppableSource(FixedPartitionedSource[X, S], Generic[X, S]):
    """Wrap `inner` so that all its partitions end once `stop` is set.

    Args:
        inner: the real source, e.g. Bytewax's `KafkaSource`.
        stop: the event a signal handler sets.
        idle_poll: how long an idle partition waits before polling again.
        on_snapshot: called after each partition's snapshot, i.e. at every epoch end.

    """

    def __init__(
        self,
        inner: FixedPartitionedSource[X, S],
        stop: threading.Event,
        idle_poll: timedelta = timedelta(milliseconds=20),
        on_snapshot: Callable[[], None] | None = None,
    ) -> None:
        self.inner = inner
        self.stop = stop
        self.idle_poll = idle_poll
        self.on_snapshot = on_snapshot

    def list_parts(self) -> list[str]:
        """Return the inner source's partitions, or none if a stop is requested meanwhile."""
        listing = _Listing(self.inner.list_parts)
        while not listing.done.wait(_STOP_CHECK_S):
            if self.stop.is_set():
                return []
        return listing.parts()

    def build_part(
        self, step_id: str, for_part: str, resume_state: S | None
    ) -> _StoppablePartition[X, S]:
        """Build the inner partition and wrap it."""
        part = self.inner.build_part(step_id, for_part, resume_state)
        return _StoppablePartition(part, self.stop, self.idle_poll, self.on_snapshot)
