"""ActionWatch against the development broker: every action read by assignment, none lost."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest

from pitboss.config.kafka import KafkaSettings, KafkaTopics
from pitboss.replay.live.action_watch import ActionWatch, SeenAction, WatchSnapshot
from pitboss.replay.live.dev_broker import DevKafka
from pitboss.sinks.kafka_actions import ActionProducer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def kafka() -> Iterator[DevKafka]:
    with DevKafka(partitions=2) as cluster:
        yield cluster


def _action(n: int, kind: str) -> bytes:
    return orjson.dumps({"player_id": f"p{n}", "kind": kind, "action": f"{kind}-action",
                         "reasons": ["r"], "trigger": "bet", "trigger_event_id": f"e{n}"})


def _wait(watch: ActionWatch, until: int) -> WatchSnapshot:
    """Poll the watch until it has read `until` messages, actions or not."""
    deadline = time.monotonic() + 30
    while (snapshot := watch.snapshot()).actions + snapshot.unreadable < until:
        assert time.monotonic() < deadline, f"read {snapshot} of {until}"
        time.sleep(0.05)
    return snapshot


def test_reads_every_partition_of_every_action_topic_from_the_beginning(
    kafka: DevKafka,
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    topics = settings.topics
    with ActionProducer.from_settings(settings) as producer:
        for n in range(30):
            kind = ("intervention", "offer", "review")[n % 3]
            producer.send(topics.for_action(kind), f"p{n}".encode(), _action(n, kind))
        producer.send(topics.offers, b"p99", b"not an action")
    seen: list[SeenAction] = []
    with ActionWatch(settings, on_action=seen.append) as watch:
        snapshot = _wait(watch, 31)
    assert snapshot.by_kind == {("intervention", "intervention-action"): 10,
                                ("offer", "offer-action"): 10, ("review", "review-action"): 10}
    assert snapshot.unreadable == 1 and snapshot.errors == ()
    assert sorted(s.trigger_event_id for s in seen) == sorted(f"e{n}" for n in range(30))


def test_a_missing_action_topic_is_reported(kafka: DevKafka) -> None:
    topics = KafkaTopics(reviews="never.created.reviews")
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap, topics=topics)
    with ActionWatch(settings) as watch:
        errors = watch.snapshot().errors
    assert len(errors) == 1 and "never.created.reviews" in errors[0]
