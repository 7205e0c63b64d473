"""`pitboss run --console`: a port in use stops the worker before its dataflow, exit code 2.

(The console the worker serves is driven end to end in `test_live_console.py`.)
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pitboss.console.worker_console import WorkerConsole
from pitboss.replay.live.dev_broker import DevKafka
from tests.flows.conftest import Worker

pytestmark = pytest.mark.slow


def test_a_console_port_in_use_is_a_configuration_error(tmp_path: Path, users_file: Path,
                                                        dev_kafka: DevKafka) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = Worker(dev_kafka.bootstrap, tmp_path / "worker", {},
                        ["--console", f"127.0.0.1:{port}", "--console-users", str(users_file)])
        code = worker.process.wait(120)
    assert code == 2, worker.log()
    assert "cannot serve the review console: check --console" in worker.log()
    assert "worker starting" in worker.log(), "the store was prepared, no dataflow ran"


@pytest.mark.parametrize(("address", "host", "port"), [
    ("8700", "127.0.0.1", 8700), ("0.0.0.0:9000", "0.0.0.0", 9000),
    ("[::1]:8701", "::1", 8701)])
def test_the_console_address_is_host_and_port(address: str, host: str, port: int,
                                              users_file: Path) -> None:
    console = WorkerConsole.parse(address, users_file)
    assert (console.host, console.port) == (host, port)
