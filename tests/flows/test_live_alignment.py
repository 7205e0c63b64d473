"""Live equals replay on the contract's layout: four topics of four partitions each.

Each event type goes to its contract topic keyed by `player_id`, as an external
producer would, in file order. The worker merges the sixteen partitions in event
time (`pitboss.flows.kafka_reader`), so it must decide exactly what `pitboss replay`
decides over the same lines (same decision ids, same JSON bytes, same ClickHouse
rows), and dead-letter as `late` only what the replay dead-letters:

- a backlog produced before the worker starts, on an in-order log with the default
  settings (no reorder window): 0 `late`;
- the simulator's log, whose events are up to 2 minutes displaced and 0.05% up to
  an hour late, with `reorder_window_s` covering the displacement;
- the log produced at a steady rate while the worker runs;
- the deposits topic's producer held 30 minutes of event time behind the others.

At a steady rate and with a lagging producer, messages produced within a few
milliseconds of each other can reach the brokers in another order on different
partitions (a producer batches per partition); the reorder window puts them back
in place. Rows of `rejected_events` are compared without their source and position
(a file line there, a partition offset here).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import confluent_kafka
import orjson
import pytest

from pitboss.operators.contract import parse_timestamp
from pitboss.replay.live.dev_broker import DevKafka
from tests.flows.conftest import (
    WORKER_TIMEOUT_S,
    ActionLog,
    Reference,
    Worker,
    key_of,
    produce,
    replay_reference,
    topic_by_event_type,
)
from tests.flows.test_live import assert_same_as_reference, read_everything, wait_for

PARTITIONS = 4
WINDOW_ENV = {"PITBOSS_FEATURES__REORDER_WINDOW_S": "14400"}
# The simulated log spans 3 days in ~17k messages: at RATE messages/s event time runs
# ~15,000 times faster than the wall clock, so the 4-hour window covers ~1 s of skew
# between partitions (a producer batches per partition; a loaded machine reads late).
RATE = 1000.0
LAG_MS = 30 * 60_000


def event_time(message: bytes) -> int | None:
    """Return a message's event time, or None when it has none (malformed)."""
    try:
        value = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    return parse_timestamp(value.get("ts")) if isinstance(value, dict) else None


def in_order(messages: list[bytes]) -> list[bytes]:
    """Return the log sorted by event time (stable); malformed lines keep their neighbours'."""
    keyed, last = [], 0
    for message in messages:
        ts = event_time(message)
        last = ts if ts is not None else last
        keyed.append((last, message))
    return [message for _, message in sorted(keyed, key=lambda pair: pair[0])]


@pytest.fixture
def kafka4() -> Iterator[DevKafka]:
    """Run a fresh broker whose configured topics have four partitions each."""
    with DevKafka(partitions=PARTITIONS) as cluster:
        yield cluster


@pytest.fixture
def actions4(kafka4: DevKafka) -> Iterator[ActionLog]:
    """Read the action topics of `kafka4`."""
    log = ActionLog(kafka4.bootstrap)
    yield log
    log.close()


@pytest.fixture(scope="module")
def sorted_messages(sim_messages: list[bytes]) -> list[bytes]:
    """Return the simulated log in event-time order: no displaced and no late events."""
    return in_order(sim_messages)


