"""Batch rows into ClickHouse: columnar, idempotent, retried, and never silently dropped.

`ClickHouseWriter` buffers rows per table, column by column, and inserts a table's
buffer when it reaches `batch_rows` rows or its oldest row is `flush_interval_s`
old (measured with an injected monotonic clock: sink-side wall time, not event
time). Every insert is column-oriented, with the column types looked up once per
table, and carries an `insert_deduplication_token` derived from the table and a
hash of the batch's content, so an insert retried after a lost response is
dropped by ClickHouse instead of stored twice. The tables themselves are
ReplacingMergeTree on deterministic row keys, which removes the copies a replay
or a resume writes in different batches (docs/clickhouse.md explains both).

Network and server errors are retried with exponential backoff (tenacity). When
the retries run out, or the error cannot go away by retrying (unknown table, bad
data), the writer raises `SinkDeliveryError`, keeps the rows buffered, and the
flow stops instead of carrying on with holes. Engine-agnostic: no Bytewax here.

With `background=True` (live workers) the inserts run on an `InsertThread`: `add`
and `handover` never wait for ClickHouse, `flush` and `close` still do, and
`unconfirmed()` lists the batches not yet inserted so that a recovery snapshot can
carry them (`resubmit` sends them again after a restart, with the same tokens).
"""

from __future__ import annotations

import hashlib
import io
import pickle
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clickhouse_connect.datatypes.base import ClickHouseType
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import (
    DatabaseError,
    DataError,
    IntegrityError,
    NotSupportedError,
    ProgrammingError,
)
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from pitboss.config.settings import ClickHouseSettings
from pitboss.sinks.insert_thread import InsertBatch, InsertThread

Row = Sequence[Any] | Mapping[str, Any]

# Server error codes that the same insert would hit again however often it is retried.
PERMANENT_ERROR_CODES = frozenset(
    {
        16,  # NO_SUCH_COLUMN_IN_TABLE
        27,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
        36,  # BAD_ARGUMENTS
        44,  # ILLEGAL_COLUMN
        47,  # UNKNOWN_IDENTIFIER
        53,  # TYPE_MISMATCH
        60,  # UNKNOWN_TABLE
        62,  # SYNTAX_ERROR
        70,  # CANNOT_CONVERT_TYPE
        81,  # UNKNOWN_DATABASE
        115,  # UNKNOWN_SETTING
        164,  # READONLY
        192,  # UNKNOWN_USER
        193,  # WRONG_PASSWORD
        497,  # ACCESS_DENIED
        516,  # AUTHENTICATION_FAILED
    }
)


class SinkDeliveryError(RuntimeError):
    """Rows could not be written to ClickHouse; they are still buffered, and the flow must stop.

    Attributes:
        table: the table the rows were for.
        rows: how many rows the failed insert held.
        attempts: how many times the insert was tried.
        last_error: the exception of the last attempt (also the `__cause__`).

    """

    def __init__(self, table: str, rows: int, attempts: int, last_error: BaseException) -> None:
        self.table = table
        self.rows = rows
        self.attempts = attempts
        self.last_error = last_error
        super().__init__(
            f"could not write {rows} rows to ClickHouse table {table} after {attempts} "
            f"attempt(s); last error: {type(last_error).__name__}: {last_error}"
        )


def is_retryable(exc: BaseException) -> bool:
    """Tell whether an insert that raised `exc` may succeed when tried again.

    Network errors and server errors are retryable; client-side refusals (bad data,
    unsupported call) and server errors in `PERMANENT_ERROR_CODES` are not.

    Example:
        >>> is_retryable(ConnectionResetError()), is_retryable(ValueError("bad float"))
        (True, False)

    """
    if isinstance(exc, OSError):
        return True
    if isinstance(exc, ProgrammingError | DataError | IntegrityError | NotSupportedError):
        return False
    return isinstance(exc, DatabaseError) and exc.code not in PERMANENT_ERROR_CODES


def batch_token(table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]) -> str:
    """Return the deduplication token of a batch: the table and a hash of its content.

    The content is pickled with the memo off, so the bytes depend on the values only,
    not on which objects happen to be shared; NaN, infinities and None stay distinct.

    Args:
        table: the target table.
        columns: the column names, in the order of `data`.
        data: the batch, one sequence per column.

    Returns:
        `table:` followed by 32 hex digits of SHA-256.

    Example:
        >>> batch_token("t", ["a"], [[1, 2]]) == batch_token("t", ["a"], [[1, 2]])
        True
        >>> batch_token("t", ["a"], [[1, 2]]) == batch_token("t", ["a"], [[2, 1]])
        False

    """
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.fast = True  # no memo: equal values give equal bytes whatever their identity
    pickler.dump((table, tuple(columns)))
    for column in data:
        pickler.dump(column if type(column) is list else list(column))
    return f"{table}:{hashlib.sha256(buffer.getbuffer()).hexdigest()[:32]}"


