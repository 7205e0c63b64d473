"""Benchmark `ClickHouseWriter` on embedded chDB, and the insert paths it could have used.

Builds rows shaped like `player_features` (a player id, an epoch-millisecond
DateTime64, two LowCardinality strings, an Int64, a Nullable string and 34
Float64 columns: 40 in all), writes them through the writer in the default
batches of 20,000 rows, and prints rows per second. With `--compare-paths` it
also times one 20,000-row batch through each way of inserting it: column lists
with cached types (what the writer does), the same with a DESCRIBE per insert,
row tuples, timezone-aware datetimes instead of int milliseconds, and a pyarrow
Table through `insert_arrow` (including building the table).

Run: `.venv/bin/python bench/bench_clickhouse_writer.py [--rows 200000] [--compare-paths]`
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from clickhouse_connect.driver.client import Client

from pitboss.sinks.clickhouse_client import open_client
from pitboss.sinks.clickhouse_writer import ClickHouseWriter

FLOATS = 34
COLUMNS: list[tuple[str, str]] = [
    ("player_id", "String"),
    ("as_of", "DateTime64(3, 'UTC')"),
    ("trigger", "LowCardinality(String)"),
    ("jurisdiction", "LowCardinality(String)"),
    ("position", "Int64"),
    ("channel", "Nullable(String)"),
    *[(f"f{i}", "Float64") for i in range(FLOATS)],
]
NAMES = [name for name, _ in COLUMNS]
TYPES = [kind for _, kind in COLUMNS]
ARROW_SCHEMA = pa.schema(
    [("player_id", pa.string()), ("as_of", pa.timestamp("ms", tz="UTC")),
     ("trigger", pa.string()), ("jurisdiction", pa.string()), ("position", pa.int64()),
     ("channel", pa.string()), *[(f"f{i}", pa.float64()) for i in range(FLOATS)]]
)
T0 = 1_767_268_800_000


def make_rows(n: int, seed: int) -> list[tuple[Any, ...]]:
    rnd = random.Random(seed)
    triggers = ["hourly", "session_end", "session_timeout"]
    return [
        (f"p{rnd.randrange(50_000)}", T0 + i * 250, rnd.choice(triggers),
         rnd.choice(["UK", "MT", "SE", "DE"]), i, None if i % 3 else "web",
         *[rnd.random() * 100 for _ in range(FLOATS)])
        for i in range(n)
    ]


def create_table(client: Client, name: str) -> None:
    client.command(f"DROP TABLE IF EXISTS {name}")
    columns = ", ".join(f"{column} {kind}" for column, kind in COLUMNS)
    client.command(
        f"CREATE TABLE {name} ({columns}) ENGINE = ReplacingMergeTree "
        "PARTITION BY toYYYYMM(as_of) ORDER BY (player_id, as_of, trigger) "
        "SETTINGS non_replicated_deduplication_window = 1000"
    )


def bench_writer(client: Client, rows: list[tuple[Any, ...]], chunk: int) -> None:
    create_table(client, "bench_writer")
    # Warm up: the first insert of a process imports pandas inside clickhouse-connect (~0.5 s).
    ClickHouseWriter(client, str(client.database)).close()
    client.insert("bench_writer", rows[:1], column_names=NAMES)
    client.command("TRUNCATE TABLE bench_writer")
    writer = ClickHouseWriter(client, str(client.database))
    started = time.perf_counter()
    for start in range(0, len(rows), chunk):
        writer.add("bench_writer", rows[start:start + chunk], NAMES)
    writer.close()
    elapsed = time.perf_counter() - started
    stored = client.command("SELECT count() FROM bench_writer")
    print(f"writer: {len(rows):,} rows x {len(NAMES)} columns in {elapsed:.2f} s = "
          f"{len(rows) / elapsed:,.0f} rows/s ({writer.stats.batches} inserts, {stored:,} stored)")


def compare_paths(client: Client, rows: list[tuple[Any, ...]], repeats: int) -> None:
    batch = rows[:20_000]
    columns = [list(column) for column in zip(*batch, strict=True)]
    aware = [list(column) for column in columns]
    aware[1] = [datetime.fromtimestamp(ms / 1000, UTC) for ms in columns[1]]
    paths: dict[str, Callable[[Any], object]] = {
        "column lists, int ms, cached types": lambda t: client.insert(
            "bench_paths", columns, column_names=NAMES, column_types=t, column_oriented=True),
        "column lists, int ms, DESCRIBE each": lambda t: client.insert(
            "bench_paths", columns, column_names=NAMES, column_oriented=True),
        "row tuples, int ms, cached types": lambda t: client.insert(
            "bench_paths", batch, column_names=NAMES, column_types=t),
        "column lists, aware datetimes": lambda t: client.insert(
            "bench_paths", aware, column_names=NAMES, column_types=t, column_oriented=True),
        "insert_arrow (building the Table)": lambda t: client.insert_arrow(
            "bench_paths", pa.Table.from_arrays(
                [pa.array(c, type=f.type) for c, f in zip(columns, ARROW_SCHEMA, strict=True)],
                schema=ARROW_SCHEMA)),
    }
    create_table(client, "bench_paths")
    column_types = client.create_insert_context("bench_paths", NAMES).column_types
    timings: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeats):  # interleaved, so load on the machine hits every path alike
        for name, insert in paths.items():
            client.command("TRUNCATE TABLE bench_paths")
            started = time.perf_counter()
            insert(column_types)
            timings[name].append(time.perf_counter() - started)
    for name, seconds in timings.items():
        median = statistics.median(seconds)
        print(f"  {name:38s} median {median * 1000:6.1f} ms  {len(batch) / median:>9,.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=500, help="rows per writer.add call")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--compare-paths", action="store_true")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    rows = make_rows(args.rows, args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-chdb-") as tmp:
        client = open_client(None, Path(tmp) / "clickhouse", "bench")
        try:
            bench_writer(client, rows, args.chunk)
            if args.compare_paths:
                print("one batch of 20,000 rows through each insert path:")
                compare_paths(client, rows, args.repeats)
        finally:
            client.close()


if __name__ == "__main__":
    main()
