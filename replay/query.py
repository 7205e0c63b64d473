"""Read-only SQL for analysts: check a statement, run it with `readonly=1`, format the rows.

`check_read_only(sql)` lets through one statement that starts with SELECT, WITH,
SHOW, DESCRIBE/DESC or EXPLAIN, and refuses anything else: several statements,
`INTO OUTFILE` (which would write a file on the client side), or any other first
keyword. The check reads past string literals, quoted identifiers and comments,
so `SELECT 'a;b'` is one statement. It is a first line of defence with clear
messages; the second is the server: `run_query` always sends `readonly=1`, which
ClickHouse and chDB enforce (no writes, no DDL, no changing settings).

Example:
    >>> check_read_only("SELECT count() FROM decisions FINAL;  -- how many?")
    'SELECT count() FROM decisions FINAL'
    >>> check_read_only("DROP TABLE decisions")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    QueryRefusedError: only SELECT, WITH, SHOW, DESCRIBE and EXPLAIN queries are allowed

"""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client

ALLOWED_FIRST_WORDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN"})
READ_ONLY_SETTINGS = {"readonly": 1}
_TOKEN = re.compile(
    r"""
    (?P<comment>--[^\n]*|\#[^\n]*|/\*.*?\*/)
  | (?P<string>'(?:[^'\\]|\\.|'')*')
  | (?P<quoted>"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`)
  | (?P<semicolon>;)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>\S)
    """,
    re.VERBOSE | re.DOTALL,
)


class QueryRefusedError(ValueError):
    """The statement is not a single read-only query."""


def _tokens(sql: str) -> list[tuple[str, str, int]]:
    """Return `(kind, text, end)` tokens of `sql`, without whitespace; raise on open quotes."""
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(sql):
        if sql[pos].isspace():
            pos += 1
            continue
        match = _TOKEN.match(sql, pos)
        kind = match.lastgroup if match is not None else None
        if match is None or kind is None or (
            kind == "other" and (sql[pos] in "'\"`" or sql.startswith("/*", pos))
        ):
            raise QueryRefusedError(f"unterminated quote or comment at character {pos}")
        if kind != "comment":
            out.append((kind, match.group(0), match.end()))
        pos = match.end()
    return out


def check_read_only(sql: str) -> str:
    """Return the one read-only statement in `sql`, without a trailing `;`.

    Args:
        sql: what the analyst typed.

    Returns:
        The statement to run.

    Raises:
        QueryRefusedError: empty, several statements, a write, DDL or `INTO OUTFILE`.

    """
    tokens = _tokens(sql)
    semicolons = [i for i, (kind, _, _) in enumerate(tokens) if kind == "semicolon"]
    if semicolons and semicolons[0] != len(tokens) - 1:
        raise QueryRefusedError("only one statement at a time: remove everything after the ';'")
    body = tokens[:-1] if semicolons else tokens
    if not body:
        raise QueryRefusedError("the query is empty")
    words = [text.upper() for kind, text, _ in body if kind == "word"]
    first = next((text.upper() for kind, text, _ in body if kind == "word"), "")
    if first not in ALLOWED_FIRST_WORDS:
        raise QueryRefusedError(
            "only SELECT, WITH, SHOW, DESCRIBE and EXPLAIN queries are allowed "
            f"(read-only); this one starts with {first or body[0][1]!r}"
        )
    if any(a == "INTO" and b == "OUTFILE" for a, b in itertools.pairwise(words)):
        raise QueryRefusedError("INTO OUTFILE writes a file: remove it and use --format csv")
    end = body[-1][2]
    start = len(sql) - len(sql.lstrip())
    return sql[start:end].strip()


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of a query."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def run_query(client: Client, sql: str) -> QueryResult:
    """Check `sql` is read-only, run it with the `readonly=1` setting and return its rows.

    Raises:
        QueryRefusedError: the statement is not a single read-only query.

    """
    statement = check_read_only(sql)
    result = client.query(statement, settings=READ_ONLY_SETTINGS)
    return QueryResult(tuple(result.column_names), [tuple(r) for r in result.result_rows])


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
