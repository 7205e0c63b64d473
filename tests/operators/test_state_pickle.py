"""State pickled before the `pitboss` namespace still loads, and resumes as if never moved.

tests/fixtures/state-before-namespace.pickle holds the three steps' snapshots written by
the layout before the namespace (`operators.player_state...`, `operators.model_step`),
made by tests/operators/state_steps.py. A worker upgraded onto such recovery state must
go on exactly as one that resumes from this version's own snapshot: same snapshot
bytes, same outputs after, but for the features added since the fixture was written
(state format 5): a training example pending from before the upgrade was packed
without them and reads them as 0 (`LabelRules`), and no model reads them.
"""

from __future__ import annotations

import copy
import importlib
import pickle
import re
from array import array
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pitboss.config.models import ModelSettings
from pitboss.operators import player_state as m
from pitboss.operators.feature_pack import pack_features, unpack_features
from pitboss.operators.feature_schema import FEATURE_INDEX, FEATURE_NAMES
from pitboss.operators.ordered_merge import Stamped
from pitboss.operators.outputs import (
    FeatureRow,
    LabelledExample,
    Ordered,
    Score,
    ScoredPoint,
    ScoringPoint,
)
from pitboss.operators.player_shard import load_state
from pitboss.operators.player_state import PlayerState
from pitboss.operators.policy.gate import Decision
from pitboss.operators.state_pickle import current_module, load_pickled, written_before_namespace
from tests.operators.state_steps import Steps, cut, messages, run

FIXTURE = Path(__file__).parents[1] / "fixtures" / "state-before-namespace.pickle"
FIXTURE_POLICY_VERSION = "2026.01.1+6206fa0a"
"""The default policy's version when the fixture was written: its reviews' decision ids hash
it. Both runs decide under it, so that a change to the default policy (any new field
changes the hash) does not change what the test compares."""
FIXTURE_MARKERS = {"stake_shift": {"weight": 0.0, "low": 1e12, "met": 2e12, "high": 2e12}}
"""Markers added since the fixture was written, switched off in every run the test compares:
the fixture's decisions before the cut were taken without them."""
FIXTURE_FEATURES = FEATURE_INDEX["quiet_spreads"]
STAKE_SHIFT = FEATURE_INDEX["stake_shift"]
"""How many features a row had when the fixture was written: those before `quiet_spreads`."""


CHART_FROM, CHART_TO = m.LOG_STAKE_MEAN, m.STAKE_CUSUM + 1
"""The stake-shift chart's running amounts (state format 7): an upgraded player's starts empty."""


def fixture_rows(packed: bytes | None) -> bytes | None:
    """Return a packed feature row cut to the features the fixture's rows have."""
    return None if packed is None else pack_features(unpack_features(packed)[:FIXTURE_FEATURES])


def as_fixture_had_them(shards: dict[str, bytes]) -> dict[str, bytes]:
    """Return each shard's state with every pending row cut to the fixture's features.

    The stake-shift chart, added since, is emptied too: an upgraded player's chart starts
    empty and builds its baseline from the next bets.
    """
    out = {}
    for key, blob in shards.items():
        state = load_state(blob)
        for player_id, kept in state.players.items():
            player = load_pickled(kept) if isinstance(kept, bytes) else kept
            assert isinstance(player, PlayerState)
            player.amounts[CHART_FROM:CHART_TO] = array("d", (0.0,) * (CHART_TO - CHART_FROM))
            player.churn_point = fixture_rows(player.churn_point)
            player.fraud_point = fixture_rows(player.fraud_point)
            if player.quiet_points:
                player.quiet_points = [(t, fixture_rows(r) or b"") for t, r in player.quiet_points]
            state.players[player_id] = pickle.dumps(player, protocol=pickle.HIGHEST_PROTOCOL)
        out[key] = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    return out


def without_chart(row: tuple[float, ...]) -> tuple[float, ...]:
    """Return a full feature row with `stake_shift` read as 0 (an upgraded player's chart)."""
    return (*row[:STAKE_SHIFT], 0.0, *row[STAKE_SHIFT + 1:])


def unversioned(versions: dict[str, str]) -> dict[str, str]:
    """Return model versions with their configuration hashes left out.

    The models step restores its marker table with its state: a step resumed from the
    fixture scores with the table of then, without the rows added since (switched off in
    every run compared, `FIXTURE_MARKERS`): the hash differs, the scores do not.
    """
    return {kind: re.sub(r"-[0-9a-f]{8}-", "-", version) for kind, version in versions.items()}


