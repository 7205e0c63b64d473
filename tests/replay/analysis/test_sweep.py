"""The population sweep: its file, its table and worst case, and the command's mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pitboss.cli import app
from pitboss.replay.analysis.sweep import MEASURES, load_sweep, sweep_document, sweep_markdown
from pitboss.replay.simulator.population import DEFAULT, PopulationError

SWEEP = Path(__file__).parents[3] / "replay" / "simulator" / "populations" / "sweep.toml"


def test_the_project_sweep_has_eight_populations_with_the_extremes() -> None:
    populations = {p.name: p for p in load_sweep(SWEEP)}

    assert len(populations) >= 8
    assert populations["default"].harm == DEFAULT.harm
    assert populations["half_harm"].harm.amplitude == 0.5
    assert populations["gradual_onset"].harm.onset == "gradual"
    assert populations["noisy_stakes"].stakes.noise > DEFAULT.stakes.noise
    assert populations["slow_churners"].churn.fade_power > 1
    assert populations["fast_churners"].churn.fade_days > 0
    assert populations["sparse_late_labels"].labels.harm_confirmed_share < 0.5
    assert {p.players for p in populations.values()} == {500}


def test_sweep_entries_override_a_population_file(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text("[stakes]\nscale = 3.0\n")
    (tmp_path / "s.toml").write_text(
        '[sweep]\nplayers = 40\n[[population]]\nname = "a"\nfile = "base.toml"\n'
        'harm = { amplitude = 0.5 }\n')

    [population] = load_sweep(tmp_path / "s.toml")

    assert (population.players, population.stakes.scale, population.harm.amplitude) == (
        40, 3.0, 0.5)


@pytest.mark.parametrize(("text", "message"), [
    ("[sweep]\nplayers = 4\n", "no \\[\\[population\\]\\] entries"),
    ('[[population]]\nname = "a"\n[[population]]\nname = "a"\n', "used twice"),
    ("[[population]]\nplayers = 3\n", "no name"),
    ('[sweep]\nplayerz = 4\n[[population]]\nname = "a"\n', "unknown field 'playerz'"),
])
def test_a_bad_sweep_file_is_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)

    with pytest.raises(PopulationError, match=message):
        load_sweep(path)


def _evaluation(reach_2h: float, false_positives: float) -> dict:
    return {"operator": {"rg_reach": {"within_2h": {"count": 1, "of": 2, "share": reach_2h}},
                         "rg_false_positives": {"share": false_positives}}}


def test_the_worst_case_is_the_lowest_reach_and_the_highest_false_positive_rate(
    tmp_path: Path,
) -> None:
    (tmp_path / "s.toml").write_text('[[population]]\nname = "a"\n[[population]]\nname = "b"\n')
    populations = load_sweep(tmp_path / "s.toml")
    results = [{"evaluation": _evaluation(0.9, 0.01)}, {"evaluation": _evaluation(0.8, 0.05)}]

    document = sweep_document(populations, results, None)

    assert document["worst"]["rg_2h"]["value"] == 0.8
    assert document["worst"]["rg_2h"]["met"] is False
    assert document["worst"]["rg_false_positives"]["value"] == 0.05
    assert document["figures"]["a"]["fraud_before_withdrawal"] is None
    table = sweep_markdown(document)
    assert "| harmed: RG action within 2 h of first harmful play | 90.0% | 80.0% | 80.0% |" in table
    assert len(table.splitlines()) == 2 + len(MEASURES) + 1 + 2


def test_the_command_wants_an_output_directory_for_a_sweep(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", "--sweep", str(SWEEP)])

    assert result.exit_code == 2
    assert "--sweep needs --out" in result.output


def test_the_command_names_a_bad_sweep_file(tmp_path: Path) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text('[[population]]\nname = "a"\nharm = { onset = "sudden" }\n')

    result = CliRunner().invoke(app, ["evaluate", "--sweep", str(bad), "--out", str(tmp_path)])

    assert result.exit_code == 2
    assert f"--sweep {bad}: harm.onset" in result.output


def test_a_population_gets_the_same_figures_however_many_run_at_once(tmp_path: Path) -> None:
    from pitboss.replay.analysis.sweep import run_sweep

    (tmp_path / "s.toml").write_text(
        "[sweep]\nplayers = 40\ndays = 3\nseed = 5\n"
        '[[population]]\nname = "a"\n[[population]]\nname = "b"\nharm = { amplitude = 0.5 }\n')
    populations = load_sweep(tmp_path / "s.toml")

    both = run_sweep(populations, tmp_path / "both", jobs=2)
    alone = run_sweep(populations[:1], tmp_path / "alone", jobs=1)

    assert both["figures"]["a"] == alone["figures"]["a"]
    evaluations = [(tmp_path / d / "a" / "run" / "evaluation.json").read_bytes()
                   for d in ("both", "alone")]
    assert evaluations[0] == evaluations[1]
    assert (tmp_path / "both" / "sweep.md").read_text().count("\n| ") == 1 + len(MEASURES)
