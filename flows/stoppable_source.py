"""A source wrapper that ends its partitions when a stop is requested: graceful shutdown.

Bytewax has no API to stop a running dataflow cleanly. `StoppableSource` wraps any
fixed-partitioned source; once `stop` is set (by a SIGTERM or Ctrl-C handler), every
partition ends at its next poll, the dataflow drains what is in flight, closes the
last epoch (snapshots are taken, the live sink flushes), closes the sinks and
returns. Each partition's resume state is its inner partition's, so a later start
continues from the next unread message. The stateful steps behind a live source
must treat this end of input as a pause (`build_pipeline(..., finish_at_eof=False)`).

Partitions with nothing to read ask to be woken `idle_poll` later rather than
being polled in a tight loop (Bytewax's Kafka partitions never block).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

X = TypeVar("X")
S = TypeVar("S")


class _StoppablePartition(StatefulSourcePartition[X, S], Generic[X, S]):
    def __init__(
        self, inner: StatefulSourcePartition[X, S], stop: threading.Event, idle_poll: timedelta
    ) -> None:
        self._inner = inner
        self._stop = stop
        self._idle_poll = idle_poll
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
        return self._inner.snapshot()

    def close(self) -> None:
        self._inner.close()


class StoppableSource(FixedPartitionedSource[X, S], Generic[X, S]):
    """Wrap `inner` so that all its partitions end once `stop` is set.

    Args:
        inner: the real source, e.g. Bytewax's `KafkaSource`.
        stop: the event a signal handler sets.
        idle_poll: how long an idle partition waits before polling again.

    """

    def __init__(
        self,
        inner: FixedPartitionedSource[X, S],
        stop: threading.Event,
        idle_poll: timedelta = timedelta(milliseconds=20),
    ) -> None:
        self.inner = inner
        self.stop = stop
        self.idle_poll = idle_poll

    def list_parts(self) -> list[str]:
        """Return the inner source's partitions."""
        return self.inner.list_parts()

    def build_part(
        self, step_id: str, for_part: str, resume_state: S | None
    ) -> _StoppablePartition[X, S]:
        """Build the inner partition and wrap it."""
        part = self.inner.build_part(step_id, for_part, resume_state)
        return _StoppablePartition(part, self.stop, self.idle_poll)
