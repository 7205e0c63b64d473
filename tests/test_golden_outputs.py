"""The golden digest: a fixed simulated log replayed gives exactly the outputs recorded here.

A restructuring must not change what Pitboss decides. This test drives only the command
line (`pitboss simulate`, `pitboss replay`) and reads the run's tables with chDB directly,
so it does not depend on where any module lives. It hashes every analyst table (FINAL,
in a total order; `schema_migrations` is left out: it records wall-clock install times),
the actions and dead-letter files, and the run summary without its timings.

When a change is MEANT to alter decisions, scores or features, update `GOLDEN_DIGEST`
in the same commit and say why in its message; `PITBOSS_SHOW_GOLDEN=1` prints each
part's digest, to see which output moved.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

pytestmark = pytest.mark.slow

PLAYERS, DAYS, SEED = 150, 6, 5
GOLDEN_DIGEST = "68d0fe866ea1ce832773082c978fe2d614e26c5a2a74714bf29cdf679435927b"
TIMINGS = ("elapsed_s", "events_per_s", "scored_after_waiting")  # as `TIMING_FIELDS` (sinks)

_DUMP = r"""
import sys, orjson
from chdb import session
path = sys.argv[1]
s = session.Session(path)
tables = [line.strip('"') for line in s.query(
    "SELECT name FROM system.tables WHERE database = 'pitboss' "
    "AND name != 'schema_migrations' AND engine NOT LIKE '%View%' ORDER BY name",
    "CSV").bytes().decode().split()]
out = {}
for table in tables:
    sql = (f"SELECT * FROM pitboss.{table} FINAL ORDER BY ALL"
           if s.query(f"SELECT engine FROM system.tables WHERE database = 'pitboss' "
                      f"AND name = '{table}'", "CSV").bytes().decode().strip().strip('"')
           .startswith("Replacing") else f"SELECT * FROM pitboss.{table} ORDER BY ALL")
    out[table] = s.query(sql, "JSONCompactEachRow").bytes().decode()
sys.stdout.buffer.write(orjson.dumps(out))
"""


def _pitboss(*args: str, cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pitboss.cli", *args], cwd=cwd,
                          capture_output=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]


def output_parts(directory: Path) -> dict[str, str]:
    """Replay the golden log in `directory` and return each output's sha256, by name."""
    _pitboss("simulate", "--out", "log.jsonl", "--players", str(PLAYERS), "--days", str(DAYS),
             "--seed", str(SEED), cwd=directory)
    _pitboss("replay", "--input", "log.jsonl", "--out", "run", cwd=directory)
    run = directory / "run"
    dumped = subprocess.run([sys.executable, "-c", _DUMP, str(run / "clickhouse")],
                            capture_output=True, check=False, timeout=120)
    assert dumped.returncode == 0, dumped.stderr.decode()[-3000:]
    parts = {f"table:{name}": rows for name, rows in orjson.loads(dumped.stdout).items()}
    summary = orjson.loads((run / "summary.json").read_bytes())
    for timing in TIMINGS:
        summary.pop(timing, None)
    parts["summary"] = orjson.dumps(summary, option=orjson.OPT_SORT_KEYS).decode()
    for name in ("actions.jsonl", "rejected.jsonl"):
        parts[name] = (run / name).read_text()
    return {name: hashlib.sha256(text.encode()).hexdigest() for name, text in parts.items()}


def golden_digest(parts: dict[str, str]) -> str:
    """Return one digest over every part's digest, in name order."""
    joined = "\n".join(f"{name} {digest}" for name, digest in sorted(parts.items()))
    return hashlib.sha256(joined.encode()).hexdigest()


def test_replay_outputs_match_the_golden_digest(tmp_path: Path) -> None:
    parts = output_parts(tmp_path)
    if os.environ.get("PITBOSS_SHOW_GOLDEN"):
        for name, digest in sorted(parts.items()):
            print(f"{name} {digest}")
    assert len(parts) >= 9, sorted(parts)
    assert golden_digest(parts) == GOLDEN_DIGEST
