"""Exported models on disk: a pickle per kind, the anomaly detector, and `manifest.json`.

An export directory holds `churn.pkl`, `risk.pkl`, `fraud.pkl` (each kind's learned
contenders), `anomaly.pkl` (the wallet anomaly detector) and `manifest.json`
(format, versions, label counts, configuration hashes and each file's SHA-256),
written last, so a directory with a manifest is a complete export. Loading checks
the hashes, then warm-starts a fresh `ModelSet` built from the current settings:

- a champion whose configuration hash differs from the current configuration is an
  error (its weights belong to other inputs or rules): `ModelStoreError`;
- a challenger or anomaly detector whose configuration changed starts fresh, with
  a warning in the log (changing the challenger is the usual reason to retrain it).

Progressive-validation windows and drift detectors start fresh too: an export is
learned state, not a recovery snapshot (pickle the whole `ModelSet` for that).
Pickles execute code when loaded: import exports only from a trusted source.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
from pathlib import Path
from typing import Any

from pitboss.config.models import KINDS, ModelSettings
from pitboss.models.kind_model import Contender
from pitboss.models.model_set import ModelSet
from pitboss.models.versioning import MODEL_FORMAT
from pitboss.operators.harm_markers import MarkerBook
from pitboss.operators.state_pickle import load_pickled

MANIFEST = "manifest.json"
ANOMALY_FILE = "anomaly.pkl"
log = logging.getLogger(__name__)


class ModelStoreError(ValueError):
    """An export directory is incomplete, corrupt or does not fit the configuration."""


def _write_atomic(path: Path, data: bytes) -> str:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


def _anomaly_config(models: ModelSet) -> list[int]:
    a = models.anomaly
    return [a.n_trees, a.height, a.window_size, a.seed]


def export_models(models: ModelSet, directory: Path) -> None:
    """Write `models` to `directory` (created if missing); the manifest goes last."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": MODEL_FORMAT, "hour_ms": models.hour_ms, "kinds": {}}
    for kind, model in models.models.items():
        contenders = {c.role: c for c in model.contenders()}
        digest = _write_atomic(directory / f"{kind}.pkl", pickle.dumps(contenders, protocol=5))
        manifest["kinds"][kind] = {
            "file": f"{kind}.pkl",
            "sha256": digest,
            "labels": model.champion.n_learned,
            "positives": model.champion.positives,
            "versions": {role: c.version for role, c in contenders.items()},
            "config_hashes": {role: c.digest for role, c in contenders.items()},
        }
    digest = _write_atomic(directory / ANOMALY_FILE, pickle.dumps(models.anomaly, protocol=5))
    manifest["anomaly"] = {"file": ANOMALY_FILE, "sha256": digest,
                           "points_learned": models.anomaly.n_learned,
                           "config": _anomaly_config(models)}
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    _write_atomic(directory / MANIFEST, text.encode())


def read_manifest(directory: Path) -> dict[str, Any]:
    """Return the manifest of an export after checking its format and every file's SHA-256.

    Raises:
        ModelStoreError: naming the missing, unreadable or corrupt part.

    """
    path = directory / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except OSError as exc:
        raise ModelStoreError(f"{path}: cannot read manifest: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ModelStoreError(f"{path}: not valid JSON: {exc}") from exc
    if manifest.get("format") != MODEL_FORMAT:
        raise ModelStoreError(f"{path}: format {manifest.get('format')!r}, "
                              f"this version reads {MODEL_FORMAT}")
    kinds = manifest.get("kinds", {})
    missing = [kind for kind in (*KINDS, "anomaly") if kind not in kinds and kind not in manifest]
    if missing:
        raise ModelStoreError(f"{path}: missing entries {missing}")
    for entry in [*kinds.values(), manifest["anomaly"]]:
        _check_file(directory / entry["file"], entry["sha256"])
    return manifest


def _check_file(path: Path, sha256: str) -> None:
    try:
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ModelStoreError(f"{path}: cannot read: {exc.strerror}") from exc
    if actual != sha256:
        raise ModelStoreError(f"{path}: SHA-256 {actual[:12]}... does not match the manifest")


def load_models(directory: Path, settings: ModelSettings,
                markers: MarkerBook | None = None) -> ModelSet:
    """Return a `ModelSet` for `settings` warm-started from the export in `directory`.

    Raises:
        ModelStoreError: a bad export, or a champion trained under another configuration.

    """
    manifest = read_manifest(directory)
    models = ModelSet(settings, markers)
    for kind, model in models.models.items():
        saved: dict[str, Contender] = _unpickle(directory / manifest["kinds"][kind]["file"])
        for fresh in model.contenders():
            old = saved.get(fresh.role)
            if old is not None and old.digest == fresh.digest:
                fresh.adopt(old)
            elif fresh.role == "champion":
                raise ModelStoreError(
                    f"{directory}: {kind} champion was trained under configuration "
                    f"{old.digest[:8] if old else 'none'}, current is {fresh.digest[:8]}")
            else:
                log.warning("%s %s configuration changed: starting it fresh", kind, fresh.role)
    if manifest["anomaly"]["config"] == _anomaly_config(models):
        models.anomaly = _unpickle(directory / manifest["anomaly"]["file"])
    else:
        log.warning("anomaly detector configuration changed: starting it fresh")
    return models


def _unpickle(path: Path) -> Any:
    try:
        return load_pickled(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise ModelStoreError(f"{path}: cannot load: {exc}") from exc
