"""A live worker (`pitboss run`) in a subprocess, for the demo and the latency benchmark.

`WorkerProcess` starts the worker against a given Kafka bootstrap (through
`PITBOSS_KAFKA__BOOTSTRAP_SERVERS`, as in production), with its own data and
recovery directories and a Prometheus port, writes its log lines to a file
(a pipe nobody reads could fill and block the worker), and stops it the way an
orchestrator would: SIGTERM, then a wait for it to drain and flush, and SIGKILL
only past a deadline. `free_port` picks an unused loopback port for the metrics.

Example (starts processes, so not a doctest):

    with DevKafka() as kafka, WorkerProcess(kafka.bootstrap, Path("runs/demo/x")) as worker:
        ...
    print(worker.exit_code)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

_PR_SET_PDEATHSIG = 1


def _terminate_with_parent() -> Callable[[], None] | None:
    """Return a pre-exec hook asking Linux to SIGTERM the child when its parent dies.

    The worker runs in a session of its own (the terminal's Ctrl-C is for the demo,
    which then stops the worker cleanly); should the demo itself be killed, this
    makes the worker drain and exit instead of running on alone. None elsewhere.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return hook


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class WorkerProcess:
    """Run `pitboss run` as a subprocess until `stop()`.

    Args:
        bootstrap: Kafka bootstrap servers, passed as `PITBOSS_KAFKA__BOOTSTRAP_SERVERS`.
        run_dir: the worker's directory: `data/` (chDB under `data/clickhouse`),
            `recovery/` and `worker.log` are created in it.
        metrics_port: Prometheus port; a free one is picked when None.
        epoch_interval_s: the worker's epoch length (outputs flush at each epoch end).
        extra_env: more environment variables for the worker.
        config: a TOML file overriding config/defaults.toml (`--config`), or None.
        extra_args: more options for `pitboss run` (the demo's `--console ...`).
        log_name: the log's file name in `run_dir` (the processes of one cluster on one
            machine share the run directory, so each needs its own).

    """

    def __init__(
        self,
        bootstrap: str,
        run_dir: Path,
        metrics_port: int | None = None,
        epoch_interval_s: float = 0.2,
        extra_env: Mapping[str, str] | None = None,
        config: Path | None = None,
        extra_args: Sequence[str] = (),
        log_name: str = "worker.log",
    ) -> None:
        self.bootstrap = bootstrap
        self.extra_args = tuple(extra_args)
        self.config = config
        self.run_dir = run_dir
        self.data_dir = run_dir / "data"
        self.recovery_dir = run_dir / "recovery"
        self.log_path = run_dir / log_name
        self.metrics_port = metrics_port or free_port()
        self.epoch_interval_s = epoch_interval_s
        self.extra_env = dict(extra_env or {})
        self.exit_code: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def command(self) -> Sequence[str]:
        """The worker's command line."""
        command = [
            sys.executable, "-m", "pitboss.cli", "run",
            "--data-dir", str(self.data_dir),
            "--recovery-dir", str(self.recovery_dir),
            "--metrics-port", str(self.metrics_port),
            "--epoch-interval-s", str(self.epoch_interval_s),
        ]  # fmt: skip
        return command + (["--config", str(self.config)] if self.config else []) \
            + list(self.extra_args)

    @property
    def metrics_url(self) -> str:
        """Where the worker serves its Prometheus metrics."""
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self) -> None:
        """Start the worker; it connects to Kafka and serves metrics shortly after."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        env = {
            **os.environ,
            "PITBOSS_KAFKA__BOOTSTRAP_SERVERS": self.bootstrap,
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        self._process = subprocess.Popen(
            self.command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=env, start_new_session=True, preexec_fn=_terminate_with_parent(),
        )  # fmt: skip

    def poll(self) -> int | None:
        """Return the worker's exit code if it has exited, else None."""
        if self._process is None:
            return self.exit_code
        return self._process.poll()

    def stop(self, timeout_s: float = 60.0) -> int:
        """Send SIGTERM and wait for a clean exit (SIGKILL after `timeout_s`).

        Returns:
            The worker's exit code: 0 after a graceful drain and flush; -9 if killed.

        """
        process = self._process
        if process is None:
            return self.exit_code if self.exit_code is not None else 0
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        self.exit_code = code
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def log_tail(self, lines: int = 20) -> str:
        """Return the last `lines` lines the worker logged."""
        if not self.log_path.is_file():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> WorkerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
