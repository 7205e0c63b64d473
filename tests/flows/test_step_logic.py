"""The one Bytewax adapter for steps: batches in, finish at a complete input, pause, resume."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import TestingSink, TestingSource, run_main

from pitboss.flows.step_logic import stateful_step
from pitboss.operators.step import resumable


class Tally:
    """A step that numbers its items per key and reports its count at the end of input."""

    def __init__(self, seen: int | None = None) -> None:
        self.seen = seen or 0

    def process(self, items: list[object]) -> list[object]:
        out: list[object] = []
        for item in items:
            self.seen += 1
            out.append((self.seen, item))
        return out

    def finish(self) -> list[object]:
        return [("finished", self.seen)]

    def snapshot(self) -> bytes:
        return str(self.seen).encode()


def _run(inputs: list[object], finish_at_eof: bool = True, grouped: bool = False,
         recovery: RecoveryConfig | None = None) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    flow = Dataflow("step_logic")
    keyed = op.key_on("key", op.input("in", flow, TestingSource(inputs)), lambda _: "k")
    steps = stateful_step("tally", keyed, resumable(Tally, int), finish_at_eof, grouped)
    op.output("out", steps, TestingSink(out))
    run_main(flow, epoch_interval=timedelta(0), recovery_config=recovery)
    return out


def test_batches_go_to_process_and_a_complete_input_to_finish() -> None:
    assert _run(["a", "b"]) == [("k", (1, "a")), ("k", (2, "b")), ("k", ("finished", 2))]


def test_with_finish_at_eof_off_the_end_of_input_is_a_pause() -> None:
    assert _run(["a", "b"], finish_at_eof=False) == [("k", (1, "a")), ("k", (2, "b"))]


def test_grouped_values_reach_the_step_as_their_items() -> None:
    out = _run([["a", "b"], ["c"]], grouped=True)
    assert [value for _, value in out] == [(1, "a"), (2, "b"), (3, "c"), ("finished", 3)]


def test_a_restarted_flow_resumes_each_step_from_its_snapshot(tmp_path: Path) -> None:
    init_db_dir(tmp_path, 1)
    recovery = RecoveryConfig(str(tmp_path))
    inputs: list[object] = ["a", "b", TestingSource.ABORT(), "c"]
    first = _run(inputs, finish_at_eof=False, recovery=recovery)
    assert [value for _, value in first] == [(1, "a"), (2, "b")]
    again = _run(inputs, recovery=recovery)
    assert [value for _, value in again] == [(3, "c"), ("finished", 3)]


def test_the_step_id_is_the_one_given() -> None:
    flow = Dataflow("ids")
    keyed = op.key_on("key", op.input("in", flow, TestingSource(["a"])), lambda _: "k")
    stateful_step("player_shards", keyed, resumable(Tally, int))
    assert "ids.player_shards" in {step.step_id for step in flow.substeps}
