"""Analyst SQL: check a statement with the engine's parser, run it read-only, format the rows.

`run_query(client, sql)` hands `sql` to `replay.analysis.query_guard.check_query`, which parses
it with ClickHouse's own parser (chDB, in process) and refuses anything but one
`SELECT`, `SHOW TABLES`, `SHOW COLUMNS`, `SHOW CREATE TABLE`, `DESCRIBE TABLE` or
`EXPLAIN` of such a `SELECT` over the project's tables, with no table function,
`INTO OUTFILE`, `FORMAT` or `SETTINGS` (see that module for the rules and why). The
engine's canonical text of the statement is what runs, with `readonly=1` (which
ClickHouse and chDB enforce: no writes, no DDL, no settings changes) and
`max_execution_time`; rows are streamed and the query is stopped beyond
`QueryLimits.max_rows`. On a server, the compose `analyst` user adds a third line:
it holds only `GRANT SELECT ON pitboss.*`.

Example (not run as a doctest: chDB allows one engine per process):
    >>> client = open_client(None, Path("out/clickhouse"), "pitboss")  # doctest: +SKIP
    >>> run_query(client, "SELECT count() AS n FROM decisions FINAL").columns  # doctest: +SKIP
    ('n',)
    >>> run_query(client, "SELECT * FROM url('http://127.0.0.1:9/')")  # doctest: +SKIP
    Traceback (most recent call last):
    QueryRefusedError: table function url() reads outside the project's tables: ...

"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client

from pitboss.replay.analysis.query_guard import EngineParser, QueryRefusedError, check_query
from pitboss.sinks.clickhouse_client import is_embedded, open_scratch_engine

__all__ = ["QueryLimits", "QueryRefusedError", "QueryResult", "ResultTooLargeError",
           "engine_parser", "run_query", "to_csv", "to_json"]


# Statements whose rows are streamed (chDB streams only SELECTs).
_STREAMED = ("SELECT", "WITH", "(")


class ResultTooLargeError(ValueError):
    """The query returns more rows than `QueryLimits.max_rows`."""


@dataclass(frozen=True)
class QueryLimits:
    """How long an analyst's query may run and how many rows it may return.

    `max_seconds` is sent as `max_execution_time` (the compose analyst profile lets it
    change under readonly=1, capped at 300); `max_rows` is enforced here, while reading.
    """

    max_seconds: int = 60
    max_rows: int = 1_000_000

    def settings(self) -> dict[str, int]:
        """Return the settings every analyst query runs with."""
        return {"readonly": 1, "max_execution_time": self.max_seconds}


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of a query."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@contextmanager
def engine_parser(client: Client | None) -> Iterator[EngineParser]:
    """Yield the engine's parser: `client` itself if it is chDB, else an in-memory chDB.

    A server (even an older one) never parses for itself: the checked canonical text is
    produced in process, and that text is what the server runs. With `client` None the
    check needs no connection at all, so a refused query never reaches a server.

    Raises:
        ChdbPathError: a scratch engine is needed but this process runs chDB on a directory.

    """
    if client is not None and is_embedded(client):
        yield EngineParser(client)
        return
    scratch = open_scratch_engine()
    try:
        yield EngineParser(scratch)
    finally:
        scratch.close()


def run_query(client: Client, sql: str, limits: QueryLimits | None = None,
              database: str | None = None) -> QueryResult:
    """Check `sql` with the engine's parser, run its canonical text read-only, return its rows.

    Args:
        client: the store's client (chDB or a server).
        sql: what the analyst typed.
        limits: time and row limits (defaults: 60 s, 1,000,000 rows).
        database: the project's database; default the client's.

    Raises:
        QueryRefusedError: the statement is not one an analyst may run (one line says why).
        ResultTooLargeError: more than `limits.max_rows` rows.

    """
    limits = limits or QueryLimits()
    with engine_parser(client) as parser:
        statement = check_query(sql, parser, database or str(client.database or ""))
    if not statement.startswith(_STREAMED):  # SHOW, DESCRIBE, EXPLAIN: a few rows
        result = client.query(statement, settings=limits.settings())
        columns, rows = tuple(result.column_names), [tuple(r) for r in result.result_rows]
        _check_size(len(rows), limits)
        return QueryResult(columns, rows)
    rows = []
    with client.query_row_block_stream(statement, settings=limits.settings()) as stream:
        columns = tuple(stream.source.column_names)
        for block in stream:
            rows.extend(tuple(row) for row in block)
            _check_size(len(rows), limits)  # leaving the stream stops the query
    return QueryResult(columns, rows)


def _check_size(rows: int, limits: QueryLimits) -> None:
    if rows > limits.max_rows:
        raise ResultTooLargeError(
            f"the result has more than {limits.max_rows:,} rows: add a LIMIT or aggregate, "
            "or raise --max-rows"
        )


def _cell(value: Any) -> Any:
    """Return a JSON/CSV-friendly form of a cell (RFC 3339 times, lists and maps as is)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def to_csv(result: QueryResult) -> str:
    """Return the result as CSV with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


def to_json(result: QueryResult) -> str:
    """Return the result as a JSON array of objects, one per row."""
    records = [{c: _cell(v) for c, v in zip(result.columns, row, strict=True)}
               for row in result.rows]
    return orjson.dumps(records, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
