"""The ClickHouse writer on real chDB: batching, flush by size and age, types, dedup, retries."""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pitboss.config.settings import ClickHouseSettings
from pitboss.sinks.clickhouse_client import open_client
from pitboss.sinks.clickhouse_writer import ClickHouseWriter, SinkDeliveryError, batch_token
from pitboss.sinks.migrations import apply_migrations

pytestmark = pytest.mark.timeout(60)

REJECTED = ("source", "position", "reason", "field", "event_id", "player_id", "excerpt", "detail")
_tables = itertools.count()


class FakeClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FlakyClient:
    """A real client whose next `failures` inserts raise; with `lost_response` they land first.

    `lost_response` is the nasty case: the server stored the rows, but the answer never
    arrived, so the writer retries an insert that already happened.
    """

    def __init__(self, real: Client, failures: int, lost_response: bool = False,
                 error: Callable[[], Exception] = lambda: OperationalError("connection reset"),
                 held_until: threading.Event | None = None):
        self.real = real
        self.held_until = held_until  # inserts wait for it: the test decides when they fail
        self.failures = failures
        self.lost_response = lost_response
        self.error = error
        self.insert_sizes: list[int] = []
        self.tokens: list[str | None] = []  # the dedup token of every attempt, failed or not

    def insert(self, *args: Any, **kwargs: Any) -> Any:
        if self.held_until is not None:
            self.held_until.wait()
        self.tokens.append(kwargs.get("settings", {}).get("insert_deduplication_token"))
        if self.failures > 0:
            self.failures -= 1
            if self.lost_response:
                self.real.insert(*args, **kwargs)
            raise self.error()
        self.insert_sizes.append(len(args[1][0]))
        return self.real.insert(*args, **kwargs)

    def create_insert_context(self, *args: Any, **kwargs: Any) -> Any:
        return self.real.create_insert_context(*args, **kwargs)


@pytest.fixture
def client(chdb_path: Path, clickhouse_database: str) -> Iterator[Client]:
    client = open_client(None, chdb_path, clickhouse_database)
    apply_migrations(client, clickhouse_database)
    yield client
    client.command(f"DROP DATABASE IF EXISTS {clickhouse_database}")
    client.close()


@pytest.fixture
def make_writer(client: Client, clickhouse_database: str) -> Callable[..., ClickHouseWriter]:
    """Build a writer on the test database with a fake clock and a sleep that only records."""

    def make(target: Any = None, **kwargs: Any) -> ClickHouseWriter:
        kwargs.setdefault("clock", FakeClock())
        kwargs.setdefault("sleep", lambda seconds: None)
        return ClickHouseWriter(target or client, clickhouse_database, **kwargs)

    return make


def rejected(position: int, reason: str = "malformed_json", source: str = "bets.jsonl") -> tuple:
    return (source, position, reason, "", "", "", f"{{bad {position}", "")


def rejected_rows(n: int, start: int = 0) -> list[tuple]:
    return [rejected(position) for position in range(start, start + n)]


def count(client: Client, table: str = "rejected_events", final: bool = False) -> int:
    return int(client.command(f"SELECT count() FROM {table}{' FINAL' if final else ''}"))


def stored(client: Client, table: str = "rejected_events") -> list[tuple]:
    return sorted(client.query(f"SELECT * FROM {table} FINAL").result_rows)


def test_rows_go_in_batches_of_batch_rows_and_the_rest_at_close(
    client: Client, make_writer: Callable[..., ClickHouseWriter]
) -> None:
    writer = make_writer(batch_rows=3)
    rows = rejected_rows(7)
    for chunk in (rows[:2], rows[2:6], rows[6:]):
        writer.add("rejected_events", chunk, REJECTED)
    assert (count(client), writer.pending_rows, writer.stats.batches) == (6, 1, 2)
    writer.close()
    assert stored(client) == sorted(rows)
    assert writer.stats.rows_written["rejected_events"] == len(rows)
    assert writer.stats.batches == 3


def test_rows_go_once_the_oldest_is_flush_interval_old(
    client: Client, make_writer: Callable[..., ClickHouseWriter]
) -> None:
    clock = FakeClock()
    writer = make_writer(batch_rows=1000, flush_interval_s=2.0, clock=clock)
    writer.add("rejected_events", rejected_rows(2), REJECTED)
    clock.now += 1.5
    writer.add("rejected_events", rejected_rows(2, start=2), REJECTED)
    clock.now += 0.49
    writer.flush_expired()
    assert count(client) == 0
    clock.now += 0.01
    writer.flush_expired()
    assert count(client) == 4
    assert writer.stats.batches == 1


