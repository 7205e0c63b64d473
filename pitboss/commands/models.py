"""`pitboss models export` / `pitboss models import`: save trained models and warm-start from them.

A replay writes its models to `OUT/models/` (a `pitboss.models.storage` export: a pickle per
kind, the anomaly detector and `manifest.json`). `export --from STATE_DIR DIR`
checks such an export (manifest, file hashes, and that it loads under the current
configuration) and copies it to `DIR`; `STATE_DIR` is either the export itself or
a run directory holding `models/`. `import DIR --into STATE_DIR` checks `DIR` the
same way and installs it as `STATE_DIR/models/`, replacing what was there in one
rename. Exit status 2 (one line naming the flag and the file) means a bad
configuration or a missing, bad or incompatible export; 1 a failure to copy it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pitboss.app import app
from pitboss.config.models import ModelSettings
from pitboss.config.settings import ConfigError, load_settings
from pitboss.mistakes import InputError, fail
from pitboss.models.storage import MANIFEST, ModelStoreError, load_models, read_manifest

models_app = typer.Typer(no_args_is_help=True, help="Export and import trained online models.")
app.add_typer(models_app, name="models")
MODELS_DIR = "models"
CONFIG_HELP = "TOML file overriding config/defaults.toml."


def model_settings(config: Path | None) -> ModelSettings:
    """Return the `[models]` settings of the configuration (defaults where it has none)."""
    settings = load_settings(config)
    section = getattr(settings, "models", None)
    if isinstance(section, ModelSettings):
        return section
    try:
        return ModelSettings(**(section or {}))
    except ValueError as exc:
        raise ConfigError(f"{config or 'defaults'}: invalid [models] section: {exc}") from exc


def resolve_export(path: Path) -> Path:
    """Return the export directory at `path`, or at `path/models` for a run directory."""
    if (path / MANIFEST).exists():
        return path
    if (path / MODELS_DIR / MANIFEST).exists():
        return path / MODELS_DIR
    raise ModelStoreError(f"{path}: no {MANIFEST} here or under {MODELS_DIR}/")


def check_export(path: Path, settings: ModelSettings) -> str:
    """Check an export fully (hashes, loading, configuration); return a one-line summary."""
    manifest = read_manifest(path)
    models = load_models(path, settings)
    kinds = ", ".join(f"{kind} {manifest['kinds'][kind]['labels']:,} labels"
                      for kind in models.models)
    return f"{kinds}; versions {models.versions()}"


def _copy_export(source: Path, target: Path) -> None:
    """Copy an export's files to `target` through a sibling temporary directory."""
    staging = target.with_name(target.name + ".incoming")
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(source, staging)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)


def checked_export(path: Path, flag: str, settings: ModelSettings) -> tuple[Path, str]:
    """Find the export at `path` and check it fully; return it and a one-line summary.

    Raises:
        InputError: naming the flag, the path and what is wrong with the export.

    """
    try:
        found = resolve_export(path)
        return found, check_export(found, settings)
    except ModelStoreError as exc:
        raise InputError(f"{flag} {exc}") from exc


def _run(action: str, config: Path | None, work: Callable[[ModelSettings], str]) -> None:
    settings = model_settings(config)
    try:
        summary = work(settings)
    except OSError as exc:
        fail(f"{action} failed: {exc}")
    Console(stderr=True).print(summary, soft_wrap=True)


@models_app.command("export")
def export_models(
    directory: Annotated[Path, typer.Argument(help="Where to write the exported models.")],
    source: Annotated[
        Path, typer.Option("--from", help="An export, or a run directory with models/.")
    ],
    config: Annotated[Path | None, typer.Option("--config", "-c", help=CONFIG_HELP)] = None,
) -> None:
    """Check the models saved in a state or run directory and copy them to DIRECTORY."""
    def work(settings: ModelSettings) -> str:
        found, summary = checked_export(source, "--from", settings)
        if directory.resolve() != found.resolve():
            _copy_export(found, directory)
        return f"exported {found} to {directory}: {summary}"

    _run("export", config, work)


@models_app.command("import")
def import_models(
    directory: Annotated[
        Path, typer.Argument(help="An export written by `pitboss models export`.")
    ],
    into: Annotated[
        Path, typer.Option("--into", help="State directory to install the models into (models/).")
    ],
    config: Annotated[Path | None, typer.Option("--config", "-c", help=CONFIG_HELP)] = None,
) -> None:
    """Check an export against the configuration and install it as INTO/models/."""
    def work(settings: ModelSettings) -> str:
        found, summary = checked_export(directory, "DIRECTORY", settings)
        into.mkdir(parents=True, exist_ok=True)
        _copy_export(found, into / MODELS_DIR)
        return f"imported {found} into {into / MODELS_DIR}: {summary}"

    _run("import", config, work)
