"""Run ClickHouse inserts on a thread of their own, in order, keeping what is not yet confirmed.

A live worker must not stop reading while ClickHouse takes tens of milliseconds per
insert: `InsertThread` takes ready batches (`InsertBatch`: table, columns, column
data and deduplication token) and inserts them one after another on a daemon
thread, through the insert function it is given (the writer's retried insert).
Until a batch is confirmed it stays listed in `unconfirmed()`, which the worker's
recovery snapshot carries: after a crash the batches are submitted again, with the
same tokens, so ClickHouse drops the copies it already has (at-least-once, no loss).

The first batch that fails for good stops the thread; the batches after it stay
unconfirmed, and the failure is raised to the caller at its next `submit`,
`wait` or `raise_if_failed` (the flow then stops with a clear error). `submit`
blocks while `max_pending` batches wait: a slow ClickHouse slows the worker down
instead of growing memory without bound.

Example:
    >>> done = []
    >>> inserts = InsertThread(lambda batch: done.append(batch.table))
    >>> inserts.submit(InsertBatch("t", ("a",), [[1]], "t:1"))
    >>> inserts.wait(); done, inserts.unconfirmed()
    (['t'], [])
    >>> inserts.stop()
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class InsertBatch:
    """One insert: the table, its column names, the data column by column, and its token."""

    table: str
    columns: tuple[str, ...]
    data: list[list[Any]]
    token: str

    @property
    def rows(self) -> int:
        """How many rows the batch holds."""
        return len(self.data[0]) if self.data else 0


class InsertThread:
    """Insert submitted batches in order on a background thread.

    Args:
        insert: inserts one batch or raises (retries are its business).
        max_pending: most batches waiting before `submit` blocks.
    """

    def __init__(self, insert: Callable[[InsertBatch], None], max_pending: int = 64) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self._insert = insert
        self._max_pending = max_pending
        self._pending: deque[InsertBatch] = deque()
        self._changed = threading.Condition()
        self._failure: BaseException | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="clickhouse-inserts", daemon=True)
        self._thread.start()

    def submit(self, batch: InsertBatch) -> None:
        """Queue a batch; block while `max_pending` batches wait.

        Raises:
            BaseException: the failure that stopped the thread, if one did.

        """
        with self._changed:
            while (len(self._pending) >= self._max_pending and self._failure is None
                   and not self._stopping):  # fmt: skip
                self._changed.wait()
            self._raise_failure()
            if self._stopping:
                raise RuntimeError("InsertThread.submit after stop()")
            self._pending.append(batch)
            self._changed.notify_all()

    def wait(self) -> None:
        """Block until every submitted batch is confirmed; raise the failure if one occurred."""
        with self._changed:
            while self._pending and self._failure is None:
                self._changed.wait()
            self._raise_failure()

    def raise_if_failed(self) -> None:
        """Raise the failure that stopped the thread, if one did."""
        with self._changed:
            self._raise_failure()

    def unconfirmed(self) -> list[InsertBatch]:
        """Return the batches submitted and not yet confirmed, oldest first."""
        with self._changed:
            return list(self._pending)

    def stop(self) -> None:
        """Let the thread finish the batch in hand and end; unconfirmed batches stay listed."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._thread.join()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._pending and not self._stopping:
                    self._changed.wait()
                if self._stopping or self._failure is not None:
                    return
                batch = self._pending[0]  # stays unconfirmed until inserted
            try:
                self._insert(batch)
            except BaseException as exc:  # handed to the caller, never lost
                with self._changed:
                    self._failure = exc
                    self._changed.notify_all()
                return
            with self._changed:
                self._pending.popleft()
                self._changed.notify_all()
