"""/healthz, /readyz and /metrics over real HTTP, and the readiness rules on a hand-moved clock."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from pitboss.sinks.health import EndpointServer, WorkerHealth, serve_endpoints
from pitboss.sinks.metrics import LiveMetrics

pytestmark = pytest.mark.timeout(60)


class Clock:
    """Seconds that a test moves forward by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def get(server: EndpointServer, path: str) -> tuple[int, str, bytes]:
    """Return status, content type and body of GET `path`, errors included."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def metrics(clock: Clock) -> LiveMetrics:
    return LiveMetrics(WorkerHealth(max_age_s=60.0, clock=clock))


@pytest.fixture
def server(metrics: LiveMetrics) -> Iterator[EndpointServer]:
    served = serve_endpoints(metrics.registry, metrics.health, "127.0.0.1", 0)
    yield served
    served.close()


def test_healthz_answers_while_the_worker_is_still_starting(server: EndpointServer) -> None:
    assert get(server, "/healthz") == (200, "application/json", b'{"alive":true}')


def test_readyz_says_what_start_up_waits_for(
    server: EndpointServer, metrics: LiveMetrics
) -> None:
    metrics.health.waiting_for("Kafka at 127.0.0.1:9092")
    status, kind, body = get(server, "/readyz")
    assert (status, kind) == (503, "application/json")
    assert json.loads(body) == {"ready": False, "stage": "starting",
                                "reason": "starting: waiting for Kafka at 127.0.0.1:9092"}


def test_readyz_is_200_once_running_and_the_brokers_answered(
    server: EndpointServer, metrics: LiveMetrics
) -> None:
    metrics.health.running()
    assert get(server, "/readyz")[0] == 503
    metrics.health.broker_contact()
    status, _, body = get(server, "/readyz")
    assert status == 200 and json.loads(body)["reason"] == "ok"


def test_metrics_stay_and_unknown_paths_are_404(server: EndpointServer) -> None:
    status, kind, body = get(server, "/metrics")
    assert status == 200 and kind.startswith("text/plain")
    for series in (b"pitboss_build_info{version=", b"process_cpu_seconds_total",
                   b"python_info{", b"pitboss_last_epoch_commit_age_seconds NaN",
                   b"pitboss_ready 0.0"):  # fmt: skip
        assert series in body, series
    for path in ("/", "/metrics/extra", "/health", "/readyz/"):
        assert get(server, path)[0] == 404, path


def test_input_waiting_too_long_for_an_epoch_makes_the_worker_unready(
    metrics: LiveMetrics, clock: Clock
) -> None:
    health = metrics.health
    health.running()
    metrics.position("bets", 0, 10)  # input read: the brokers answer, and it awaits an epoch
    clock.now += 60.0
    assert health.verdict().ready
    clock.now += 1.0
    health.broker_contact()  # the lag probe still reaches the brokers
    verdict = health.verdict()
    assert not verdict.ready
    assert verdict.reason == "input read 61 s ago is in no committed epoch yet"
    metrics.checkpointed(0.01)
    assert health.verdict().ready and health.epoch_age_s() == 0.0
    assert metrics.registry.get_sample_value("pitboss_last_epoch_commit_age_seconds") == 0.0
    assert metrics.registry.get_sample_value("pitboss_checkpoint_seconds_count") == 1.0


def test_an_idle_worker_stays_ready_while_the_brokers_answer(
    metrics: LiveMetrics, clock: Clock
) -> None:
    health = metrics.health
    health.running()
    metrics.position("bets", 0, 10)
    metrics.epoch_closed()
    for _ in range(10):
        clock.now += 30.0
        health.broker_contact()
        assert health.verdict().ready
    assert health.epoch_age_s() == 300.0


def test_silent_brokers_make_the_worker_unready(metrics: LiveMetrics, clock: Clock) -> None:
    health = metrics.health
    health.running()
    health.broker_contact()
    clock.now += 61.0
    assert health.verdict().reason == "no answer from the Kafka brokers for 61 s"
    assert metrics.registry.get_sample_value("pitboss_ready") == 0.0


def test_a_cluster_member_without_epochs_of_its_own_is_not_judged_on_them(
    metrics: LiveMetrics, clock: Clock
) -> None:
    health = metrics.health
    health.running(judges_epochs=False)
    metrics.position("bets", 0, 10)
    clock.now += 120.0
    health.broker_contact()
    assert health.verdict().ready
    health.judge_epochs()  # the outputs partition was built here
    assert not health.verdict().ready


def test_a_stopping_worker_is_unready(metrics: LiveMetrics) -> None:
    metrics.health.running()
    metrics.health.broker_contact()
    metrics.health.stopping()
    assert metrics.health.verdict().reason == "stopping"


def test_a_port_in_use_is_an_os_error(server: EndpointServer, metrics: LiveMetrics) -> None:
    with pytest.raises(OSError):
        metrics.serve(server.port, "127.0.0.1")