def unversioned_scores(scores: dict[str, Score]) -> dict[str, Score]:
    """Return scores with their model versions' configuration hashes left out."""
    versions = unversioned({kind: score.model_version for kind, score in scores.items()})
    return {kind: replace(score, model_version=versions[kind]) for kind, score in scores.items()}


def as_the_fixture_had_it(inner: Any) -> Any:
    """Return one output as the fixture's version would have emitted it (see below)."""
    if isinstance(inner, (Stamped, Ordered)):
        return replace(inner, item=as_the_fixture_had_it(inner.item))
    if isinstance(inner, LabelledExample):
        return replace(inner, features=inner.features[:FIXTURE_FEATURES])
    if isinstance(inner, FeatureRow):
        return replace(inner, values=without_chart(inner.values))
    if isinstance(inner, ScoringPoint):
        return replace(inner, features=without_chart(inner.features))
    if isinstance(inner, ScoredPoint):
        return replace(inner, point=as_the_fixture_had_it(inner.point),
                       scores=unversioned_scores(inner.scores),
                       challengers=unversioned_scores(inner.challengers))
    if isinstance(inner, Decision):
        decision = copy.deepcopy(inner)  # made only by the gate: changed in a copy
        if "stake_shift" in decision.features:
            decision.features["stake_shift"] = 0.0
        decision.action = replace(decision.action,
                                  model_versions=unversioned(decision.action.model_versions))
        return decision
    return inner


def examples_as_fixture_had_them(outputs: list[Any]) -> list[Any]:
    """Return the outputs as the fixture's version would have emitted them.

    Every training example's features are cut to the fixture's. The stake-shift chart of a
    player upgraded from the fixture starts empty, so every output's `stake_shift` (state
    format 7) reads 0, and model versions are compared without their configuration hash
    (`unversioned`); with the marker switched off nothing else depends on it.
    """
    return [as_the_fixture_had_it(item) for item in outputs]


def each_pickled(outputs: list[Any]) -> list[bytes]:
    """Return each output's pickle (a pickle of the whole list also shows which share objects)."""
    return [pickle.dumps(item) for item in outputs]


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
    steps = Steps(new_layout, policy_version=FIXTURE_POLICY_VERSION, markers=FIXTURE_MARKERS)
    run(log[: cut(log)], steps)
    snapshot = steps.snapshot()
    resumed = Steps(new_layout, snapshot, policy_version=FIXTURE_POLICY_VERSION,
                    markers=FIXTURE_MARKERS)
    return snapshot, run(log[cut(log):], resumed)


def test_the_fixture_names_only_the_old_modules(old_snapshot: dict[str, Any]) -> None:
    blobs = [*old_snapshot["shards"].values(), old_snapshot["models"], old_snapshot["policy"]]
    assert all(written_before_namespace(blob) for blob in blobs)
    assert all(b"operators." in blob for blob in blobs)


def test_old_shard_and_policy_state_loads_into_the_snapshot_this_version_takes(
    old_snapshot: dict[str, Any], uninterrupted: tuple[dict[str, Any], list[Any]]
) -> None:
    resumed = Steps(new_layout, old_snapshot, policy_version=FIXTURE_POLICY_VERSION,
                    markers=FIXTURE_MARKERS)
    frozen = [p for s in resumed.shards.values() for p in s.state.players.values()
              if isinstance(p, bytes)]
    assert frozen, "no quiet player kept pickled: the fixture proves less than it should"
    # The models' pickle holds sets, whose order follows the string hash seed of the
    # process: the next test compares what the models do after instead.
    snapshot, expected = resumed.snapshot(), uninterrupted[0]
    assert as_fixture_had_them(snapshot["shards"]) == as_fixture_had_them(expected["shards"])
    assert snapshot["policy"] == expected["policy"]


def test_old_state_resumes_with_the_outputs_of_this_versions_state(
    old_snapshot: dict[str, Any], log: list[tuple[str, int, bytes]],
    uninterrupted: tuple[dict[str, Any], list[Any]],
) -> None:
    resumed = Steps(new_layout, old_snapshot, policy_version=FIXTURE_POLICY_VERSION,
                    markers=FIXTURE_MARKERS)
    after = run(log[cut(log):], resumed)
    assert after, "nothing after the cut: the test proves nothing"
    assert each_pickled(examples_as_fixture_had_them(after)) == each_pickled(
        examples_as_fixture_had_them(uninterrupted[1]))
    resumed_rows = {len(e.item.features) for e in after
                    if isinstance(e, Stamped) and isinstance(e.item, LabelledExample)}
    assert resumed_rows == {len(FEATURE_NAMES)}  # pending rows read the new features as 0


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
