"""Unsupervised wallet anomaly detector: Half-Space Trees over capped, log-scaled wallet features.

It needs no labels, so it is useful from the first hour, and it feeds the fraud
rule's `anomalous_wallet_activity` marker. It reads `models.inputs.WALLET_INPUTS`:
deposits, declined deposits and withdrawals over 24 hours, instruments, devices
and bonus claims over 7 days, each as `log1p` of the value capped at a documented
ceiling, and hands River's `anomaly.HalfSpaceTrees` those fixed ranges as its
`limits`. A fixed scale rather than a `preprocessing.MinMaxScaler` in front: a
running min-max keeps moving, so the masses the trees counted under the old scale
would describe other points under the new one; fixed ranges are also cheaper to
score. It learns only through `learn` (from `ModelSet.observe` on wallet-event
points); `score` never changes it. HalfSpaceTrees' score is already in [0, 1]
(1 = most anomalous); it is 0 until the detector has filled its first window.

Example:
    >>> detector = WalletAnomaly(n_trees=5, height=4, window_size=10, seed=3)
    >>> for i in range(40):
    ...     detector.learn([0.7 + (i % 3) / 10] + [0.0] * 7)
    >>> detector.score([0.7] + [0.0] * 7) < detector.score([3.0] * 8)
    True

"""

from __future__ import annotations

from collections.abc import Sequence

from river import anomaly

from models.inputs import WALLET_INPUTS, limits


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