@pytest.fixture(scope="module")
def sorted_reference(sorted_messages: list[bytes],
                     tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """`pitboss replay` of the in-order log with default settings."""
    return replay_reference(sorted_messages, tmp_path_factory.mktemp("sorted"),
                            exclude=("source", "position"))


@pytest.fixture(scope="module")
def window_reference(sim_messages: list[bytes],
                     tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """Return `pitboss replay` of the simulated log with a four-hour reorder window."""
    return replay_reference(sim_messages, tmp_path_factory.mktemp("window"), WINDOW_ENV,
                            exclude=("source", "position"))


def read_all(worker: Worker, messages: list[bytes]) -> None:
    """Wait until the worker's positions cover every produced message."""
    produced = Counter(topic_by_event_type(m) for m in messages)

    def done() -> bool:
        metrics = worker.metrics()
        return all(
            sum(metrics.get(("pitboss_consumer_position",
                             (("partition", str(p)), ("topic", topic))), 0)
                for p in range(PARTITIONS)) == count
            for topic, count in produced.items())

    wait_for(done, WORKER_TIMEOUT_S * 2, worker)


def finish(worker: Worker, actions: ActionLog, reference: Reference) -> dict[str, float]:
    """Wait for the reference's decisions, stop the worker, compare; return its metrics."""
    actions.read_until(lambda log: log.ids() >= set(reference.actions), WORKER_TIMEOUT_S * 2,
                       worker.alive)
    metrics = worker.metrics()
    code, _ = worker.stop()
    assert code == 0, worker.log()
    read_everything(actions)
    assert_same_as_reference(actions, reference, worker.data_dir / "clickhouse",
                             exclude=("source", "position"))
    return {name: value for (name, labels), value in metrics.items()
            if name == "pitboss_events_rejected_total" and ("reason", "late") in labels}


def late_rows(reference: Reference) -> int:
    """Return how many `late` dead letters the reference run wrote."""
    return sum(1 for row in reference.tables["rejected_events"] if "late" in row)


@pytest.mark.slow
def test_a_backlog_of_four_topics_is_decided_as_replay_decides_with_nothing_late(
    kafka4: DevKafka, start_worker: Callable[..., Worker], actions4: ActionLog,
    sorted_messages: list[bytes], sorted_reference: Reference,
) -> None:
    """In-order log, produced before the worker starts, default settings: 0 late, same rows."""
    produce(kafka4.bootstrap, sorted_messages, topic_by_event_type)
    worker = start_worker(kafka4.bootstrap)
    read_all(worker, sorted_messages)
    late = finish(worker, actions4, sorted_reference)
    assert sum(late.values()) == 0
    assert late_rows(sorted_reference) == 0


@pytest.mark.slow
def test_displaced_events_take_their_sorted_place_within_the_reorder_window(
    kafka4: DevKafka, start_worker: Callable[..., Worker], actions4: ActionLog,
    sim_messages: list[bytes], window_reference: Reference,
) -> None:
    """The simulator's log (displaced and late events) as a backlog: same as replay."""
    produce(kafka4.bootstrap, sim_messages, topic_by_event_type)
    worker = start_worker(kafka4.bootstrap, env=WINDOW_ENV)
    read_all(worker, sim_messages)
    late = finish(worker, actions4, window_reference)
    assert sum(late.values()) == late_rows(window_reference)


def produce_steadily(bootstrap: str, messages: list[bytes], rate: float,
                     hold_back: Callable[[bytes], bool] = lambda _: False) -> None:
    """Produce in file order at `rate` messages/s; `hold_back` ones wait `LAG_MS` of event time.

    A held-back message is sent once the others have reached its event time plus
    `LAG_MS`: that topic's producer runs half an hour of event time behind the rest.
    """
    producer = confluent_kafka.Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": "true", "linger.ms": "5"})
    failures: list[str] = []

    def report(err: confluent_kafka.KafkaError | None, msg: confluent_kafka.Message) -> None:
        if err is not None:
            failures.append(err.str())

    def send(message: bytes) -> None:
        producer.produce(topic_by_event_type(message), message, key_of(message),
                         on_delivery=report)
        producer.poll(0)

    held: list[tuple[int, bytes]] = []
    started, now_ms = time.monotonic(), 0
    for sent, message in enumerate(messages):
        ts = event_time(message)
        now_ms = max(now_ms, ts or 0)
        while held and held[0][0] + LAG_MS <= now_ms:
            send(held.pop(0)[1])
        if hold_back(message) and ts is not None:
            held.append((ts, message))
        else:
            send(message)
        pause = started + sent / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    for _, message in held:
        send(message)
    assert producer.flush(30) == 0 and not failures, failures[:3]


@pytest.mark.slow
def test_a_steady_producer_and_a_lagging_one_give_replay_s_decisions(
    kafka4: DevKafka, start_worker: Callable[..., Worker], actions4: ActionLog,
    sim_messages: list[bytes], window_reference: Reference,
) -> None:
    """Produced at a steady rate while the worker runs, deposits 30 min of event time behind."""
    worker = start_worker(kafka4.bootstrap, env=WINDOW_ENV)
    wait_for(lambda: bool(worker.metrics()), WORKER_TIMEOUT_S, worker)

    def lagging(message: bytes) -> bool:
        return topic_by_event_type(message) == "deposits"

    producer = threading.Thread(
        target=produce_steadily, args=(kafka4.bootstrap, sim_messages, RATE, lagging))
    producer.start()
    producer.join()
    read_all(worker, sim_messages)
    late = finish(worker, actions4, window_reference)
    assert sum(late.values()) == late_rows(window_reference)


@pytest.mark.slow
def test_a_steady_producer_gives_replay_s_decisions(
    kafka4: DevKafka, start_worker: Callable[..., Worker], actions4: ActionLog,
    sim_messages: list[bytes], window_reference: Reference, tmp_path: Path,
) -> None:
    """Produced at a steady rate while the worker runs: the same decisions as replay."""
    worker = start_worker(kafka4.bootstrap, env=WINDOW_ENV)
    wait_for(lambda: bool(worker.metrics()), WORKER_TIMEOUT_S, worker)
    produce_steadily(kafka4.bootstrap, sim_messages, RATE)
    read_all(worker, sim_messages)
    late = finish(worker, actions4, window_reference)
    assert sum(late.values()) == late_rows(window_reference)


def total_position(worker: Worker) -> int:
    """Return how many input messages the worker has read over all partitions (0 before)."""
    return int(sum(value for (name, _), value in worker.metrics().items()
                   if name == "pitboss_consumer_position"))


def kill_after_reading(worker: Worker, messages: int) -> int:
    """SIGKILL `worker` once it has read `messages`; return how many it had read by then."""
    seen = [0]

    def enough() -> bool:
        seen.append(total_position(worker))
        return seen[-1] >= messages

    wait_for(enough, WORKER_TIMEOUT_S, worker)
    worker.kill()
    return seen[-1]


@pytest.mark.slow
def test_kill_9_three_times_mid_backlog_loses_nothing_and_repeats_only_same_ids(
    kafka4: DevKafka, start_worker: Callable[..., Worker], actions4: ActionLog,
    sorted_messages: list[bytes], sorted_reference: Reference, tmp_path: Path,
) -> None:
    """Four topics, a backlog, SIGKILL three times while reading it: as if never interrupted."""
    produce(kafka4.bootstrap, sorted_messages, topic_by_event_type)
    args = ["--recovery-dir", str(tmp_path / "recovery"), "--batch-size", "200"]
    # A small alignment buffer keeps reading close to processing, so a kill after a
    # share has been read lands while the backlog is still being worked through.
    env = {"PITBOSS_KAFKA__MAX_BUFFERED_PER_PARTITION": "100"}
    killed_at = [kill_after_reading(start_worker(kafka4.bootstrap, env=env, args=args),
                                    int(share * len(sorted_messages)))
                 for share in (0.25, 0.5, 0.75)]
    assert all(position < len(sorted_messages) for position in killed_at), killed_at
    worker = start_worker(kafka4.bootstrap, env=env, args=args)
    read_all(worker, sorted_messages)
    actions4.read_until(lambda log: log.ids() >= set(sorted_reference.actions),
                        WORKER_TIMEOUT_S * 2, worker.alive)
    code, _ = worker.stop()
    assert code == 0, worker.log()
    read_everything(actions4)
    # Equal sets, every copy of a decision byte-identical, rows equal under FINAL.
    assert_same_as_reference(actions4, sorted_reference, worker.data_dir / "clickhouse",
                             exclude=("source", "position"))
