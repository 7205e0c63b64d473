"""`pitboss run` end to end: a real Kafka-protocol broker (Tansu), real chDB.

What equality is asserted, and why:
- With every event type on ONE topic of ONE partition, the worker reads the log in
  exactly the order a replay does, so it must decide exactly the same decisions
  (same ids, same JSON bytes) and write the same ClickHouse rows as `pitboss replay`
  over that log (`reference`, compared before the sentinels: see conftest).
- With each event type on its own topic (the contract's layout), Bytewax interleaves
  the topics by timing, so which events arrive late (and therefore some decisions)
  can differ from a replay; there the test checks the worker's own accounting
  instead: every message counted, every emitted decision on its action topic with
  the right key, headers and JSON contract, and on Kafka exactly what the audit
  table says was emitted.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import confluent_kafka
import orjson
import pytest

from pitboss.config.kafka import KafkaTopics
from pitboss.replay.live.dev_broker import DevKafka, count_messages
from tests.flows.conftest import (
    ACTION_TOPICS,
    SINGLE_TOPIC,
    SINGLE_TOPIC_ENV,
    WORKER_TIMEOUT_S,
    ActionLog,
    Reference,
    Worker,
    dump_tables,
    free_port,
    produce,
    topic_by_event_type,
)

KIND_TOPICS = {"intervention": "actions.interventions", "offer": "actions.offers",
               "review": "actions.reviews"}


def wait_for(condition: Callable[[], bool], timeout_s: float, *workers: Worker) -> None:
    """Poll `condition` until it holds; fail at the deadline or when a worker dies."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        for worker in workers:
            worker.alive()
        assert time.monotonic() < deadline, f"condition not met within {timeout_s} s"
        time.sleep(0.1)


def topic_totals(bootstrap: str, topics: tuple[str, ...]) -> int:
    """How many messages the topics hold, each read to its end."""
    return sum(count_messages(bootstrap, topic) for topic in topics)


def read_everything(action_log: ActionLog) -> None:
    """Read the action topics to their end (the producers have exited)."""
    total = topic_totals(action_log.bootstrap, ACTION_TOPICS)
    action_log.read_until(lambda log: len(log.records) >= total, 20.0)


def check_contract(message: confluent_kafka.Message) -> dict[str, object]:
    """Check one action message's key, headers, topic and JSON; return the JSON."""
    record = orjson.loads(message.value() or b"")
    headers = dict(message.headers() or [])
    assert message.key() == record["player_id"].encode()
    assert headers["decision_id"] == record["decision_id"].encode()
    assert headers["policy_version"] == record["policy_version"].encode()
    assert message.topic() == KIND_TOPICS[record["kind"]]
    assert len(record["decision_id"]) == 32
    assert set(record) >= {"decision_id", "player_id", "kind", "action", "severity",
                           "decided_at", "trigger", "reasons", "scores", "policy_version"}
    return record


def assert_same_as_reference(action_log: ActionLog, reference: Reference,
                             clickhouse_dir: Path, exclude: tuple[str, ...] = ("source",)) -> None:
    """Check ids and bytes equal the replay's, duplicates are identical, rows are equal."""
    by_id: dict[str, set[bytes]] = {}
    for message in action_log.records:
        record = check_contract(message)
        by_id.setdefault(str(record["decision_id"]), set()).add(message.value() or b"")
    assert set(by_id) == set(reference.actions)
    for decision_id, values in by_id.items():
        assert values == {reference.actions[decision_id]}, decision_id
    tables = dump_tables(clickhouse_dir, exclude=exclude)
    for table, rows in reference.tables.items():
        if table == "model_metrics":  # METRICS_NOTE
            live = {orjson.dumps(row) for row in tables[table]}
            assert live and live <= {orjson.dumps(row) for row in rows}
        else:
            assert tables[table] == rows, table


