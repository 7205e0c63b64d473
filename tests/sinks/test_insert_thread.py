"""The insert thread: order, what stays unconfirmed, failures handed back, backpressure."""

from __future__ import annotations

import threading

import pytest

from pitboss.sinks.insert_thread import InsertBatch, InsertThread

pytestmark = pytest.mark.timeout(30)


def batch(n: int) -> InsertBatch:
    return InsertBatch("t", ("k",), [[n]], f"t:{n}")


class GatedInserts:
    """Inserts that wait for the test to open the gate, recording what was inserted."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.inserted: list[int] = []
        self.fail_on = fail_on

    def __call__(self, item: InsertBatch) -> None:
        self.started.set()
        self.gate.wait()
        number = item.data[0][0]
        if number == self.fail_on:
            raise RuntimeError(f"insert {number} refused")
        self.inserted.append(number)


def test_batches_are_inserted_in_order_and_unconfirmed_until_then() -> None:
    inserts = GatedInserts()
    thread = InsertThread(inserts)
    for n in range(5):
        thread.submit(batch(n))
    assert inserts.started.wait(5)
    assert [b.data[0][0] for b in thread.unconfirmed()] == [0, 1, 2, 3, 4]
    inserts.gate.set()
    thread.wait()
    assert inserts.inserted == [0, 1, 2, 3, 4]
    assert thread.unconfirmed() == []
    thread.stop()


def test_a_failure_stops_the_thread_keeps_the_rest_and_is_raised_to_the_caller() -> None:
    inserts = GatedInserts(fail_on=1)
    thread = InsertThread(inserts)
    for n in range(3):
        thread.submit(batch(n))
    inserts.gate.set()
    with pytest.raises(RuntimeError, match="insert 1 refused"):
        thread.wait()
    assert inserts.inserted == [0]
    assert [b.data[0][0] for b in thread.unconfirmed()] == [1, 2]  # nothing lost
    with pytest.raises(RuntimeError, match="insert 1 refused"):
        thread.submit(batch(3))
    with pytest.raises(RuntimeError, match="insert 1 refused"):
        thread.raise_if_failed()
    thread.stop()


def test_submit_blocks_while_max_pending_batches_wait() -> None:
    inserts = GatedInserts()
    thread = InsertThread(inserts, max_pending=2)
    thread.submit(batch(0))
    thread.submit(batch(1))
    third = threading.Thread(target=thread.submit, args=(batch(2),))
    third.start()
    third.join(0.3)
    assert third.is_alive()  # held back: two batches wait
    inserts.gate.set()
    third.join(5)
    assert not third.is_alive()
    thread.wait()
    assert inserts.inserted == [0, 1, 2]
    thread.stop()


def test_batches_survive_a_pickle_round_trip_for_the_recovery_snapshot() -> None:
    import pickle

    item = InsertBatch("t", ("k", "v"), [[1, 2], ["a", None]], "t:abc")
    assert pickle.loads(pickle.dumps(item)) == item
    assert item.rows == 2


def test_max_pending_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_pending"):
        InsertThread(lambda item: None, max_pending=0)
