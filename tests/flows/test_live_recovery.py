"""Crash recovery and graceful stop of `pitboss run` with Bytewax's SQLite recovery.

All runs read every event type from one topic of one partition, so an uninterrupted
run decides exactly what `pitboss replay` decides (`test_live.py` shows that); the
reference here is that replay. The log is produced in chunks, and the worker is
stopped or killed after consuming each chunk but before later ones exist, so every
interruption falls in the middle of the stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pitboss.config.settings import load_settings
from pitboss.replay.live.dev_broker import DevKafka
from tests.flows.conftest import (
    SINGLE_TOPIC,
    SINGLE_TOPIC_ENV,
    WORKER_TIMEOUT_S,
    ActionLog,
    Reference,
    Worker,
    dump_tables,
    free_port,
    produce,
)
from tests.flows.test_live import (
    assert_same_as_reference,
    finish_cluster,
    read_everything,
    wait_for,
)


def chunks(messages: list[bytes], count: int) -> list[list[bytes]]:
    """Split `messages` into `count` consecutive chunks."""
    size = -(-len(messages) // count)
    return [messages[i:i + size] for i in range(0, len(messages), size)]


def finish(worker: Worker, action_log: ActionLog, reference: Reference, total: int) -> None:
    """Wait for the reference's decisions and the end of input, then stop gracefully."""
    action_log.read_until(lambda log: log.ids() >= set(reference.actions), WORKER_TIMEOUT_S,
                          worker.alive)
    wait_for(lambda: worker.position(SINGLE_TOPIC) == total, 20, worker)
    code, seconds = worker.stop()
    assert code == 0, worker.log()
    assert seconds < 10


@pytest.mark.slow
def test_kill_9_three_times_loses_nothing_and_repeats_only_same_ids(
    kafka: DevKafka, start_worker: Callable[..., Worker], action_log: ActionLog,
    reference: Reference, sim_messages: list[bytes], tmp_path: Path,
) -> None:
    """Three SIGKILLs mid-stream: same decision set and rows as an uninterrupted run."""
    args = ["--recovery-dir", str(tmp_path / "recovery")]
    parts = chunks(sim_messages, 4)
    consumed = 0
    for part in parts[:-1]:
        worker = start_worker(kafka.bootstrap, env=SINGLE_TOPIC_ENV, args=args)
        produce(kafka.bootstrap, part, lambda _: SINGLE_TOPIC)
        consumed += len(part)
        wait_for(lambda: worker.position(SINGLE_TOPIC) >= consumed,  # noqa: B023
                 WORKER_TIMEOUT_S, worker)
        worker.kill()
    worker = start_worker(kafka.bootstrap, env=SINGLE_TOPIC_ENV, args=args)
    produce(kafka.bootstrap, parts[-1], lambda _: SINGLE_TOPIC)
    finish(worker, action_log, reference, len(sim_messages))
    read_everything(action_log)
    # Equal sets, every copy of a decision byte-identical, rows equal under FINAL.
    assert_same_as_reference(action_log, reference, worker.data_dir / "clickhouse")


@pytest.mark.slow
def test_sigterm_mid_stream_flushes_everything_and_a_restart_repeats_nothing(
    kafka: DevKafka, start_worker: Callable[..., Worker], action_log: ActionLog,
    reference: Reference, sim_messages: list[bytes], tmp_path: Path,
) -> None:
    """SIGTERM: exit 0 within 10 s, outputs flushed, and the stop is only a pause."""
    args = ["--recovery-dir", str(tmp_path / "recovery")]
    first, second = chunks(sim_messages, 2)
    worker = start_worker(kafka.bootstrap, env=SINGLE_TOPIC_ENV, args=args)
    produce(kafka.bootstrap, first, lambda _: SINGLE_TOPIC)
    wait_for(lambda: worker.position(SINGLE_TOPIC) == len(first), WORKER_TIMEOUT_S, worker)
    code, seconds = worker.stop()
    assert code == 0, worker.log()
    assert seconds < 10
    read_everything(action_log)
    audit = dump_tables(worker.data_dir / "clickhouse")["decisions"]
    assert {row[0] for row in audit if row[1] == "emitted"} == action_log.ids()
    assert action_log.ids() < set(reference.actions)

    worker = start_worker(kafka.bootstrap, env=SINGLE_TOPIC_ENV, args=args)
    produce(kafka.bootstrap, second, lambda _: SINGLE_TOPIC)
    finish(worker, action_log, reference, len(sim_messages))
    read_everything(action_log)
    # The stop committed its last epoch: nothing is emitted twice.
    assert len(action_log.records) == len(action_log.ids())
    assert_same_as_reference(action_log, reference, worker.data_dir / "clickhouse")


