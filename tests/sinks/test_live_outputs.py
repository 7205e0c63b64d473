"""`LiveOutputs` against real components: the mock Kafka cluster and chDB."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from pitboss.config.kafka import KafkaSettings, KafkaTopics
from pitboss.models.validation import MetricRow
from pitboss.operators.events import DeadLetter
from pitboss.operators.outputs import Ordered
from pitboss.replay.live.dev_broker import DevKafka, count_messages
from pitboss.sinks.clickhouse_client import open_client
from pitboss.sinks.clickhouse_writer import ClickHouseWriter
from pitboss.sinks.kafka_actions import ActionDeliveryError, ActionProducer
from pitboss.sinks.live_outputs import LiveOutputs
from pitboss.sinks.metrics import LiveMetrics
from pitboss.sinks.migrations import apply_migrations
from tests.operators.policy.factories import engine, scored

_topic_numbers = itertools.count()


def dead_letter(position: int, reason: str = "malformed_json") -> DeadLetter:
    """Build a dead letter at `position` of topic `bets`, partition 0."""
    return DeadLetter(reason=reason, field=None, event_id=None, player_id=f"p{position}",
                      source="bets/0", position=position, excerpt="{not json")


def messages_in(bootstrap: str, topic: str) -> int:
    """Return how many messages `topic` holds over all its partitions, read to their end."""
    return count_messages(bootstrap, topic)


def test_checkpoint_delivers_to_kafka_and_inserts_into_clickhouse(
    dev_kafka: DevKafka, chdb_path: Path, clickhouse_database: str
) -> None:
    client = open_client(None, chdb_path, clickhouse_database)
    apply_migrations(client, clickhouse_database)
    # An hour-long flush interval: rows only leave the buffer at the checkpoint.
    writer = ClickHouseWriter(client, clickhouse_database, flush_interval_s=3600)
    topics = KafkaTopics(rejected=f"rejected.{next(_topic_numbers)}.{clickhouse_database}")
    metrics = LiveMetrics()
    producer = ActionProducer.from_settings(KafkaSettings(bootstrap_servers=dev_kafka.bootstrap))
    outputs = LiveOutputs(producer, writer, topics, metrics, flush_timeout_s=20)
    metric = MetricRow("risk", "champion", "risk-v1", 3_600_000, "log_loss", 0.25, 40)
    outputs.write([dead_letter(1), dead_letter(2), dead_letter(3, "late"), metric])
    assert writer.pending_rows == 4

    outputs.checkpoint()

    assert writer.pending_rows == 0
    count = client.command(f"SELECT count() FROM {clickhouse_database}.rejected_events FINAL")
    assert int(str(count)) == 3
    assert messages_in(dev_kafka.bootstrap, topics.rejected) == 3
    sample = metrics.registry.get_sample_value
    assert sample("pitboss_events_rejected_total", {"reason": "malformed_json"}) == 2
    assert sample("pitboss_kafka_messages_delivered_total") == 3
    assert sample("pitboss_clickhouse_rows_written_total", {"table": "rejected_events"}) == 3
    assert sample("pitboss_model_metric",
                  {"model_kind": "risk", "role": "champion", "metric": "log_loss"}) == 0.25


def test_a_checkpoint_hands_rows_over_and_returns_what_a_restart_must_insert(
    dev_kafka: DevKafka, chdb_path: Path, clickhouse_database: str
) -> None:
    client = open_client(None, chdb_path, clickhouse_database)
    apply_migrations(client, clickhouse_database)
    topics = KafkaTopics(rejected=f"rejected.{next(_topic_numbers)}.{clickhouse_database}")
    producer = ActionProducer.from_settings(KafkaSettings(bootstrap_servers=dev_kafka.bootstrap))
    writer = ClickHouseWriter(client, clickhouse_database, flush_interval_s=3600,
                              background=True)
    outputs = LiveOutputs(producer, writer, topics, flush_timeout_s=20)
    outputs.write([dead_letter(1), dead_letter(2), dead_letter(3)])

    pending = outputs.checkpoint()

    assert writer.pending_rows == 0  # handed over: inserted, or listed in `pending`
    assert messages_in(dev_kafka.bootstrap, topics.rejected) == 3  # Kafka is waited for
    assert sum(batch.rows for batch in pending) in (0, 3)
    # A worker restarted from this snapshot inserts the batches again: never lost, never twice.
    restarted = LiveOutputs(producer, ClickHouseWriter(client, clickhouse_database,
                                                       background=True), topics)
    restarted.resume(pending)
    restarted.close()
    writer.close()
    count = client.command(f"SELECT count() FROM {clickhouse_database}.rejected_events FINAL")
    assert int(str(count)) == 3


def test_emitted_decisions_go_to_the_configured_action_topics(dev_kafka: DevKafka) -> None:
    n = next(_topic_numbers)
    topics = KafkaTopics(interventions=f"casino1.rg.{n}", offers=f"casino1.crm.{n}",
                         reviews=f"casino1.cases.{n}", rejected=f"casino1.rejected.{n}")
    producer = ActionProducer.from_settings(KafkaSettings(bootstrap_servers=dev_kafka.bootstrap))
    outputs = LiveOutputs(producer, None, topics, flush_timeout_s=20)
    eng = engine()
    decisions = [*eng.decide(eng.new_state("p1"), scored(player="p1", risk=0.95, fraud=0.8)),
                 *eng.decide(eng.new_state("p2"), scored(player="p2", churn=0.7, adt=4.0))]
    emitted = Counter(d.action.kind for d in decisions if d.emitted)
    assert set(emitted) == {"intervention", "offer", "review"}

    outputs.write([Ordered(i, 0, decision) for i, decision in enumerate(decisions)])
    outputs.checkpoint()

    assert {kind: messages_in(dev_kafka.bootstrap, topics.for_action(kind))
            for kind in emitted} == dict(emitted)


@pytest.fixture
def doomed_kafka() -> Iterator[DevKafka]:
    """Start a cluster of the test's own, which it stops before the checkpoint."""
    with DevKafka() as kafka:
        yield kafka


def test_an_undeliverable_message_fails_the_checkpoint(doomed_kafka: DevKafka) -> None:
    settings = KafkaSettings(bootstrap_servers=doomed_kafka.bootstrap, message_timeout_ms=1000)
    metrics = LiveMetrics()
    outputs = LiveOutputs(ActionProducer.from_settings(settings), None, settings.topics,
                          metrics, flush_timeout_s=20)
    assert doomed_kafka.stop() == 0
    outputs.write([dead_letter(7)])

    with pytest.raises(ActionDeliveryError, match=r"events\.rejected"):
        outputs.checkpoint()

    assert metrics.registry.get_sample_value("pitboss_sink_errors_total", {"sink": "kafka"}) == 1


def test_after_a_failed_checkpoint_close_does_not_fail_again(doomed_kafka: DevKafka) -> None:
    """Bytewax closes the sink while unwinding from the failure; a second error would abort."""
    settings = KafkaSettings(bootstrap_servers=doomed_kafka.bootstrap, message_timeout_ms=1000)
    outputs = LiveOutputs(ActionProducer.from_settings(settings), None, settings.topics,
                          flush_timeout_s=20)
    assert doomed_kafka.stop() == 0
    outputs.write([dead_letter(7)])
    with pytest.raises(ActionDeliveryError) as raised:
        outputs.checkpoint()
    outputs.close()
    assert outputs.failure is raised.value
