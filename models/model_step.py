"""The single models step: the global models learn in one deterministic order, and are released.

Every shard's labelled examples, the wallet points the anomaly detector learns from,
and every shard's progress meet here. `ModelStep` merges them into one order that
depends only on the input (`pitboss.operators.ordered_merge`) and, in that order,
learns each label (progressive validation: scored first, then learned) and lets the
anomaly detector learn each wallet point. Scoring does not happen here: at each
event-time boundary the step releases the models (`pitboss.models.release`), and the
scoring shards score with them. So the step is on the path of labels and wallet
events only, never of every point.

A release through boundary b goes out as soon as every item stamped before b has been
learned: before the first item stamped at or after b is handled, or at the end of a
batch once the slowest shard's clock has passed b. Event time for the models' hourly
metrics is the clock of the item being handled.

A `pitboss.operators.step.Step`: the step is its own state (the models, the merge and
what it has released), pickled whole by `snapshot` and read back by `load_state`.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pitboss.models.model_set import ModelSet
from pitboss.models.release import NOTHING_RELEASED, ModelRelease, boundary
from pitboss.operators.ordered_merge import DONE, OrderedMerge, ShardProgress, Stamped
from pitboss.operators.outputs import FinalModels, LabelledExample, ScoringPoint
from pitboss.operators.state_pickle import load_pickled


@dataclass(slots=True)
class UnscoredPoint:
    """A point an earlier version's models step held to score, from recovery state.

    Before releases, every point went through the models step. A step resumed from
    such state scores the points it still held itself, in its merge order, as that
    version did, and sends them on scored (`load_state`).
    """

    order: tuple[int, str, int]
    point: ScoringPoint


class ModelStep:
    """Merge shard outputs, learn from them in order, and release the models at boundaries.

    Args:
        models: the global models (their state is this step's state).
        shards: the names of every shard that feeds the step.
        every_ms: the event time between release boundaries.
    """

    def __init__(self, models: ModelSet, shards: Iterable[str], every_ms: int) -> None:
        self.models = models
        self.merge = OrderedMerge(shards)
        self.every_ms = every_ms
        self.released_through = NOTHING_RELEASED
        self.released_revision = -1  # the models' revision at the last release; -1: none yet

    def process(self, items: list[object]) -> list[object]:
        """Take stamped items and progress reports; return releases and metric rows.

        Points held from an earlier version (`UnscoredPoint`) come out scored too.
        """
        merge = self.merge
        for item in items:
            if isinstance(item, Stamped):
                merge.push(item)
            elif isinstance(item, ShardProgress):
                if item.clock_ms == DONE:
                    merge.done(item.shard)
                else:
                    merge.progress(item.shard, item.clock_ms)
        out = self._handle(merge.ready())
        self._release_through(boundary(merge.slowest(), self.every_ms), out)
        return out

    def finish(self) -> list[object]:
        """Handle everything left at the end of the input; release, then close the hour.

        The last release holds through every boundary, so no point is left waiting.
        """
        out = self._handle(self.merge.drain())
        self._release_through(DONE, out)
        out.extend(self.models.close())
        out.append(FinalModels(self.models))
        return out

    def snapshot(self) -> bytes:
        """Return the step, pickled: its models, its merge and what it has released."""
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    def _handle(self, ready: list[tuple[int, object]]) -> list[object]:
        out: list[object] = []
        models, every = self.models, self.every_ms
        for clock, item in ready:
            self._release_through(boundary(clock, every), out)
            out.extend(models.advance(clock))
            if isinstance(item, LabelledExample):
                out.extend(models.learn(item))
            elif isinstance(item, ScoringPoint):
                models.observe(item)
            elif isinstance(item, UnscoredPoint):
                scored = models.score(item.point)
                models.observe(item.point)
                scored.order = item.order
                out.append(scored)
        return out

    def _release_through(self, through_ms: int, out: list[object]) -> None:
        """Release every boundary up to `through_ms`: nothing stamped at or after it is learned."""
        if through_ms <= self.released_through:
            return
        models = self.models
        changed = models.revision != self.released_revision
        out.append(ModelRelease(through_ms, models.release() if changed else None))
        self.released_through, self.released_revision = through_ms, models.revision


def learns_from(anomaly_triggers: Iterable[str]) -> Callable[[object], bool]:
    """Return the test of what the models step takes from the player shards.

    That is labels, the points the anomaly detector learns from (`anomaly_triggers`)
    and progress reports; the scoring shards take every point.
    """
    triggers = frozenset(anomaly_triggers)

    def needed(item: object) -> bool:
        if isinstance(item, Stamped):
            inner = item.item
            return not isinstance(inner, ScoringPoint) or inner.trigger in triggers
        return isinstance(item, ShardProgress)

    return needed


def load_state(data: bytes) -> ModelStep:
    """Return the models step `ModelStep.snapshot` wrote: the one reader of its bytes.

    A step written before releases (it scored every point; `order` counted them) takes
    up where it stopped: what it had learned, its merge, and the points it held, which
    it scores itself (`UnscoredPoint`); it has released nothing yet.
    """
    step: ModelStep = load_pickled(data)  # this version's or one before the namespace
    if not hasattr(step, "every_ms"):
        del step.order  # type: ignore[attr-defined]  # the count of points it scored
        step.every_ms = 900_000  # until the pipeline sets the configured one
        step.released_through, step.released_revision = NOTHING_RELEASED, -1
        step.merge._heap = [
            (clock, shard, seq, UnscoredPoint((clock, shard, seq), item)
             if isinstance(item, ScoringPoint) else item)
            for clock, shard, seq, item in step.merge._heap]  # same keys: still a heap
    return step
