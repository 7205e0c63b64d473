"""Analyst queries on a replay's store: readonly=1 at the engine, output formats, the command.

The guard itself (the hostile battery) is tested in tests/replay/test_query_guard.py.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from pitboss.replay.analysis.query import run_query, to_csv, to_json
from tests.replay.replayed import ReplayedRun, replayed_run, simulated_log

PITBOSS = [sys.executable, "-c", "from pitboss.cli import app; app()"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, chdb_path: Path) -> ReplayedRun:
    return replayed_run(tmp_path_factory.mktemp("query"), chdb_path, "query")


def test_the_engine_enforces_readonly_too(run: ReplayedRun) -> None:
    unguarded, client = run.client(), run.client()
    try:
        # A write that slips past the guard still meets readonly=1 at the engine. (Its own
        # client: the failed statement leaves that session in readonly mode.)
        with pytest.raises(DatabaseError, match="readonly"):
            unguarded.query("CREATE TABLE sneaky (x UInt8) ENGINE = Memory",
                            settings={"readonly": 1})
        result = run_query(client, "SELECT kind, count() AS n FROM decisions FINAL GROUP BY kind"
                                   " ORDER BY kind")
    finally:
        unguarded.close()
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
    watched = tmp_path / "watched"
    watched.mkdir()
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
    for sql in ["DROP TABLE decisions", "EXISTS TABLE decisions",
                f"SELECT $$'$$ AS a, 'x' AS b INTO OUTFILE '{watched / 'f'}' --'",
                "DESCRIBE file('/etc/passwd', 'TSVWithNames')",
                "SELECT * FROM system.users"]:
        refused = subprocess.run([*PITBOSS, "query", sql, "--run", str(out)],
                                 capture_output=True, text=True)
        assert refused.returncode == 2, (sql, refused.stderr)
        assert refused.stderr.startswith("refused: ") and refused.stderr.count("\n") == 1, \
            refused.stderr
        assert "Traceback" not in refused.stderr and refused.stdout == ""
    assert list(watched.iterdir()) == []
    too_many = subprocess.run([*PITBOSS, "query", "SELECT * FROM player_features", "--run",
                               str(out), "--max-rows", "3"], capture_output=True, text=True)
    assert too_many.returncode == 2 and "more than 3 rows" in too_many.stderr
    broken = subprocess.run([*PITBOSS, "query", "SELECT no_such_column FROM decisions", "--run",
                             str(out)], capture_output=True, text=True)
    assert broken.returncode == 1 and broken.stderr.startswith("query failed: ")
    assert broken.stderr.count("\n") == 1 and "Traceback" not in broken.stderr
    kept = subprocess.run([*PITBOSS, "query", "SELECT count() FROM player_features FINAL",
                           "--run", str(out), "--format", "csv"], capture_output=True, text=True)
    assert kept.returncode == 0, kept.stderr
    assert int(kept.stdout.splitlines()[1]) == summary["feature_rows"]