def test_live_worker_decides_what_replay_decides_and_stops_on_sigterm(
    kafka: DevKafka, start_worker: Callable[..., Worker], action_log: ActionLog,
    reference: Reference, sim_messages: list[bytes],
) -> None:
    """One topic, one partition: live equals replay; SIGTERM exits 0 within 10 s, flushed."""
    worker = start_worker(kafka.bootstrap, env=SINGLE_TOPIC_ENV)
    produce(kafka.bootstrap, sim_messages, lambda _: SINGLE_TOPIC)
    action_log.read_until(lambda log: log.ids() >= set(reference.actions), WORKER_TIMEOUT_S,
                          worker.alive)
    wait_for(lambda: worker.position(SINGLE_TOPIC) == len(sim_messages), 20, worker)
    metrics = worker.metrics()
    assert metrics[("pitboss_events_in_total", (("topic", SINGLE_TOPIC),))] == len(sim_messages)
    decided = sum(v for (name, _), v in metrics.items() if name == "pitboss_decisions_total")
    code, seconds = worker.stop()
    assert code == 0, worker.log()
    assert seconds < 10
    read_everything(action_log)
    assert len(action_log.records) == len(action_log.ids())  # one uninterrupted run: no repeats
    assert_same_as_reference(action_log, reference, worker.data_dir / "clickhouse")
    assert decided == len(reference.tables["decisions"])
    assert reference.tables["compliance_state"], "no compliance facts: the comparison is empty"


def test_each_event_type_on_its_own_topic_is_fully_accounted(
    kafka: DevKafka, start_worker: Callable[..., Worker], action_log: ActionLog,
    sim_messages: list[bytes],
) -> None:
    """The contract's topic layout: every message counted, Kafka agrees with the audit table."""
    topics = KafkaTopics()
    produced = Counter(topic_by_event_type(m) for m in sim_messages)
    worker = start_worker(kafka.bootstrap)
    produce(kafka.bootstrap, sim_messages, topic_by_event_type)
    wait_for(lambda: all(worker.position(t) == n for t, n in produced.items()),
             WORKER_TIMEOUT_S, worker)
    metrics = worker.metrics()
    for topic in topics.inputs:
        key = ("pitboss_events_in_total", (("topic", topic),))
        assert metrics.get(key, 0) == produced[topic], topic

    # Every message is read by now, but the last batches may still be on their way to the
    # outputs: wait until the worker's count of dead letters has held still for a second
    # and equals what the dead-letter topic holds.
    def rejected_total() -> float:
        return sum(v for (name, _), v in worker.metrics().items()
                   if name == "pitboss_events_rejected_total")

    counts: list[float] = []

    def settled() -> bool:
        counts.append(rejected_total())
        steady = len(counts) > 10 and counts[-11] == counts[-1]  # polled every 0.1 s
        return steady and topic_totals(kafka.bootstrap, (topics.rejected,)) == counts[-1]

    wait_for(settled, WORKER_TIMEOUT_S, worker)
    rejected = counts[-1]
    code, _ = worker.stop()
    assert code == 0, worker.log()
    read_everything(action_log)
    tables = dump_tables(worker.data_dir / "clickhouse")
    emitted = {row[0] for row in tables["decisions"] if row[1] == "emitted"}
    assert emitted, "no decision was emitted: the test would prove nothing"
    for message in action_log.records:
        check_contract(message)
    assert action_log.ids() == emitted
    dead = topic_totals(kafka.bootstrap, (topics.rejected,))
    assert dead == rejected == len(tables["rejected_events"]) > 0


@pytest.mark.slow
def test_two_processes_decide_what_one_process_decides(
    kafka: DevKafka, start_worker: Callable[..., Worker], action_log: ActionLog,
    reference: Reference, sim_messages: list[bytes],
) -> None:
    """A 2-process Bytewax cluster on one machine gives the replay's (= one process's) ids."""
    addresses = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    workers = [
        start_worker(kafka.bootstrap, "cluster", env=SINGLE_TOPIC_ENV,
                     args=["--process-id", str(i), "--addresses", addresses])
        for i in range(2)
    ]
    produce(kafka.bootstrap, sim_messages, lambda _: SINGLE_TOPIC)
    finish_cluster(workers, action_log, reference, len(sim_messages))
    assert_same_as_reference(action_log, reference, workers[0].data_dir / "clickhouse")


def finish_cluster(workers: list[Worker], action_log: ActionLog, reference: Reference,
                   total: int) -> None:
    """Wait for the reference's decisions and the end of input, then stop the cluster.

    Every process gets SIGTERM and must exit 0; then the action topics are read to
    their end.
    """

    def all_alive() -> None:
        for worker in workers:
            worker.alive()

    action_log.read_until(lambda log: log.ids() >= set(reference.actions), WORKER_TIMEOUT_S,
                          all_alive)
    wait_for(lambda: max(w.position(SINGLE_TOPIC) for w in workers) == total, 20, *workers)
    for worker in workers:
        worker.process.send_signal(signal.SIGTERM)
    for worker in workers:
        assert worker.process.wait(10) == 0, worker.log()
    read_everything(action_log)
