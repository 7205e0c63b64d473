"""The single models step: one deterministic order of points and labels for the global models.

All shards' scoring points and labelled examples meet here. `ModelStep` merges
them into one order that depends only on the input (`pitboss.operators.ordered_merge`),
then, in that order, scores each point (pure inference) and learns each label
(progressive validation: scored first, then learned). Event time for the
models' hourly metrics is the time of the item being handled.

A `pitboss.operators.step.Step`: the step is its own state (the models, the merge and
the count of points scored), pickled whole by `snapshot` and read back by `load_state`.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable

from pitboss.models.model_set import ModelSet
from pitboss.operators.ordered_merge import DONE, OrderedMerge, ShardProgress, Stamped
from pitboss.operators.outputs import FinalModels, LabelledExample, ScoringPoint
from pitboss.operators.state_pickle import load_pickled


class ModelStep:
    """Merge shard outputs and run the models over them.

    Args:
        models: the global models (their state is this step's state).
        shards: the names of every shard that feeds the step.
        order: how many points were scored before (resuming).
    """

    def __init__(self, models: ModelSet, shards: Iterable[str], order: int = 0) -> None:
        self.models = models
        self.merge = OrderedMerge(shards)
        self.order = order

    def process(self, items: list[object]) -> list[object]:
        """Take stamped items and progress reports; return scored points and metric rows."""
        merge = self.merge
        for item in items:
            if isinstance(item, Stamped):
                merge.push(item)
            elif isinstance(item, ShardProgress):
                if item.clock_ms == DONE:
                    merge.done(item.shard)
                else:
                    merge.progress(item.shard, item.clock_ms)
        return self._handle(merge.ready())

    def finish(self) -> list[object]:
        """Handle everything left at the end of the input, then close the current metrics hour."""
        out = self._handle(self.merge.drain())
        out.extend(self.models.close())
        out.append(FinalModels(self.models))
        return out

    def snapshot(self) -> bytes:
        """Return the step, pickled: its models, its merge and its count of points."""
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    def _handle(self, ready: list[object]) -> list[object]:
        out: list[object] = []
        models = self.models
        for item in ready:
            if isinstance(item, ScoringPoint):
                out.extend(models.advance(item.ts_ms))
                scored = models.score(item)
                models.observe(item)
                self.order += 1
                scored.order = self.order
                out.append(scored)
            elif isinstance(item, LabelledExample):
                out.extend(models.advance(item.label_ts_ms))
                out.extend(models.learn(item))
        return out


def load_state(data: bytes) -> ModelStep:
    """Return the models step `ModelStep.snapshot` wrote: the one reader of its bytes."""
    step: ModelStep = load_pickled(data)  # this version's or one before the namespace
    return step
