"""Shadow before live: one log under two configurations, compared side by side."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from pitboss.replay.analysis.compare import comparison_html, run_compare
from pitboss.replay.run_store import StoreLocation
from tests.replay.replayed import simulated_log

STRICTER = {
    "min_risk = 0.3\n": "min_risk = 0.2\n",  # first ladder rung: intervene earlier
    "fraud_review = 0.7 ": "fraud_review = 0.5 ",
    "default_consent = false": "default_consent = true",
}


def config_pair(directory: Path) -> tuple[Path, Path]:
    """Write A (the defaults) and B (a stricter policy file, relative to its config)."""
    policy = (Path(__file__).parents[3] / "config" / "policy.toml").read_text()
    for old, new in STRICTER.items():
        assert old in policy
        policy = policy.replace(old, new)
    (directory / "policies").mkdir(parents=True, exist_ok=True)
    (directory / "policies" / "stricter.toml").write_text(policy)
    a, b = directory / "a.toml", directory / "b.toml"
    a.write_text("# the packaged defaults\n")
    b.write_text('policy_file = "policies/stricter.toml"\n')
    return a, b


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return simulated_log(tmp_path_factory.mktemp("compare-sim"))


def databases(tag: str) -> tuple[str, str]:
    return f"t{os.getpid()}_{tag}_a", f"t{os.getpid()}_{tag}_b"


def test_a_stricter_policy_differs_and_both_sides_are_explained(
    log: tuple[Path, Path], tmp_path: Path, chdb_path: Path
) -> None:
    a, b = config_pair(tmp_path)
    result = run_compare(log[0], (a, b), tmp_path / "out", log[1], chdb_path,
                         databases("strict"), sample=5)
    rows = {measure: (va, vb) for measure, va, vb in result.rows}
    summary_a = orjson.loads((tmp_path / "out" / "a" / "summary.json").read_bytes())
    summary_b = orjson.loads((tmp_path / "out" / "b" / "summary.json").read_bytes())
    for kind in ("intervention", "review", "offer"):
        assert rows[f"{kind}s acted (emitted or shadow)"] == (
            f"{summary_a['decisions'][kind]:,}", f"{summary_b['decisions'][kind]:,}")
    assert rows["policy version"][0] != rows["policy version"][1]
    assert rows["offers to protected players (must be 0)"] == ("0", "0")
    assert summary_b["decisions"]["intervention"] >= summary_a["decisions"]["intervention"]
    assert result.players_differing > 0
    assert 0 < len(result.sample) <= 5
    for diff in result.sample:
        assert diff.outcome_a != diff.outcome_b
        for side in (diff.a, diff.b):
            assert side.status and side.decided_at.endswith("Z")
    page = comparison_html(result)
    assert page.count("<tr") >= len(result.rows) + len(result.sample)
    location = StoreLocation.of_run(tmp_path / "out" / "b")
    assert (location.embedded_path, location.database) == (chdb_path, databases("strict")[1])


def test_the_same_configuration_twice_differs_nowhere(
    log: tuple[Path, Path], tmp_path: Path, chdb_path: Path
) -> None:
    a, _ = config_pair(tmp_path)
    result = run_compare(log[0], (a, a), tmp_path / "out", None, chdb_path, databases("same"))
    assert result.players_differing == 0
    assert result.sample == []
    assert all(va == vb for _, va, vb in result.rows)


def test_compare_command_writes_the_comparison(tmp_path: Path) -> None:
    small, truth = simulated_log(tmp_path / "sim", players=40, days=2)
    a, b = config_pair(tmp_path)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-c", "from pitboss.cli import app; app()", "compare",
         "--input", str(small), "--config", str(a), "--config", str(b), "--truth", str(truth),
         "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    document = orjson.loads((out / "comparison.json").read_bytes())
    assert document["names"] == ["a: a.toml", "b: b.toml"]
    assert "policy version" in done.stdout
    assert (out / "comparison.html").read_text().startswith("<!doctype html>")
    assert (out / "a" / "store.json").is_file()