def test_adding_to_one_table_flushes_another_that_has_waited_too_long(
    client: Client, make_writer: Callable[..., ClickHouseWriter]
) -> None:
    client.command("CREATE TABLE other (k UInt32) ENGINE = ReplacingMergeTree ORDER BY k")
    clock = FakeClock()
    writer = make_writer(flush_interval_s=2.0, clock=clock)
    writer.add("rejected_events", rejected_rows(3), REJECTED)
    clock.now += 2.0
    writer.add("other", [(1,)], ["k"])
    assert count(client) == 3
    assert count(client, "other") == 0


def test_column_types_round_trip_from_plain_python_values(
    client: Client, make_writer: Callable[..., ClickHouseWriter]
) -> None:
    client.command(
        "CREATE TABLE typed (player_id String, ts DateTime64(3, 'UTC'), "
        "until Nullable(DateTime64(3, 'UTC')), trigger LowCardinality(String), "
        "channel Nullable(String), stake Float64, position Int64, flag Bool) "
        "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(ts) ORDER BY (player_id, ts)"
    )
    columns = ("player_id", "ts", "until", "trigger", "channel", "stake", "position", "flag")
    ms = 1_767_268_800_123  # 2026-01-01T12:00:00.123Z
    tuples = [("p1", ms, None, "hourly", None, 2.5, -1, True),
              ("p2", ms + 86_400_000 * 40, ms + 1, "session_end", "web", 1e-9, 2**62, False)]
    dicts = [dict(zip(columns, ("p3", 0, 0, "", "", math.inf, 0, False), strict=True))]
    writer = make_writer()
    writer.add("typed", tuples, columns)
    writer.add("typed", dicts, columns)
    writer.close()

    def when(value: int) -> datetime:
        return datetime.fromtimestamp(value / 1000, UTC)

    assert stored(client, "typed") == [
        ("p1", when(ms), None, "hourly", None, 2.5, -1, True),
        ("p2", when(ms + 86_400_000 * 40), when(ms + 1), "session_end", "web", 1e-9, 2**62, False),
        ("p3", when(0), when(0), "", "", math.inf, 0, False),
    ]
    months = {when(row[1]).strftime("%Y%m") for row in tuples} | {"197001"}
    partitions = client.query("SELECT DISTINCT partition FROM system.parts WHERE "
                              "database = currentDatabase() AND table = 'typed'").result_rows
    assert {p for (p,) in partitions} == months


def test_writing_a_batch_twice_stores_it_once(
    client: Client, make_writer: Callable[..., ClickHouseWriter]
) -> None:
    rows = rejected_rows(50)
    for _ in range(2):  # a replay of the same input, by a new writer
        writer = make_writer()
        writer.add("rejected_events", rows, REJECTED)
        writer.close()
    # The dedup token dropped the second insert: no copy even before merges.
    assert count(client) == len(rows)
    assert stored(client) == sorted(rows)


def test_replacing_merge_tree_removes_copies_the_token_cannot_see(
    client: Client, make_writer: Callable[..., ClickHouseWriter]
) -> None:
    rows = rejected_rows(50)
    for batch_rows in (50, 7):  # a resume cuts batches elsewhere: different tokens
        writer = make_writer(batch_rows=batch_rows)
        writer.add("rejected_events", rows, REJECTED)
        writer.close()
    assert count(client) > len(rows)
    assert count(client, final=True) == len(rows)
    assert stored(client) == sorted(rows)


def test_without_a_dedup_window_only_final_removes_the_copy(
    client: Client, make_writer: Callable[..., ClickHouseWriter]
) -> None:
    client.command("CREATE TABLE plain (k UInt32, v String) ENGINE = ReplacingMergeTree ORDER BY k")
    rows = [(k, f"v{k}") for k in range(20)]
    for _ in range(2):
        writer = make_writer()
        writer.add("plain", rows, ["k", "v"])
        writer.close()
    assert count(client, "plain") == 2 * len(rows)
    assert count(client, "plain", final=True) == len(rows)


