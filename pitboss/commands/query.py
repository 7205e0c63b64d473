"""`pitboss query`: an analyst's SQL against the configured ClickHouse or a run's embedded store.

The statement is parsed by ClickHouse's own parser and refused unless it is one
`SELECT` (or `WITH ... SELECT`), `SHOW TABLES`, `SHOW COLUMNS`, `SHOW CREATE TABLE`,
`DESCRIBE TABLE` or `EXPLAIN` of such a `SELECT` over the project's tables, with no
table function, `INTO OUTFILE`, `FORMAT` or `SETTINGS` (replay/analysis/query_guard.py,
docs/analysts.md). With a server DSN the check runs on an in-memory chDB before any
connection, so a refused query never reaches the server. A refusal is one line on
stderr and exit code 2; a failure of the store or of the query itself is one line and
exit code 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pitboss import preflight
from pitboss.app import app


@app.command()
def query(
    sql: Annotated[str, typer.Argument(
        help="One SELECT (or WITH ... SELECT), SHOW TABLES, SHOW COLUMNS, SHOW CREATE TABLE, "
             "DESCRIBE TABLE, or EXPLAIN of such a SELECT, over the project's tables.")],
    fmt: Annotated[Literal["table", "csv", "json"], typer.Option(
        "--format", "-f", help="Output format.")] = "table",
    clickhouse: Annotated[str | None, typer.Option(
        "--clickhouse", help="ClickHouse server DSN.", envvar="PITBOSS_CLICKHOUSE__DSN")] = None,
    run: Annotated[Path | None, typer.Option(
        "--run", help="Query this replay's embedded store instead of a server.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="TOML file overriding config/defaults.toml.")] = None,
    max_seconds: Annotated[int, typer.Option(
        "--max-seconds", min=1, help="Stop the query after this many seconds.")] = 60,
    max_rows: Annotated[int, typer.Option(
        "--max-rows", min=1, help="Refuse a result with more rows than this.")] = 1_000_000,
) -> None:
    """Run one read-only analyst query (parsed by ClickHouse; anything else is refused)."""
    from clickhouse_connect.driver.exceptions import Error as DriverError

    from pitboss.replay.analysis.query import (
        QueryLimits,
        QueryRefusedError,
        ResultTooLargeError,
        engine_parser,
        run_query,
        to_csv,
        to_json,
    )
    from pitboss.replay.analysis.query_guard import QueryParserUnavailableError, check_query
    from pitboss.replay.run_store import RunStoreError, StoreLocation, open_store
    from pitboss.sinks.clickhouse_client import ChdbPathError, split_dsn

    err = Console(stderr=True)
    # The operator's mistakes (configuration, run directory, server) are one line, exit 2.
    database = preflight.configuration(config).clickhouse.database
    if run is not None and not clickhouse:
        preflight.run_directory(run, "--run")
        location = StoreLocation.of_run(run, None, database)
    elif not clickhouse:
        raise RunStoreError("nothing to query: pass --run DIR or --clickhouse DSN "
                            "(or set PITBOSS_CLICKHOUSE__DSN)")
    else:
        location = StoreLocation(clickhouse, None, database)
    try:
        if clickhouse:
            # Refuse before connecting: a refused query never reaches the server.
            with engine_parser(None) as parser:
                check_query(sql, parser, split_dsn(clickhouse)[1] or database)
            preflight.clickhouse_server(clickhouse, "--clickhouse")
        client = open_store(location)
        try:
            result = run_query(client, sql, QueryLimits(max_seconds, max_rows))
        finally:
            client.close()
    except (QueryRefusedError, ResultTooLargeError) as exc:
        err.print(f"[red]refused:[/red] {escape(_one_line(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    except (DriverError, ChdbPathError, QueryParserUnavailableError) as exc:
        err.print(f"[red]query failed:[/red] {escape(_one_line(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    if fmt == "csv":
        sys.stdout.write(to_csv(result))
    elif fmt == "json":
        sys.stdout.write(to_json(result) + "\n")
    else:
        table = Table(*(escape(c) for c in result.columns))
        for row in result.rows:
            table.add_row(*(escape(str(v)) for v in row))
        Console().print(table)
        err.print(f"{len(result.rows):,} rows")


def _one_line(exc: Exception) -> str:
    """Return an error's message on one line (engine messages can span several)."""
    return " ".join(str(exc).split())
