"""Model releases: the models step learns in one order; every scoring shard scores on its own.

Learning stays in one place, in one deterministic order (`pitboss.models.model_step`):
labels are rare and days late, and the wallet anomaly detector learns from wallet
events only. Scoring, which every point needs, happens in the scoring shards, each
with the models as released at an event-time boundary. The rule:

- **Boundaries** are the multiples of `[models] release_every_s` of event time
  (from the Unix epoch, UTC).
- **The release at boundary b** is the models as learned from every item the player
  shards stamped before b (labels, and wallet points for the anomaly detector), in
  the models step's merge order (`pitboss.operators.ordered_merge`).
- **A point stamped c** (its shard's clock when it was sent) is scored with the
  release at `boundary(c)`, the last boundary at or before c.

Both depend only on the input, so scores are the same on any number of workers,
processes or input partitions. A point waits only when the models step has not yet
released its boundary, that is, when some shard's clock is still before it: the
models step is behind. `ScoredPoint.waited` says so, and the run's summary counts it.

`ModelRelease` is what the models step sends to every scoring shard: the boundary it
has released through, and the models if they changed since its last release.
`ModelReplica` is a scoring shard's side: the releases its points may still need, and
the points waiting for theirs.

Example:
    >>> from pitboss.config.models import ModelSettings
    >>> from pitboss.models.model_set import ModelSet
    >>> from pitboss.operators.feature_schema import FEATURE_NAMES
    >>> from pitboss.operators.ordered_merge import Stamped
    >>> from pitboss.operators.outputs import ScoringPoint
    >>> replica = ModelReplica(every_ms=900_000)
    >>> point = ScoringPoint("p1", 1_000_000, "bet", "e1", "UK", (0.0,) * len(FEATURE_NAMES))
    >>> replica.take(Stamped("s00", 1_000_000, 1, point))   # boundary 900,000 not released
    []
    >>> [s.order for s in replica.take(ModelRelease(900_000, ModelSet(ModelSettings()).release()))]
    [(1000000, 's00', 1)]

"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pitboss.models.model_set import ReleasedModels
from pitboss.operators.ordered_merge import ShardProgress, Stamped
from pitboss.operators.outputs import ScoredPoint, ScoringPoint
from pitboss.operators.pickling import PickledByFields

NOTHING_RELEASED = -(2**63)
"""The boundary a replica has before its first release: below every clock."""


def boundary(clock_ms: int, every_ms: int) -> int:
    """Return the release boundary of a point stamped `clock_ms`: the last one at or before it.

    >>> boundary(1_799_999, 900_000), boundary(1_800_000, 900_000), boundary(-1, 900_000)
    (900000, 1800000, -900000)
    """
    return clock_ms - clock_ms % every_ms


def is_scoring_input(item: object) -> bool:
    """Return whether a player shard's output goes to its scoring shard: points and progress."""
    return isinstance(item, ShardProgress) or (
        isinstance(item, Stamped) and isinstance(item.item, ScoringPoint))


@dataclass(slots=True)
class ModelRelease(PickledByFields):
    """The models step has released every boundary up to `through_ms`.

    `models` are the models for the boundaries after the previous release's, through
    `through_ms`; None when they did not change since (the previous release's hold).
    """

    through_ms: int
    models: ReleasedModels | None


class ModelReplica:
    """The releases one scoring shard's points may still need, and the points waiting.

    Points come in their shard's order (clocks never go back) and releases in the
    models step's; either may come first. `take` returns each point scored with the
    release of its boundary as soon as that is released, in the order points came.

    Args:
        every_ms: the event time between boundaries (`release_every_s` in ms).

    """

    def __init__(self, every_ms: int) -> None:
        self.every_ms = every_ms
        self.through_ms = NOTHING_RELEASED
        self.versions: deque[tuple[int, ReleasedModels]] = deque()
        """(first boundary it holds for, models), oldest first: all a coming point may need."""
        self.waiting: deque[Stamped] = deque()

    def take(self, item: object) -> list[ScoredPoint]:
        """Take a stamped point, a release or the shard's progress; return points now scored.

        Raises:
            TypeError: anything else (a wiring mistake).

        """
        if isinstance(item, Stamped):
            return self._point(item)
        if isinstance(item, ModelRelease):
            return self._release(item)
        if isinstance(item, ShardProgress):
            self._forget_before(boundary(item.clock_ms, self.every_ms))
            return []
        raise TypeError(f"a model replica takes stamped points, releases and progress, "
                        f"not {item!r}")

    def _point(self, stamped: Stamped) -> list[ScoredPoint]:
        if self.waiting or boundary(stamped.clock_ms, self.every_ms) > self.through_ms:
            self.waiting.append(stamped)
            return []
        return [self._score(stamped, waited=False)]

    def _release(self, release: ModelRelease) -> list[ScoredPoint]:
        if release.through_ms <= self.through_ms:
            return []  # already held (a release is never taken back)
        if release.models is not None:
            self.versions.append((self.through_ms + 1, release.models))
        self.through_ms = release.through_ms
        out: list[ScoredPoint] = []
        waiting, every = self.waiting, self.every_ms
        while waiting and boundary(waiting[0].clock_ms, every) <= self.through_ms:
            out.append(self._score(waiting.popleft(), waited=True))
        return out

    def _score(self, stamped: Stamped, waited: bool) -> ScoredPoint:
        point = stamped.item
        assert isinstance(point, ScoringPoint)
        at = boundary(stamped.clock_ms, self.every_ms)
        self._forget_before(at)
        scored = self.versions[0][1].score(point)
        scored.order = (stamped.clock_ms, stamped.shard, stamped.seq)
        scored.waited = waited
        return scored

    def _forget_before(self, at: int) -> None:
        """Drop the releases no point at or after boundary `at` can need (keep the one in force)."""
        versions = self.versions
        while len(versions) > 1 and versions[1][0] <= at:
            versions.popleft()
