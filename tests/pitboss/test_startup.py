"""Start-up checks against a real broker, a port that refuses connections, and stop requests."""

from __future__ import annotations

import threading

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from pitboss.config.kafka import KafkaSettings
from pitboss.replay.live.dev_broker import DevKafka
from pitboss.sinks.clickhouse_client import (
    ClickHouseLoginError,
    ClickHouseUnavailableError,
    _server_error,
)
from pitboss.startup import (
    ClickHouseProbe,
    DependencyUnavailableError,
    KafkaTopicsProbe,
    StartupChecks,
)

pytestmark = pytest.mark.timeout(120)

INPUTS = KafkaSettings().topics.inputs


def kafka_probe(bootstrap: str) -> KafkaTopicsProbe:
    return KafkaTopicsProbe(KafkaSettings(bootstrap_servers=bootstrap).connection_config(), INPUTS)


def test_a_running_broker_with_the_input_topics_passes(kafka: DevKafka) -> None:
    assert StartupChecks([kafka_probe(kafka.bootstrap)], timeout_s=60.0).wait(threading.Event())


def test_unreachable_kafka_fails_at_the_deadline_naming_brokers_and_setting(
    closed_port: int,
) -> None:
    probe = kafka_probe(f"127.0.0.1:{closed_port}")
    with pytest.raises(DependencyUnavailableError) as raised:
        StartupChecks([probe], timeout_s=1.5, retry_s=0.2).wait(threading.Event())
    message = str(raised.value)
    assert message.startswith(f"Kafka at 127.0.0.1:{closed_port} did not answer within 1.5 s")
    assert "(worker.startup_timeout_s)" in message and "'bets'" in message
    assert "\n" not in message


def test_a_stop_request_ends_the_wait_without_an_error(closed_port: int) -> None:
    stop = threading.Event()
    waited_for: list[str] = []

    def stop_when_waiting(what: str) -> None:
        waited_for.append(what)
        stop.set()  # as SIGTERM's handler would, while start-up waits

    checks = StartupChecks([kafka_probe(f"127.0.0.1:{closed_port}")], timeout_s=3600.0,
                           on_wait=stop_when_waiting)  # fmt: skip
    assert checks.wait(stop) is False
    assert waited_for == [f"Kafka at 127.0.0.1:{closed_port}"]


def test_unreachable_clickhouse_is_named_without_its_password(closed_port: int) -> None:
    probe = ClickHouseProbe(f"http://pitboss:s3cret@127.0.0.1:{closed_port}/pitboss")
    with pytest.raises(DependencyUnavailableError) as raised:
        StartupChecks([probe], timeout_s=1.0, retry_s=0.2).wait(threading.Event())
    message = str(raised.value)
    assert f"ClickHouse at http://127.0.0.1:{closed_port}" in message
    assert "Connection refused" in message and "s3cret" not in message


def test_the_checks_go_on_to_clickhouse_once_kafka_answers(
    kafka: DevKafka, closed_port: int
) -> None:
    probes = [kafka_probe(kafka.bootstrap), ClickHouseProbe(f"http://127.0.0.1:{closed_port}")]
    with pytest.raises(DependencyUnavailableError, match=r"^ClickHouse at "):
        StartupChecks(probes, timeout_s=8.0).wait(threading.Event())


@pytest.mark.parametrize("code", [516, 192, 193, 194, 195])
def test_a_refused_login_is_a_configuration_error(code: int) -> None:
    said = DatabaseError(f"HTTPDriver for http://ch:8123 received ClickHouse error code {code}\n"
                         f" Code: {code}. DB::Exception: pitboss: Authentication failed: s3cret")
    error = _server_error(said, "http", "ch", 8123, "s3cret")
    assert isinstance(error, ClickHouseLoginError)
    assert "PITBOSS_CLICKHOUSE__DSN" in str(error) and "s3cret" not in str(error)


def test_other_server_errors_are_unavailability() -> None:
    said = OperationalError("Error HTTPConnectionPool(host='ch', port=8123): Max retries "
                            "exceeded (Caused by NewConnectionError('...: [Errno 113] No route "
                            "to host'))")  # fmt: skip
    error = _server_error(said, "http", "ch", 8123, None)
    assert isinstance(error, ClickHouseUnavailableError)
    assert str(error) == (
        "ClickHouse at http://ch:8123 does not answer: [Errno 113] No route to host"
    )
