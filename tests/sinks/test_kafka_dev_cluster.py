"""The development Kafka cluster: address reporting, topics, shutdown and start-up errors."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import confluent_kafka
import pytest

from config.kafka import KafkaSettings
from sinks.kafka_dev_cluster import (
    BOOTSTRAP_PREFIX,
    MOCK_AUTO_CREATE_PARTITIONS,
    DevKafka,
    DevKafkaError,
    MockKafkaCluster,
)

pytestmark = pytest.mark.timeout(60)


def _partition_counts(bootstrap: str, topics: list[str]) -> dict[str, int]:
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    counts = {}
    for topic in topics:
        metadata = producer.list_topics(topic, timeout=10)
        counts[topic] = len(metadata.topics[topic].partitions)
    return counts


def test_reports_one_loopback_address_per_broker(dev_kafka: DevKafka) -> None:
    servers = dev_kafka.bootstrap.split(",")
    assert len(servers) == 3
    assert all(re.fullmatch(r"127\.0\.0\.1:\d+", server) for server in servers)
    metadata = confluent_kafka.Producer({"bootstrap.servers": dev_kafka.bootstrap}).list_topics(
        timeout=10
    )
    assert sorted(f"{b.host}:{b.port}" for b in metadata.brokers.values()) == sorted(servers)


def test_configured_topics_exist_with_requested_partitions(dev_kafka: DevKafka) -> None:
    topics = list(KafkaSettings().topics.all)
    assert dev_kafka.partitions != MOCK_AUTO_CREATE_PARTITIONS  # else this proves nothing
    counts = _partition_counts(dev_kafka.bootstrap, topics)
    assert counts == dict.fromkeys(topics, dev_kafka.partitions)


def test_renamed_topics_are_created_from_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "casino1.toml"
    config.write_text(
        '[kafka.topics]\nbets = "casino1.bets"\ndeposits = "casino1.bets"\n'
        'offers = "casino1.crm"\nrejected = "casino1.dlq"\n'
    )
    monkeypatch.setenv("PITBOSS_KAFKA__TOPICS__REVIEWS", "casino1.cases")  # env wins, as in run
    configured = ["casino1.bets", "sessions", "outcomes", "actions.interventions",
                  "casino1.crm", "casino1.cases", "casino1.dlq"]
    with DevKafka(partitions=2, config=config) as kafka:
        counts = _partition_counts(kafka.bootstrap, [*configured, "actions.offers"])
    assert counts == {**dict.fromkeys(configured, 2),
                      "actions.offers": MOCK_AUTO_CREATE_PARTITIONS}  # the default: not created


def test_an_invalid_configuration_stops_the_helper_naming_file_and_field(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[kafka.topics]\noffers = "no spaces"\n')
    with pytest.raises(DevKafkaError, match=r"exited with 2(.|\n)*bad\.toml(.|\n)*offers"):
        DevKafka(config=config).start()


def test_other_topics_are_created_on_first_use(dev_kafka: DevKafka) -> None:
    topic = "auto-created-on-metadata-request"
    counts = _partition_counts(dev_kafka.bootstrap, [topic])
    assert counts == {topic: MOCK_AUTO_CREATE_PARTITIONS}


def test_command_writes_bootstrap_file_and_exits_zero_on_sigterm(tmp_path: Path) -> None:
    bootstrap_file = tmp_path / "bootstrap.txt"
    process = subprocess.Popen(
        [sys.executable, "-m", "pitboss.commands.dev_kafka", "dev-kafka",
         "--bootstrap-file", str(bootstrap_file)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    first_line = process.stdout.readline()
    assert first_line.startswith(BOOTSTRAP_PREFIX)
    assert bootstrap_file.read_text().strip() == first_line.removeprefix(BOOTSTRAP_PREFIX).strip()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    process.stdout.close()


def test_stop_returns_zero_after_sigterm() -> None:
    kafka = DevKafka()
    kafka.start()
    try:
        assert kafka.stop() == 0
    finally:
        kafka.close()


def test_helper_stops_when_its_parent_closes_stdin() -> None:
    with DevKafka() as kafka:
        assert kafka.process is not None and kafka.process.stdin is not None
        kafka.process.stdin.close()
        assert kafka.process.wait(timeout=30) == 0


def test_start_failure_names_exit_code_and_shows_stderr() -> None:
    with pytest.raises(DevKafkaError, match=r"exited with 2(.|\n)*--brokers"):
        DevKafka(brokers=0).start()


def test_creating_an_existing_topic_is_an_error() -> None:
    with (
        MockKafkaCluster(brokers=1, topics=["bets"], partitions=2) as cluster,
        pytest.raises(DevKafkaError, match="'bets'"),
    ):
        cluster.create_topic("bets", 2)