def test_failed_inserts_are_retried_with_exponential_backoff(
    client: Client, make_writer: Callable[..., ClickHouseWriter]
) -> None:
    flaky = FlakyClient(client, failures=5)
    sleeps: list[float] = []
    writer = make_writer(flaky, sleep=sleeps.append, max_retries=8,
                         retry_initial_s=0.2, retry_max_s=1.0)
    writer.add("rejected_events", rejected_rows(10), REJECTED)
    writer.close()
    assert count(client) == 10
    assert writer.stats.retries == 5
    assert sleeps == [min(0.2 * 2**i, 1.0) for i in range(5)]


def test_a_retry_after_a_lost_response_does_not_double_the_rows(
    client: Client, make_writer: Callable[..., ClickHouseWriter]
) -> None:
    flaky = FlakyClient(client, failures=2, lost_response=True)
    writer = make_writer(flaky)
    writer.add("rejected_events", rejected_rows(10), REJECTED)
    writer.close()
    assert writer.stats.retries == 2
    assert count(client) == 10  # without FINAL: both repeats were dropped on insert
    assert len(flaky.tokens) == 3 and len(set(flaky.tokens)) == 1 and flaky.tokens[0]


def test_a_replay_sends_the_same_tokens_and_other_rows_other_tokens(
    client: Client, make_writer: Callable[..., ClickHouseWriter]
) -> None:
    runs = []
    for start in (0, 0, 1):
        recorder = FlakyClient(client, failures=0)
        writer = make_writer(recorder, batch_rows=4)
        writer.add("rejected_events", rejected_rows(10, start=start), REJECTED)
        writer.close()
        runs.append(recorder.tokens)
    assert runs[0] == runs[1]
    assert len(set(runs[0])) == 3 and None not in runs[0]
    assert not set(runs[0]) & set(runs[2])


def test_giving_up_raises_and_keeps_the_rows(
    client: Client, make_writer: Callable[..., ClickHouseWriter], clickhouse_database: str
) -> None:
    flaky = FlakyClient(client, failures=1000)
    writer = make_writer(flaky, max_retries=2, batch_rows=100)
    writer.add("rejected_events", rejected_rows(5), REJECTED)
    with pytest.raises(SinkDeliveryError) as caught:
        writer.close()
    error = caught.value
    table = f"{clickhouse_database}.rejected_events"
    assert (error.table, error.rows, error.attempts) == (table, 5, 3)
    assert "5 rows" in str(error) and "connection reset" in str(error)
    assert isinstance(error.__cause__, OperationalError)
    assert writer.pending_rows == 5
    assert count(client) == 0

    flaky.failures = 0  # the server is back: nothing was dropped
    writer.close()
    assert count(client) == 5


def test_an_error_retrying_cannot_fix_fails_at_once(
    make_writer: Callable[..., ClickHouseWriter]
) -> None:
    sleeps: list[float] = []
    writer = make_writer(sleep=sleeps.append)
    writer.add("no_such_table", [(1,)], ["k"])
    with pytest.raises(SinkDeliveryError, match="no_such_table") as caught:
        writer.flush()
    assert caught.value.attempts == 1
    assert sleeps == []


def test_bad_rows_are_refused_when_added(make_writer: Callable[..., ClickHouseWriter]) -> None:
    writer = make_writer()
    with pytest.raises(ValueError, match="same width"):
        writer.add("rejected_events", [rejected(1), rejected(2)[:-1]], REJECTED)
    with pytest.raises(ValueError, match="8 columns are named"):
        writer.add("rejected_events", [rejected(1)[:-1]], REJECTED)
    with pytest.raises(ValueError, match="'detail'"):
        partial = dict(zip(REJECTED[:-1], rejected(1), strict=False))
        writer.add("rejected_events", [partial], REJECTED)
    writer.add("rejected_events", [rejected(1)], REJECTED)
    with pytest.raises(ValueError, match="one column list per table"):
        writer.add("rejected_events", [rejected(2)[::-1]], REJECTED[::-1])
    assert writer.pending_rows == 1


def test_add_after_close_is_refused(make_writer: Callable[..., ClickHouseWriter]) -> None:
    writer = make_writer()
    writer.close()
    with pytest.raises(RuntimeError, match="after close"):
        writer.add("rejected_events", [rejected(1)], REJECTED)


def test_writer_from_settings_uses_the_clients_database(client: Client) -> None:
    settings = ClickHouseSettings(batch_rows=123, max_retries=1)
    writer = ClickHouseWriter.from_settings(client, settings, clock=FakeClock())
    assert (writer.database, writer.batch_rows, writer.max_retries) == (client.database, 123, 1)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 60), st.integers(1, 12), st.lists(st.integers(0, 25), max_size=8))
