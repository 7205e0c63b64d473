"""State pickled before the `pitboss` namespace still loads, and resumes as if never moved.

tests/fixtures/state-before-namespace.pickle holds the three steps' snapshots written by
the layout before the namespace (`operators.player_state...`, `operators.model_step`),
made by tests/operators/state_steps.py. A worker upgraded onto such recovery state must
go on exactly as one that resumes from this version's own snapshot: same snapshot
bytes, same outputs after.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pitboss.config.models import ModelSettings
from pitboss.operators.state_pickle import current_module, load_pickled, written_before_namespace
from tests.operators.state_steps import Steps, cut, messages, run

FIXTURE = Path(__file__).parents[1] / "fixtures" / "state-before-namespace.pickle"


def new_layout(name: str) -> ModuleType:
    """Import a module named as in the old layout from where it lives now."""
    return importlib.import_module(current_module(name))


@pytest.fixture(scope="module")
def old_snapshot() -> dict[str, Any]:
    return pickle.loads(FIXTURE.read_bytes())


@pytest.fixture(scope="module")
def log() -> list[tuple[str, int, bytes]]:
    return messages(new_layout)


@pytest.fixture(scope="module")
def uninterrupted(log: list[tuple[str, int, bytes]]) -> tuple[dict[str, Any], list[Any]]:
    """Return the snapshot this version takes at the cut, and its outputs resumed from it."""
    steps = Steps(new_layout)
    run(log[: cut(log)], steps)
    snapshot = steps.snapshot()
    resumed = Steps(new_layout, snapshot)
    return snapshot, run(log[cut(log):], resumed)


def test_the_fixture_names_only_the_old_modules(old_snapshot: dict[str, Any]) -> None:
    blobs = [*old_snapshot["shards"].values(), old_snapshot["models"], old_snapshot["policy"]]
    assert all(written_before_namespace(blob) for blob in blobs)
    assert all(b"operators." in blob for blob in blobs)


def test_old_shard_and_policy_state_loads_into_the_snapshot_this_version_takes(
    old_snapshot: dict[str, Any], uninterrupted: tuple[dict[str, Any], list[Any]]
) -> None:
    resumed = Steps(new_layout, old_snapshot)
    frozen = [p for s in resumed.shards.values() for p in s.state.players.values()
              if isinstance(p, bytes)]
    assert frozen, "no quiet player kept pickled: the fixture proves less than it should"
    # The models' pickle holds sets, whose order follows the string hash seed of the
    # process: the next test compares what the models do after instead.
    snapshot, expected = resumed.snapshot(), uninterrupted[0]
    assert snapshot["shards"] == expected["shards"]
    assert snapshot["policy"] == expected["policy"]


def test_old_state_resumes_with_the_outputs_of_this_versions_state(
    old_snapshot: dict[str, Any], log: list[tuple[str, int, bytes]],
    uninterrupted: tuple[dict[str, Any], list[Any]],
) -> None:
    resumed = Steps(new_layout, old_snapshot)
    after = run(log[cut(log):], resumed)
    assert after, "nothing after the cut: the test proves nothing"
    assert pickle.dumps(after) == pickle.dumps(uninterrupted[1])


def test_an_old_pickle_never_imports_a_foreign_package_of_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    foreign = tmp_path / "operators"
    foreign.mkdir()
    (foreign / "__init__.py").write_text("raise ImportError('a foreign operators package')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = load_pickled(pickle.loads(FIXTURE.read_bytes())["policy"])
    assert type(loaded).__module__.startswith("pitboss.")


def test_model_settings_pickled_before_they_moved_to_config_load() -> None:
    """Recovery state and exported models hold the model settings, once `models/settings.py`."""
    settings = ModelSettings(churn={"rule": {"drop_low": 0.2}})
    here = pickle.dumps(settings, protocol=0)  # protocol 0 names modules as plain text
    assert here.count(b"pitboss.config.models") > 1
    for before in (b"pitboss.models.settings", b"models.settings"):
        loaded = load_pickled(here.replace(b"pitboss.config.models", before))
        assert loaded == settings