def test_a_restart_with_other_learner_settings_stops_with_one_line_naming_them(
    kafka: DevKafka, start_worker: Callable[..., Worker], sim_messages: list[bytes],
    tmp_path: Path,
) -> None:
    """Learned state no longer fits a changed learner: refuse it by name, never a traceback."""
    args = ["--recovery-dir", str(tmp_path / "recovery")]
    first = chunks(sim_messages, 4)[0]
    worker = start_worker(kafka.bootstrap, env=SINGLE_TOPIC_ENV, args=args)
    produce(kafka.bootstrap, first, lambda _: SINGLE_TOPIC)
    wait_for(lambda: worker.position(SINGLE_TOPIC) == len(first), WORKER_TIMEOUT_S, worker)
    assert worker.stop()[0] == 0, worker.log()

    labels = load_settings().models.risk.min_labels + 1
    changed = {**SINGLE_TOPIC_ENV, "PITBOSS_MODELS__RISK__MIN_LABELS": str(labels)}
    restarted = start_worker(kafka.bootstrap, name="restarted", env=changed, args=args)
    assert restarted.process.wait(WORKER_TIMEOUT_S) != 0
    log = restarted.log()
    assert "[models.risk] settings of the champion" in log, log
    assert "Traceback" not in log, log


def start_cluster(start_worker: Callable[..., Worker], bootstrap: str,
                  recovery: Path) -> list[Worker]:
    """Start a 2-process Bytewax cluster on this machine sharing one recovery directory."""
    addresses = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    return [
        start_worker(bootstrap, "cluster", env=SINGLE_TOPIC_ENV,
                     args=["--process-id", str(i), "--addresses", addresses,
                           "--recovery-dir", str(recovery)])
        for i in range(2)
    ]


def reading(workers: list[Worker]) -> int:
    """Return the next offset the cluster reads (the input partition is in one process)."""
    return max(w.position(SINGLE_TOPIC) for w in workers)


@pytest.mark.slow
def test_kill_9_of_one_process_of_two_loses_nothing(
    kafka: DevKafka, start_worker: Callable[..., Worker], action_log: ActionLog,
    reference: Reference, sim_messages: list[bytes], tmp_path: Path,
) -> None:
    """SIGKILL one process of a 2-process cluster mid-stream, each in turn; restart both.

    The process that survives a dead peer stops too (Bytewax's cluster cannot go on
    without it; the operator or the supervisor restarts the cluster). Every restart
    resumes from the last epoch all processes committed: the same decision set and
    rows as an uninterrupted run, repeats only under the same ids.
    """
    recovery = tmp_path / "recovery"
    parts = chunks(sim_messages, 3)
    consumed = 0
    for victim, part in enumerate(parts[:-1]):
        workers = start_cluster(start_worker, kafka.bootstrap, recovery)
        produce(kafka.bootstrap, part, lambda _: SINGLE_TOPIC)
        consumed += len(part)
        wait_for(lambda: reading(workers) >= consumed, WORKER_TIMEOUT_S,  # noqa: B023
                 *workers)
        time.sleep(1.5)  # a few epochs of 0.5 s: both processes hold state by now
        workers[victim].kill()
        survivor = workers[1 - victim]
        code = survivor.process.wait(WORKER_TIMEOUT_S)  # it must not hang on a dead peer
        assert code != 0, survivor.log()
        survivor.kill()  # closes its log
    read_everything(action_log)
    decided_before = action_log.ids()
    assert decided_before, "nothing decided before the kills: the test proves nothing"
    workers = start_cluster(start_worker, kafka.bootstrap, recovery)
    produce(kafka.bootstrap, parts[-1], lambda _: SINGLE_TOPIC)
    finish_cluster(workers, action_log, reference, len(sim_messages))
    assert_same_as_reference(action_log, reference, workers[0].data_dir / "clickhouse")
    # Restarted from nothing, the cluster would send every earlier decision again.
    assert len(action_log.records) - len(action_log.ids()) < len(decided_before)
