"""Unsupervised wallet anomaly detector: Half-Space Trees over capped, log-scaled wallet features.

It needs no labels, so it is useful from the first hour, and it feeds the fraud
rule's `anomalous_wallet_activity` marker. It reads `pitboss.models.inputs.WALLET_INPUTS`:
deposits, declined deposits and withdrawals over 24 hours, instruments, devices
and bonus claims over 7 days, each as `log1p` of the value capped at a documented
ceiling, and hands River's `anomaly.HalfSpaceTrees` those fixed ranges as its
`limits`. A fixed scale rather than a `preprocessing.MinMaxScaler` in front: a
running min-max keeps moving, so the masses the trees counted under the old scale
would describe other points under the new one; fixed ranges are also cheaper to
score. It learns only through `learn` (from `ModelSet.observe` on wallet-event
points); `score` never changes it. Scores go through `pitboss.models.half_space.FlatForest`, a
flat view of River's trees that gives River's score to the bit without a dict
per point; it is derived data, refreshed when the window pivots, left out of
the pickle and rebuilt on first use. HalfSpaceTrees' score is already in [0, 1]
(1 = most anomalous); it is 0 until the detector has filled its first window.

Example:
    >>> detector = WalletAnomaly(n_trees=5, height=4, window_size=10, seed=3)
    >>> pivots = [detector.learn([0.7 + (i % 3) / 10] + [0.0] * 7) for i in range(40)]
    >>> sum(pivots)  # the reference window pivots every 10 points
    4
    >>> detector.score([0.7] + [0.0] * 7) < detector.score([3.0] * 8)
    True

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from river import anomaly

from pitboss.models.half_space import FlatForest
from pitboss.models.inputs import WALLET_INPUTS, limits


class FrozenAnomaly:
    """The wallet anomaly detector's scoring as it stood at one moment; never changes.

    What a model release carries (`pitboss.models.release`): a copy of the flat forest
    and the two numbers a score needs, not River's trees.

    Args:
        forest: the flat forest (a copy of its own), or None before the first window.
        max_score: River's `_max_score` of the detector.

    """

    __slots__ = ("forest", "max_score")

    def __init__(self, forest: FlatForest | None, max_score: float) -> None:
        self.forest = forest
        self.max_score = max_score

    def __getstate__(self) -> tuple[FlatForest | None, float]:
        return self.forest, self.max_score

    def __setstate__(self, state: tuple[FlatForest | None, float]) -> None:
        self.forest, self.max_score = state

    def score(self, values: Sequence[float]) -> float:
        """Return the anomaly score in [0, 1]; 0 before the first window is complete."""
        if self.forest is None:
            return 0.0
        return min(1.0, max(0.0, float(self.forest.score_with(values, self.max_score))))


class WalletAnomaly:
    """HalfSpaceTrees over the wallet inputs, with their fixed ranges as limits.

    Args:
        n_trees: trees in the forest.
        height: depth of each tree.
        window_size: points per reference window (scores are 0 during the first one).
        seed: random seed of the trees.

    """

    def __init__(self, n_trees: int, height: int, window_size: int, seed: int) -> None:
        self.n_trees = n_trees
        self.height = height
        self.window_size = window_size
        self.seed = seed
        self.names = WALLET_INPUTS.names
        self.model = anomaly.HalfSpaceTrees(n_trees=n_trees, height=height,
                                            window_size=window_size,
                                            limits=limits(WALLET_INPUTS), seed=seed)
        self.n_learned = 0
        self._forest: FlatForest | None = None
        self._frozen: FrozenAnomaly | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_forest"]
        state.pop("_frozen", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._forest = None
        self._frozen = None

    def _flat(self) -> FlatForest:
        if self._forest is None:
            self._forest = FlatForest(self.model, self.names)
        return self._forest

    def learn(self, values: Sequence[float]) -> bool:
        """Learn one point's wallet inputs (in `WALLET_INPUTS` order).

        Returns:
            Whether scores changed: the reference window pivoted (scores change only then).

        """
        self.model.learn_one(dict(zip(self.names, values, strict=True)))
        self.n_learned += 1
        if self.model.counter != 0:
            return False
        if self._forest is not None:  # the window pivoted
            self._forest.refresh(self.model)
        self._frozen = None
        return True

    def frozen(self) -> FrozenAnomaly:
        """Return the detector's scoring as it stands now, unchanged by later learning."""
        if self._frozen is None:
            active = self.n_learned >= self.window_size and not self.model._first_window
            self._frozen = FrozenAnomaly(self._flat().copy() if active else None,
                                         float(self.model._max_score))
        return self._frozen

    def score(self, values: Sequence[float]) -> float:
        """Return the anomaly score in [0, 1]; 0 before the first window is complete."""
        return self.frozen().score(values)
