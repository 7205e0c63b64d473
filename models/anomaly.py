"""Unsupervised wallet anomaly detector: Half-Space Trees over min-max scaled wallet features.

It needs no labels, so it is useful from the first hour, and it feeds the fraud
rule's `anomalous_wallet_activity` marker. The pipeline is
`MinMaxScaler | HalfSpaceTrees` over `models.inputs.WALLET_INPUTS` (counts and
amounts after `log1p`, so one huge deposit does not squash the scale). It learns
only through `learn` (called from `ModelSet.observe` on wallet-event points);
`score` never changes it. HalfSpaceTrees' score is already in [0, 1] (1 = most
anomalous); it is 0 until the detector has filled its first window.

Example:
    >>> detector = WalletAnomaly(n_trees=5, height=4, window_size=10, seed=3)
    >>> for i in range(40):
    ...     detector.learn([1.0 + (i % 3) / 10] + [0.0] * 7)
    >>> 0.0 <= detector.score([9.0] * 8) <= 1.0
    True

"""

from __future__ import annotations

from collections.abc import Sequence

from river import anomaly, compose, preprocessing

from models.inputs import WALLET_INPUTS


class WalletAnomaly:
    """HalfSpaceTrees behind a MinMaxScaler, over the wallet inputs.

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
        self.model = compose.Pipeline(
            preprocessing.MinMaxScaler(),
            anomaly.HalfSpaceTrees(
                n_trees=n_trees, height=height, window_size=window_size, seed=seed
            ),
        )
        self.n_learned = 0

    def learn(self, values: Sequence[float]) -> None:
        """Learn one point's wallet inputs (in `WALLET_INPUTS` order)."""
        self.model.learn_one(dict(zip(self.names, values, strict=True)))
        self.n_learned += 1

    def score(self, values: Sequence[float]) -> float:
        """Return the anomaly score in [0, 1]; 0 before the first window is complete."""
        if self.n_learned < self.window_size:
            return 0.0
        score = self.model.score_one(dict(zip(self.names, values, strict=True)))
        return min(1.0, max(0.0, float(score)))
