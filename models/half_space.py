"""A flat view of River's `anomaly.HalfSpaceTrees` that scores a point without a dict.

River builds each tree once, on the first `learn_one`: a complete binary tree of
`PaddedBranch` nodes whose splits never change afterwards; only the masses do.
`FlatForest` lists every tree's splits in heap order (the children of node `i` are
`2i + 1` and `2i + 2`), each split's feature as a position in the input list.

River's `_walk_score` adds `r_mass * 2**depth` along a point's path and stops at the
first node with `r_mass < 0.1 * window_size`, or at a leaf. The reference masses
`r_mass` change only when the window pivots (every `window_size` learned points), so
after each pivot `refresh` stores, per node where a walk can stop, the sum River
would have there, and None where it walks on. A score is then one comparison per
level and one addition per tree. The masses are integers, so these sums are exact
and the score is River's `score_one` to the bit. Every feature has a value here,
so River's way around a missing one (follow the busier child) is not needed.
Learning stays River's own `learn_one`; the forest only reads the model.

Example:
    >>> from river import anomaly
    >>> hst = anomaly.HalfSpaceTrees(n_trees=3, height=4, window_size=5, seed=1)
    >>> for i in range(12):
    ...     hst.learn_one({"a": (i % 4) / 4, "b": (i % 3) / 3})
    >>> forest = FlatForest(hst, ("a", "b"))
    >>> forest.score(hst, [0.9, 0.1]) == hst.score_one({"a": 0.9, "b": 0.1})
    True

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class FlatForest:
    """The splits of a built `HalfSpaceTrees` in flat lists, and its score where walks stop.

    Args:
        model: a `HalfSpaceTrees` that has learned at least once (its trees are built).
        names: the feature names, in the order `score` gets its values.

    Raises:
        ValueError: the trees are not built yet.

    """

    __slots__ = ("features", "height", "nodes", "stops", "thresholds")

    def __init__(self, model: Any, names: Sequence[str]) -> None:
        if not model.trees:
            raise ValueError("HalfSpaceTrees has no trees before its first learn_one")
        position = {name: j for j, name in enumerate(names)}
        self.height: int = model.height
        self.nodes = [_heap_order(tree, self.height) for tree in model.trees]
        branches = 2**self.height - 1
        self.features = [[position[n.feature] for n in nodes[:branches]] for nodes in self.nodes]
        self.thresholds = [[n.threshold for n in nodes[:branches]] for nodes in self.nodes]
        self.stops: list[list[float | None]] = []
        self.refresh(model)

    def refresh(self, model: Any) -> None:
        """Recompute where walks stop and their scores from the masses `r_mass` (after a pivot)."""
        size_limit = 0.1 * model.window_size
        self.stops = [_stops(nodes, self.height, size_limit) for nodes in self.nodes]

    def copy(self) -> FlatForest:
        """Return a copy that later `refresh`es of this one leave as it is.

        The lists are shared: splits never change, and `refresh` replaces `stops` whole.
        """
        twin = FlatForest.__new__(FlatForest)
        twin.height, twin.nodes = self.height, self.nodes
        twin.features, twin.thresholds, twin.stops = self.features, self.thresholds, self.stops
        return twin

    def __getstate__(self) -> tuple[Any, ...]:
        """Pickle the splits and stops only: the nodes are River's, needed by `refresh` alone."""
        return self.height, self.features, self.thresholds, self.stops

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.height, self.features, self.thresholds, self.stops = state
        self.nodes = []

    def score(self, model: Any, values: Sequence[float]) -> float:
        """Return `model.score_one` of the point `values` (in `names` order), bit for bit."""
        if model._first_window:
            return 0.0
        return self.score_with(values, model._max_score)

    def score_with(self, values: Sequence[float], max_score: float) -> float:
        """Return the score of `values` past the first window, given the model's `_max_score`."""
        total = 0.0
        for stops, features, thresholds in zip(self.stops, self.features, self.thresholds,
                                               strict=True):
            i = 0
            while (stop := stops[i]) is None:
                i = 2 * i + 1 if values[features[i]] < thresholds[i] else 2 * i + 2
            total += stop
        return 1 - total / max_score


def _heap_order(root: Any, height: int) -> list[Any]:
    """Return the nodes of a complete binary tree of `height` in heap order (by level)."""
    nodes = [root]
    for i in range(2**height - 1):
        nodes.extend(nodes[i].children)
    return nodes


def _stops(nodes: list[Any], height: int, size_limit: float) -> list[float | None]:
    """Return River's score of a walk stopping at each node it can stop at; None elsewhere.

    A walk stops at the first node with `r_mass < size_limit` or at a leaf; its score
    is the sum of `r_mass * 2**depth` over the nodes it visited. Only nodes a walk can
    reach are visited here (those below a stop stay None: no walk gets there).
    """
    stops: list[float | None] = [None] * len(nodes)
    first_leaf = 2**height - 1
    pending = [(0, 1, 0.0)]  # node, 2**depth, sum of the nodes above
    while pending:
        i, depth_pow, above = pending.pop()
        mass = nodes[i].r_mass
        total = above + mass * depth_pow
        if i >= first_leaf or mass < size_limit:
            stops[i] = total
        else:
            pending += ((2 * i + 1, depth_pow * 2, total), (2 * i + 2, depth_pow * 2, total))
    return stops
