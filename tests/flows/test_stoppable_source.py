"""StoppableSource reports every partition snapshot: the epoch clock readiness is judged on."""

from __future__ import annotations

import threading
from datetime import timedelta

import bytewax.operators as op
import pytest
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSink, TestingSource, run_main

from pitboss.flows.stoppable_source import StoppableSource


def test_every_snapshot_of_every_partition_is_reported() -> None:
    snapshots: list[str] = []
    source = StoppableSource(TestingSource(range(10), batch_size=3), threading.Event(),
                             on_snapshot=lambda: snapshots.append("epoch"))  # fmt: skip
    (part_name,) = source.list_parts()
    part = source.build_part("in", part_name, None)
    part.next_batch()
    first = part.snapshot()
    part.next_batch()
    assert part.snapshot() != first
    assert snapshots == ["epoch", "epoch"]


def test_a_dataflow_reports_its_epoch_ends() -> None:
    """Bytewax snapshots input partitions at each epoch end; the hook sees each one."""
    snapshots: list[int] = []
    out: list[int] = []
    flow = Dataflow("epochs")
    items = op.input("in", flow, StoppableSource(
        TestingSource([1, 2, 3]), threading.Event(),
        on_snapshot=lambda: snapshots.append(1)))  # fmt: skip
    op.output("out", items, TestingSink(out))
    run_main(flow, epoch_interval=timedelta(0))
    assert out == [1, 2, 3] and snapshots


class _BrokersGone(TestingSource):
    """A source whose partition listing never returns, like a metadata request to no broker."""

    def __init__(self) -> None:
        super().__init__([1])
        self.asked = threading.Event()

    def list_parts(self) -> list[str]:
        self.asked.set()
        threading.Event().wait()  # forever: the listing thread is a daemon
        return []


def test_a_stop_request_ends_a_listing_that_never_returns() -> None:
    stop = threading.Event()
    inner = _BrokersGone()
    threading.Thread(target=lambda: inner.asked.wait() and stop.set(), daemon=True).start()
    assert StoppableSource(inner, stop).list_parts() == []


class _Refusing(TestingSource):
    def list_parts(self) -> list[str]:
        raise RuntimeError("error listing partitions for Kafka topic 'bets'")


def test_a_listing_error_reaches_the_caller() -> None:
    with pytest.raises(RuntimeError, match="'bets'"):
        StoppableSource(_Refusing([1]), threading.Event()).list_parts()
