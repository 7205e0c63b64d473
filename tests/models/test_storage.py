"""Export and import of trained models, through the API and the `pitboss models` commands."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pitboss.app import app
from pitboss.commands import models as _models_command  # noqa: F401  (registers `models`)
from pitboss.config.models import ModelSettings
from pitboss.models.storage import ModelStoreError, export_models, load_models, read_manifest
from pitboss.operators.harm_markers import HARM_MARKERS, MarkerBook
from tests.models.test_model_set import as_values, points, quick_settings, trained


def test_export_then_load_scores_identically(tmp_path: Path) -> None:
    settings = quick_settings()
    models = trained(settings)
    export_models(models, tmp_path / "m")
    loaded = load_models(tmp_path / "m", settings)
    assert [as_values(models.score(p)) for p in points()] == [
        as_values(loaded.score(p)) for p in points()]
    manifest = read_manifest(tmp_path / "m")
    assert manifest["kinds"]["risk"]["labels"] == 60
    assert manifest["kinds"]["risk"]["versions"] == models.versions()["risk"]


def test_corrupt_or_missing_export_is_refused(tmp_path: Path) -> None:
    export_models(trained(quick_settings()), tmp_path)
    (tmp_path / "fraud.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ModelStoreError, match=r"fraud.pkl: SHA-256"):
        load_models(tmp_path, quick_settings())
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(ModelStoreError, match="cannot read manifest"):
        load_models(tmp_path, quick_settings())


def test_champion_under_another_configuration_is_refused(tmp_path: Path) -> None:
    export_models(trained(quick_settings()), tmp_path)
    with pytest.raises(ModelStoreError, match="risk champion was trained under configuration"):
        load_models(tmp_path, quick_settings(), MarkerBook(
            HARM_MARKERS.overridden({"loss_chasing": {"low": 0.05}})))


def test_changed_challenger_starts_fresh_and_keeps_the_champion(tmp_path: Path) -> None:
    settings = quick_settings()
    models = trained(settings)
    export_models(models, tmp_path)
    changed = quick_settings(risk={
        "min_labels": 20, "min_positives": 5, "min_negatives": 5,
        "challenger": {"model": "tree"}})
    loaded = load_models(tmp_path, changed)
    risk = loaded.models["risk"]
    assert risk.champion.n_learned == 60
    assert risk.challenger is not None and risk.challenger.n_learned == 0
    assert risk.champion.version == models.models["risk"].champion.version


def test_cli_export_and_import_round_trip(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    export_models(trained(ModelSettings()), run_dir / "models")
    runner = CliRunner()
    exported = runner.invoke(app, ["models", "export", "--from", str(run_dir),
                                   str(tmp_path / "out")])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "out" / "manifest.json").exists()
    imported = runner.invoke(app, ["models", "import", str(tmp_path / "out"),
                                   "--into", str(tmp_path / "state")])
    assert imported.exit_code == 0, imported.output
    state = tmp_path / "state" / "models"
    assert read_manifest(state) == read_manifest(run_dir / "models")


def test_cli_refuses_a_bad_export(tmp_path: Path) -> None:
    export_models(trained(ModelSettings()), tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    manifest["format"] = 99
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(app, ["models", "import", str(tmp_path / "m"),
                                      "--into", str(tmp_path / "state")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "manifest" in result.stderr
    assert f"DIRECTORY {tmp_path / 'm'}" in result.stderr
    assert not (tmp_path / "state" / "models").exists()
