"""The wallet anomaly detector: its flat forest scores as River does and stays out of pickles."""

import math
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from river import anomaly

from pitboss.models.anomaly import WalletAnomaly
from pitboss.models.half_space import FlatForest
from pitboss.models.inputs import WALLET_INPUTS

CEILINGS = [math.log1p(i.ceiling) for i in WALLET_INPUTS.inputs]
# Values on and around the split range, a few repeated exactly (ties with thresholds are rare,
# repeats are not), and some beyond the limits.
value = st.one_of(st.sampled_from([0.0, 0.5, 1.0, 2.0]), st.floats(-1.0, 11.0))
wallet_point = st.lists(value, min_size=len(CEILINGS), max_size=len(CEILINGS))


def river_score(detector: WalletAnomaly, values: list[float]) -> float:
    """Return River's own `score_one` of `values`, clipped as `WalletAnomaly.score` clips it."""
    if detector.n_learned < detector.window_size:
        return 0.0
    score = detector.model.score_one(dict(zip(detector.names, values, strict=True)))
    return min(1.0, max(0.0, float(score)))


@settings(max_examples=60, deadline=None)
@given(stream=st.lists(wallet_point, min_size=1, max_size=120),
       probes=st.lists(wallet_point, min_size=1, max_size=5),
       window=st.integers(2, 12), height=st.integers(1, 6))
def test_flat_forest_scores_equal_river_bit_for_bit(
        stream: list[list[float]], probes: list[list[float]], window: int, height: int) -> None:
    detector = WalletAnomaly(n_trees=4, height=height, window_size=window, seed=7)
    for i, values in enumerate(stream):
        detector.learn(values)
        if i % 3 == 0:  # score between learns too, so refreshes after pivots are exercised
            for probe in probes:
                assert detector.score(probe) == river_score(detector, probe)
    for probe in [*probes, *stream[:10]]:
        assert detector.score(probe) == river_score(detector, probe)


def test_scoring_changes_nothing_and_the_forest_is_not_pickled() -> None:
    detector = WalletAnomaly(n_trees=5, height=6, window_size=10, seed=3)
    for i in range(35):
        detector.learn([(i % 5) * 0.4] + [float(i % 2)] * 7)
    before = pickle.dumps(detector)
    assert detector.score([0.0] * 8) > 0.0  # builds the flat forest
    assert pickle.dumps(detector) == before
    restored = pickle.loads(before)
    for i in range(25):  # across a pivot, on the restored copy and the original alike
        values = [(i % 7) * 0.3] * 8
        assert restored.score(values) == detector.score(values)
        restored.learn(values)
        detector.learn(values)
    assert masses(restored) == masses(detector)


def masses(detector: WalletAnomaly) -> tuple:
    """Return what learning changes: the nodes' masses, the window counter, the points learned."""
    model = detector.model
    nodes = [(n.l_mass, n.r_mass) for tree_nodes in model._tree_nodes for n in tree_nodes]
    return nodes, model.counter, model._first_window, detector.n_learned


def test_flat_forest_needs_built_trees() -> None:
    with pytest.raises(ValueError, match="no trees"):
        FlatForest(anomaly.HalfSpaceTrees(n_trees=2, height=3, window_size=5), ("a",))
