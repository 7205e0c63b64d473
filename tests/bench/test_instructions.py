from pathlib import Path

from bench.instructions import run_stages
from replay.simulator import simulate_to


def test_the_stages_run_on_exactly_the_events_asked_for(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    simulate_to(log, players=30, days=1, seed=3)
    lines = len(log.read_bytes().splitlines())

    assert run_stages(log, 1_500) == min(1_500, lines)
    assert run_stages(log, 0) == 0
    assert run_stages(log, lines + 10) == lines
