"""The one Bytewax adapter for every `pitboss.operators.step.Step`, and the operator that uses it.

`stateful_step("player_shards", up, build, finish_at_eof)` hosts one step per key:
`build(None)` makes a fresh one, `build(resume)` one resumed from the bytes its
`snapshot()` returned at the last epoch's end. Batches go to `process`; the end of
the input goes to `finish` when `finish_at_eof` is True (a replay: the log is
complete). A live worker's input only ends because the worker stops, so with
`finish_at_eof=False` the end of the input is a pause: nothing is emitted and the
state is kept untouched for the next start (`docs/operations.md`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import bytewax.operators as op
from bytewax.operators import KeyedStream, StatefulBatchLogic

from pitboss.operators.step import Step, StepBuilder


class StepLogic(StatefulBatchLogic[object, object, bytes]):
    """Adapt a `Step` to Bytewax's batch logic; its state is snapshotted as bytes.

    Args:
        step: the step this key runs.
        finish_at_eof: True when the end of input means the input is complete (replay),
            False when it only means the worker stops and resumes later (live).
        grouped: the values are lists of items (one per upstream batch and key, as
            `IngestRouter.route_by_shard` gathers them), handed on as one batch.
    """

    def __init__(self, step: Step, finish_at_eof: bool = True, grouped: bool = False) -> None:
        self.step = step
        self.finish_at_eof = finish_at_eof
        self.grouped = grouped

    def on_batch(self, values: list[object]) -> tuple[Iterable[object], bool]:
        """Process a batch of the key's values."""
        if self.grouped:
            groups = cast(list[list[object]], values)
            values = groups[0] if len(groups) == 1 else [i for group in groups for i in group]
        return self.step.process(values), StatefulBatchLogic.RETAIN

    def on_eof(self) -> tuple[Iterable[object], bool]:
        """Finish the step at the end of a complete input; at a pause, emit nothing."""
        return (self.step.finish() if self.finish_at_eof else []), StatefulBatchLogic.RETAIN

    def snapshot(self) -> bytes:
        """Return the step's state as bytes."""
        return self.step.snapshot()


def stateful_step(
    step_id: str,
    up: KeyedStream[object],
    build: StepBuilder[Step],
    finish_at_eof: bool = True,
    grouped: bool = False,
) -> KeyedStream[object]:
    """Run one `Step` per key of `up`; return what the steps emit, keyed.

    Args:
        step_id: the stable step id (renaming it orphans recovery state).
        up: the keyed input.
        build: a fresh step for None, else a step resumed from its snapshot bytes.
        finish_at_eof: see `StepLogic`.
        grouped: see `StepLogic`.
    """

    def logic(resume: bytes | None) -> StepLogic:
        return StepLogic(build(resume), finish_at_eof, grouped)

    return op.stateful_batch(step_id, up, logic)