@dataclass
class WriterStats:
    """Counters for metrics: rows written per table, batches, retries and last batch latency."""

    rows_written: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    retries: int = 0
    last_batch_latency_s: float = 0.0


class _TableBuffer:
    """One table's pending rows, column by column, and when the oldest of them arrived."""

    __slots__ = ("columns", "data", "since")

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self.data: list[list[Any]] = [[] for _ in columns]
        self.since = 0.0

    @property
    def rows(self) -> int:
        return len(self.data[0]) if self.data else 0

    def head(self, n: int) -> list[list[Any]]:
        return self.data if n >= self.rows else [column[:n] for column in self.data]

    def drop_head(self, n: int) -> None:
        if n >= self.rows:
            self.data = [[] for _ in self.columns]
        else:
            for column in self.data:
                del column[:n]


class ClickHouseWriter:
    """Buffer rows per table and insert them into ClickHouse in idempotent, retried batches.

    Args:
        client: an open client (`sinks.clickhouse_client.open_client`); the caller closes it.
        database: the database holding the tables.
        batch_rows: insert a table's rows once this many are buffered (and never more at once).
        flush_interval_s: insert a table's rows once the oldest is this old (by `clock`).
        max_retries: how many times a failed insert is retried before giving up.
        retry_initial_s: the first backoff; it doubles with each retry ...
        retry_max_s: ... up to this.
        clock: monotonic seconds, for flush age and batch latency.
        sleep: how to wait between retries (tests pass a recorder).
        background: insert on a thread of its own (`pitboss.sinks.insert_thread`); failures
            are raised by the next `add`, `handover`, `flush` or `close`.

    """

    def __init__(
        self,
        client: Client,
        database: str,
        batch_rows: int = 20_000,
        flush_interval_s: float = 2.0,
        max_retries: int = 8,
        retry_initial_s: float = 0.2,
        retry_max_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        background: bool = False,
    ) -> None:
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
        self.client = client
        self.database = database
        self.batch_rows = batch_rows
        self.flush_interval_s = flush_interval_s
        self.max_retries = max_retries
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.clock = clock
        self.sleep = sleep
        self.stats = WriterStats()
        self._buffers: dict[str, _TableBuffer] = {}
        self._column_types: dict[tuple[str, tuple[str, ...]], Sequence[ClickHouseType]] = {}
        self._closed = False
        self._inserts = InsertThread(self._insert_batch) if background else None

    @classmethod
    def from_settings(
        cls, client: Client, settings: ClickHouseSettings, **kwargs: Any
    ) -> ClickHouseWriter:
        """Build a writer from the `[clickhouse]` settings, on the client's database.

        `open_client` sets the client's database (from the DSN or the settings); any
        keyword argument (`clock`, `sleep`, ...) overrides or adds to the settings.
        """
        options: dict[str, Any] = {
            "batch_rows": settings.batch_rows,
            "flush_interval_s": settings.flush_interval_s,
            "max_retries": settings.max_retries,
            "retry_initial_s": settings.retry_initial_s,
            "retry_max_s": settings.retry_max_s,
        }
        return cls(client, client.database or settings.database, **(options | kwargs))

    @property
    def pending_rows(self) -> int:
        """How many rows are buffered, over all tables."""
        return sum(buffer.rows for buffer in self._buffers.values())

    def add(self, table: str, rows: Sequence[Row], columns: Sequence[str]) -> None:
        """Buffer rows for `table`, inserting whatever is due by size or age.

        Args:
            table: the target table in the writer's database.
            rows: tuples in `columns` order, or mappings from column name to value.
            columns: the column names; the same for every call on one table while rows wait.

        Raises:
            ValueError: rows of the wrong width, a missing key, or a change of columns.
            SinkDeliveryError: a due insert failed for good.

        """
        if self._closed:
            raise RuntimeError("ClickHouseWriter.add after close()")
        if self._inserts is not None:
            self._inserts.raise_if_failed()
        if rows:
            buffer = self._buffer(table, tuple(columns))
            if not buffer.rows:
                buffer.since = self.clock()
            for pending, values in zip(buffer.data, _columns_of(table, rows, buffer.columns),
                                       strict=True):
                pending.extend(values)
            while buffer.rows >= self.batch_rows:
                self._deliver(table, buffer, self.batch_rows)
                # What is left came with this call: before it, the buffer was below batch_rows.
                buffer.since = self.clock()
        self.flush_expired()

    def flush_expired(self) -> None:
        """Insert every table whose oldest buffered row is `flush_interval_s` old.

        `add` calls this; a driver with idle periods calls it on its own ticks too.
        """
        now = self.clock()
        for table, buffer in self._buffers.items():
            if buffer.rows and now - buffer.since >= self.flush_interval_s:
                self.flush(table)

    def flush(self, table: str | None = None) -> None:
        """Insert everything buffered for `table`, or for every table, in batches of `batch_rows`.

        Raises:
            SinkDeliveryError: an insert failed for good; its rows stay buffered.

        """
        self.handover(table)
        if self._inserts is not None:
            self._inserts.wait()

    def handover(self, table: str | None = None) -> None:
        """Start inserting everything buffered for `table`, or for every table.

        In the background mode this returns at once (see `unconfirmed`); otherwise it
        inserts, like `flush`.

        Raises:
            SinkDeliveryError: an insert failed for good; its rows are not lost
                (buffered, or listed by `unconfirmed`).

        """
        names = [table] if table is not None else list(self._buffers)
        for name in names:
            buffer = self._buffers.get(name)
            while buffer is not None and buffer.rows:
                self._deliver(name, buffer, self.batch_rows)

    def unconfirmed(self) -> list[InsertBatch]:
        """Return the handed-over batches not yet inserted (background mode; else none)."""
        return self._inserts.unconfirmed() if self._inserts is not None else []

    def resubmit(self, batches: Sequence[InsertBatch]) -> None:
        """Insert batches a previous run had not confirmed, with their original tokens."""
        for batch in batches:
            if self._inserts is not None:
                self._inserts.submit(batch)
            else:
                self._insert_batch(batch)

    def close(self) -> None:
        """Flush everything; afterwards `add` is refused. The client stays open (the caller's).

        Raises:
            SinkDeliveryError: some rows could not be written; they are still buffered.

        """
        self.flush()
        self._closed = True
        if self._inserts is not None:
            self._inserts.stop()

    def _buffer(self, table: str, columns: tuple[str, ...]) -> _TableBuffer:
        buffer = self._buffers.get(table)
        if buffer is None or (not buffer.rows and buffer.columns != columns):
            buffer = self._buffers[table] = _TableBuffer(columns)
        elif buffer.columns != columns:
            raise ValueError(
                f"rows for {table} arrived with columns {list(columns)} while rows with "
                f"columns {list(buffer.columns)} are still buffered; use one column list per table"
            )
        return buffer

    def _deliver(self, table: str, buffer: _TableBuffer, limit: int) -> None:
        data = buffer.head(limit)
        token = batch_token(f"{self.database}.{table}", buffer.columns, data)
        batch = InsertBatch(table, buffer.columns, data, token)
        if self._inserts is not None:
            self._inserts.submit(batch)
        else:
            self._insert_batch(batch)
        buffer.drop_head(batch.rows)

    def _insert_batch(self, batch: InsertBatch) -> None:
        """Insert one batch with retries, or raise `SinkDeliveryError`."""
        started = self.clock()
        retrying = self._retrying()
        try:
            retrying(self._insert, batch.table, batch.columns, batch.data, batch.token)
        except Exception as exc:
            attempts = int(retrying.statistics.get("attempt_number", 1))
            raise SinkDeliveryError(
                f"{self.database}.{batch.table}", batch.rows, attempts, exc
            ) from exc
        self.stats.rows_written[batch.table] += batch.rows
        self.stats.batches += 1
        self.stats.last_batch_latency_s = self.clock() - started

    def _retrying(self) -> Retrying:
        return Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=wait_exponential(multiplier=self.retry_initial_s, max=self.retry_max_s),
            retry=retry_if_exception(is_retryable),
            sleep=self.sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )

    def _count_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1

    def _insert(
        self, table: str, columns: tuple[str, ...], data: list[list[Any]], token: str
    ) -> None:
        self.client.insert(
            table,
            data,
            column_names=columns,
            database=self.database,
            column_types=self._types(table, columns),
            column_oriented=True,
            settings={"insert_deduplicate": 1, "insert_deduplication_token": token},
        )

    def _types(self, table: str, columns: tuple[str, ...]) -> Sequence[ClickHouseType]:
        # One DESCRIBE per table and column list, instead of one per insert.
        key = (table, columns)
        if key not in self._column_types:
            context = self.client.create_insert_context(table, list(columns), self.database)
            self._column_types[key] = context.column_types
        return self._column_types[key]


def _columns_of(table: str, rows: Sequence[Row], columns: tuple[str, ...]) -> list[Sequence[Any]]:
    """Turn rows (tuples in column order, or mappings) into one sequence per column."""
    if isinstance(rows[0], Mapping):
        try:
            return [[row[name] for row in rows] for name in columns]  # type: ignore[call-overload]
        except KeyError as exc:
            raise ValueError(f"a row for {table} has no value for column {exc.args[0]!r}") from None
    try:
        values: list[Sequence[Any]] = list(zip(*rows, strict=True))
    except ValueError:
        raise ValueError(f"rows for {table} are not all the same width") from None
    if len(values) != len(columns):
        raise ValueError(
            f"rows for {table} have {len(values)} values but {len(columns)} columns are named"
        )
    return values
