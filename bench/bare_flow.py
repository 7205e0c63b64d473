"""The ceiling: a bare Bytewax flow that decodes JSON, keys by player and counts per player.

Measured in the same run and on the same input as the full pipeline, so the
pipeline's throughput can be reported as a ratio of it: the ratio, not an absolute
time, is what holds from machine to machine.
"""

from __future__ import annotations

import time
from pathlib import Path

import bytewax.operators as op
import orjson
from bytewax.dataflow import Dataflow
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from bytewax.testing import run_main

from pitboss.flows.gc_tuning import pipeline_gc
from pitboss.replay.log.source import RecordedLogSource


class _Discard(StatelessSinkPartition[object]):
    def write_batch(self, items: list[object]) -> None:
        """Drop the items: the ceiling measures the flow, not a sink."""


class DiscardSink(DynamicSink[object]):
    """A sink that throws everything away."""

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Discard:
        """Return the discarding partition."""
        return _Discard()


def _decode(batch: list[tuple[str, int, bytes]]) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for _, _, raw in batch:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            out.append((str(obj.get("player_id", "")), obj))
    return out


def _count(state: int | None, _: object) -> tuple[int, None]:
    return (state or 0) + 1, None


def bare_flow(log: Path, batch_size: int = 1000) -> Dataflow:
    """Return the ceiling flow over `log`."""
    flow = Dataflow("bench_bare")
    raw = op.input("inp", flow, RecordedLogSource([log], batch_size))
    keyed = op.flat_map_batch("decode_and_key", raw, _decode)
    counts = op.stateful_map("count", keyed, _count)
    op.output("out", counts, DiscardSink())
    return flow


def measure(log: Path, events: int) -> dict[str, float]:
    """Run the ceiling flow once; return events per second."""
    started = time.perf_counter()
    with pipeline_gc():  # as the pipeline runs, so that the two compare
        run_main(bare_flow(log))
    elapsed = time.perf_counter() - started
    return {"elapsed_s": elapsed, "events_per_s": events / elapsed}
