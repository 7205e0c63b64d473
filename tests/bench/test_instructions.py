from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.instructions import REGRESSION, Count, measure, run_stages
from pitboss.replay.simulator.simulate import simulate_to


def test_the_stages_run_on_exactly_the_events_asked_for(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    simulate_to(log, players=30, days=1, seed=3)
    lines = len(log.read_bytes().splitlines())

    assert run_stages(log, 1_500).events == min(1_500, lines)
    assert run_stages(log, 0).events == 0
    assert run_stages(log, lines + 10).events == lines


def test_a_count_reads_back_from_the_report_it_was_written_to() -> None:
    count = Count(20_000, 125_331, 6_000_000_000)
    label, value = count.row()
    report = f"# Benchmarks\n\n| | |\n| --- | --- |\n| {label} | {value} |\n| other | 1 |\n"

    assert Count.found_in(report) == Count(20_000, 125_331, 0)
    assert Count.found_in("# Benchmarks\n") is None


@given(st.integers(1, 10**7), st.integers(1, 10**7))
def test_only_a_rise_above_the_threshold_is_called_a_regression(before: int, after: int) -> None:
    said = Count(20_000, after, 0).versus(Count(20_000, before, 0))

    assert ("REGRESSION" in said) == (after / before - 1 > REGRESSION)


def test_counts_of_different_event_numbers_are_not_compared() -> None:
    said = Count(20_000, 200_000, 0).versus(Count(2_000, 100_000, 0))

    assert "REGRESSION" not in said and "no previous count" in said


def test_without_valgrind_the_count_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no valgrind on the path

    with pytest.raises(RuntimeError, match="valgrind is not installed"):
        measure(tmp_path / "log.jsonl", 10)
