"""`pitboss demo`: the live demo end to end (broker, producer, worker, action consumer)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def _count(label: str, text: str) -> int:
    match = re.search(rf"{label}\W+([\d,]+)", text)
    assert match, f"{label!r} not in the summary:\n{text}"
    return int(match.group(1).replace(",", ""))


def _demo(directory: Path, *options: str, seconds: int = 8) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PITBOSS_DEMO_SECONDS": str(seconds), "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pitboss.cli", "demo", "--dir", str(directory), "--rate", "300",
         *options],
        capture_output=True, text=True, env=env, timeout=170, check=False,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_live_demo_runs_stops_cleanly_and_summarises(tmp_path: Path) -> None:
    done = _demo(tmp_path)
    output = done.stdout + done.stderr

    assert done.returncode == 0, output
    produced = _count("events produced", output)
    assert produced > 0
    assert _count("events read by the worker", output) == produced
    assert "decisions" in output
    assert _count("worker exit code", output) == 0
    # Not a terminal: periodic plain lines instead of the live view.
    assert re.search(r"^t=\d+s produced=", done.stdout, re.MULTILINE)
    # The review console ran beside the worker, with a login made up for the run.
    assert re.search(r"^review console: http://127\.0\.0\.1:\d+/  \(login demo-reviewer / ",
                     done.stdout, re.MULTILINE), output
    (run_dir,) = tmp_path.glob("live-*")
    assert f"pitboss query --run {run_dir / 'data'} " in output
    assert (run_dir / "data" / "clickhouse").is_dir()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_live_demo_uses_the_topics_of_its_config(tmp_path: Path) -> None:
    config = tmp_path / "pitboss.toml"
    config.write_text(
        '[kafka.topics]\nbets = "demo.bets"\ndeposits = "demo.deposits"\n'
        'sessions = "demo.sessions"\noutcomes = "demo.outcomes"\n'
        'interventions = "demo.interventions"\n[clickhouse]\ndatabase = "demo_audit"\n'
    )
    done = _demo(tmp_path / "runs", "--config", str(config), seconds=6)
    output = done.stdout + done.stderr

    assert done.returncode == 0, output
    produced = _count("events produced", output)
    assert produced > 0
    # Producer and worker agree on the renamed topics, or the worker would read nothing.
    assert _count("events read by the worker", output) == produced
    assert "audit table not readable" not in output  # read from the configured database
    (run_dir,) = (tmp_path / "runs").glob("live-*")
    assert f"pitboss query --run {run_dir / 'data'} --config {config} " in output


def test_a_bad_config_stops_the_demo_with_a_clear_message(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[kafka]\nlinger_ms = -5\n")
    done = _demo(tmp_path, "--config", str(config))
    assert done.returncode == 2
    assert "configuration" in done.stdout + done.stderr