def test_any_chunking_stores_every_row_once_in_full_batches(
    client: Client, make_writer: Callable[..., ClickHouseWriter],
    n: int, batch_rows: int, cuts: list[int],
) -> None:
    table = f"h{next(_tables)}"
    client.command(f"CREATE TABLE {table} (k UInt32, v Float64) "
                   "ENGINE = ReplacingMergeTree ORDER BY k")
    rows = [(k, k / 7) for k in range(n)]
    recorder = FlakyClient(client, failures=0)
    writer = make_writer(recorder, batch_rows=batch_rows)
    for chunk in _chunks(rows, cuts):
        writer.add(table, chunk, ["k", "v"])
    writer.close()
    assert stored(client, table) == rows
    assert count(client, table) == n
    full, rest = divmod(n, batch_rows)
    assert recorder.insert_sizes == [batch_rows] * full + ([rest] if rest else [])


def _chunks(rows: list[tuple], cuts: Sequence[int]) -> Iterator[list[tuple]]:
    start = 0
    for size in cuts:
        yield rows[start:start + size]
        start += size
    yield rows[start:]


_value = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                   st.text(max_size=5))


@given(st.lists(st.lists(_value, min_size=1, max_size=4), min_size=1, max_size=3))
def test_batch_token_depends_on_values_not_object_identity(data: list[list[Any]]) -> None:
    columns = [f"c{i}" for i in range(len(data))]
    copied = [[_copy(value) for value in column] for column in data]
    assert batch_token("t", columns, data) == batch_token("t", columns, copied)
    assert batch_token("t", columns, data) != batch_token("u", columns, data)


def test_batch_token_tells_nan_infinity_and_null_apart() -> None:
    values = (None, math.nan, math.inf, -math.inf, 0.0, -0.0)
    tokens = {batch_token("t", ["x"], [[value]]) for value in values}
    assert len(tokens) == 6


def _copy(value: Any) -> Any:
    if isinstance(value, str):
        return "".join(list(value)) if len(value) > 1 else value  # a new object, same text
    if isinstance(value, int) and not isinstance(value, bool):
        return int(str(value))
    return value


def test_in_the_background_handover_returns_and_flush_waits_for_the_inserts(
    client: Client, make_writer: Callable[..., ClickHouseWriter]
) -> None:
    writer = make_writer(background=True, batch_rows=30)
    writer.add("rejected_events", rejected_rows(100), REJECTED)
    writer.handover()
    assert writer.pending_rows == 0  # every row is in a batch, inserted or on its way
    writer.flush()
    assert writer.unconfirmed() == []
    assert count(client) == 100
    assert writer.stats.rows_written["rejected_events"] == 100
    writer.close()


def test_batches_left_unconfirmed_are_inserted_by_the_next_writer_once(
    client: Client, make_writer: Callable[..., ClickHouseWriter]
) -> None:
    handed_over = threading.Event()  # the first failure waits for every batch to be queued
    flaky = FlakyClient(client, failures=1000, held_until=handed_over)
    crashed = make_writer(flaky, background=True, max_retries=0, batch_rows=40)
    crashed.add("rejected_events", rejected_rows(100), REJECTED)
    crashed.handover()
    handed_over.set()
    with pytest.raises(SinkDeliveryError):
        crashed.flush()
    left = crashed.unconfirmed()  # what the recovery snapshot would hold
    assert sum(batch.rows for batch in left) == 100
    assert count(client) == 0

    restarted = make_writer(background=True)
    restarted.resubmit(left)
    restarted.resubmit(left)  # resubmitted twice: the tokens drop the copies
    restarted.close()
    assert count(client) == 100
    assert stored(client) == sorted(rejected_rows(100))


def test_a_background_failure_is_raised_by_the_next_add(
    make_writer: Callable[..., ClickHouseWriter]
) -> None:
    writer = make_writer(background=True)
    writer.add("no_such_table", [(1,)], ["k"])
    writer.handover()
    with pytest.raises(SinkDeliveryError, match="no_such_table"):
        writer.flush()
    with pytest.raises(SinkDeliveryError, match="no_such_table"):
        writer.add("rejected_events", rejected_rows(1), REJECTED)
