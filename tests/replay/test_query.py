"""Read-only queries: the statement check, readonly=1 at the engine, and the command."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError
from hypothesis import given
from hypothesis import strategies as st

from replay.query import QueryRefusedError, check_read_only, run_query, to_csv, to_json
from tests.replay.replayed import ReplayedRun, replayed_run, simulated_log

PITBOSS = [sys.executable, "-c", "from pitboss.cli import app; app()"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, chdb_path: Path) -> ReplayedRun:
    return replayed_run(tmp_path_factory.mktemp("query"), chdb_path, "query")


@pytest.mark.parametrize("sql", [
    "SELECT 1", "  select 1 ;", "WITH 1 AS x SELECT x", "SHOW TABLES", "DESCRIBE decisions",
    "DESC decisions", "EXPLAIN SELECT 1", "(SELECT 1) UNION ALL (SELECT 2)",
    "SELECT 'a;b' AS s -- trailing; comment", "SELECT \"weird;name\" FROM t /* ; */",
])
def test_read_only_statements_pass(sql: str) -> None:
    assert check_read_only(sql)


@pytest.mark.parametrize("sql", [
    "INSERT INTO decisions VALUES (1)", "DROP TABLE decisions", "ALTER TABLE x DELETE WHERE 1",
    "CREATE TABLE x (a UInt8) ENGINE = Memory", "TRUNCATE TABLE decisions", "OPTIMIZE TABLE x",
    "SYSTEM STOP MERGES", "SET readonly = 0", "SELECT 1; DROP TABLE decisions",
    "SELECT 1; SELECT 2", "SELECT * FROM decisions INTO OUTFILE 'x.csv'", "", "  ;",
    "-- only a comment", "SELECT 'unterminated", "GRANT ALL ON *.* TO x",
])
def test_writes_ddl_and_several_statements_are_refused(sql: str) -> None:
    with pytest.raises(QueryRefusedError):
        check_read_only(sql)


@given(st.text(max_size=60))
def test_any_text_either_passes_as_one_read_only_statement_or_is_refused(text: str) -> None:
    try:
        statement = check_read_only(text)
    except QueryRefusedError:
        return
    first = statement.lstrip("( \t\n").split(None, 1)[0].upper()
    assert first.startswith(("SELECT", "WITH", "SHOW", "DESC", "EXPLAIN")) or "--" in text \
        or "/*" in text or "#" in text


def test_the_engine_enforces_readonly_too(run: ReplayedRun) -> None:
    client = run.client()
    try:
        # A write that slips past the first check still meets readonly=1 at the engine.
        with pytest.raises(DatabaseError, match="readonly"):
            client.query("CREATE TABLE sneaky (x UInt8) ENGINE = Memory",
                         settings={"readonly": 1})
        result = run_query(client, "SELECT kind, count() AS n FROM decisions FINAL GROUP BY kind"
                                   " ORDER BY kind")
    finally:
        client.close()
    assert result.columns == ("kind", "n")
    counted = {kind: n for kind, n in result.rows}
    summary_rows = sum(run.summary["decisions_by_status"].values())
    assert sum(counted.values()) == summary_rows


def test_csv_and_json_carry_the_same_rows(run: ReplayedRun) -> None:
    client = run.client()
    try:
        result = run_query(client, "SELECT player_id, as_of, stake_24h FROM player_features FINAL"
                                   " ORDER BY player_id, as_of LIMIT 5")
    finally:
        client.close()
    table = list(csv.reader(io.StringIO(to_csv(result))))
    records = orjson.loads(to_json(result))
    assert table[0] == ["player_id", "as_of", "stake_24h"]
    assert [r[0] for r in table[1:]] == [r["player_id"] for r in records] == \
        [row[0] for row in result.rows]
    assert records[0]["as_of"].endswith("+00:00")


def test_query_command_on_a_run_directory(tmp_path: Path) -> None:
    log, _ = simulated_log(tmp_path / "sim", players=40, days=2)
    out = tmp_path / "run"
    replayed = subprocess.run([*PITBOSS, "replay", "--input", str(log), "--out", str(out)],
                              capture_output=True, text=True)
    assert replayed.returncode == 0, replayed.stderr
    summary = orjson.loads((out / "summary.json").read_bytes())
    done = subprocess.run([*PITBOSS, "query", "SELECT count() AS n FROM player_features FINAL",
                           "--run", str(out), "--format", "json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout) == [{"n": summary["feature_rows"]}]
    refused = subprocess.run([*PITBOSS, "query", "DROP TABLE decisions", "--run", str(out)],
                             capture_output=True, text=True)
    assert refused.returncode == 2
    still = subprocess.run([*PITBOSS, "query", "EXISTS TABLE decisions", "--run", str(out)],
                           capture_output=True, text=True)
    assert still.returncode == 2  # EXISTS is not on the allowed list either
    kept = subprocess.run([*PITBOSS, "query", "SELECT count() FROM player_features FINAL",
                           "--run", str(out), "--format", "csv"], capture_output=True, text=True)
    assert kept.returncode == 0, kept.stderr
    assert int(kept.stdout.splitlines()[1]) == summary["feature_rows"]
