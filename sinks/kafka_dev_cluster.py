"""A development Kafka cluster: librdkafka's mock brokers, in a helper process.

No Docker engine or Kafka distribution is needed: the librdkafka shipped inside
the confluent-kafka wheel contains a Kafka-protocol mock cluster (produce, fetch,
idempotent producers, consumer groups and offset commits, auto-created topics).
`MockKafkaCluster` starts one in the current process through librdkafka's C API
(`rd_kafka_mock_cluster_new`) and reads its address from
`rd_kafka_mock_cluster_bootstraps`, the library's own answer rather than a parsed
log line. The brokers live exactly as long as that cluster object, and a worker
under test must be free to crash, so the cluster belongs in its own process:
`pitboss dev-kafka` serves one, and `DevKafka` runs that command as a subprocess
for tests and the demo.

Quirks of the mock cluster: topics are created on first use with 4 partitions
(the mock has no CreateTopics; `partitions` pre-creates named topics instead),
data lives in memory only, and there is no authentication.

Example (starts a helper process, so not a doctest):

    with DevKafka(partitions=8) as kafka:
        producer = confluent_kafka.Producer({"bootstrap.servers": kafka.bootstrap})
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

import confluent_kafka

BOOTSTRAP_PREFIX = "bootstrap="

# librdkafka's auto-created topics get this many partitions; it cannot be configured.
MOCK_AUTO_CREATE_PARTITIONS = 4

_RD_KAFKA_PRODUCER = 0
_ERRSTR_SIZE = 512


class DevKafkaError(RuntimeError):
    """The development cluster could not be started, or stopped unexpectedly."""


def _librdkafka_candidates() -> list[Path]:
    package = Path(confluent_kafka.__file__).parent
    # manylinux wheels bundle it in `confluent_kafka.libs`, macOS wheels in `.dylibs`.
    bundled = [
        *package.parent.glob("confluent_kafka.libs/librdkafka*"),
        *package.glob(".dylibs/librdkafka*"),
    ]
    system = ctypes.util.find_library("rdkafka")
    return bundled + ([Path(system)] if system else [])


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    c_void_p, c_char_p, c_int, c_size_t = (
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_size_t,
    )
    signatures = {
        "rd_kafka_conf_new": ([], c_void_p),
        "rd_kafka_conf_set": ([c_void_p, c_char_p, c_char_p, c_char_p, c_size_t], c_int),
        "rd_kafka_conf_destroy": ([c_void_p], None),
        "rd_kafka_new": ([c_int, c_void_p, c_char_p, c_size_t], c_void_p),
        "rd_kafka_destroy": ([c_void_p], None),
        "rd_kafka_mock_cluster_new": ([c_void_p, c_int], c_void_p),
        "rd_kafka_mock_cluster_destroy": ([c_void_p], None),
        "rd_kafka_mock_cluster_bootstraps": ([c_void_p], c_char_p),
        "rd_kafka_mock_topic_create": ([c_void_p, c_char_p, c_int, c_int], c_int),
        "rd_kafka_mock_group_initial_rebalance_delay_ms": ([c_void_p, c_int], None),
        "rd_kafka_err2str": ([c_int], c_char_p),
    }
    for name, (argtypes, restype) in signatures.items():
        function = getattr(lib, name)
        function.argtypes = argtypes
        function.restype = restype
    return lib


def load_librdkafka() -> ctypes.CDLL:
    """Open the librdkafka that confluent_kafka itself uses, with the mock cluster API declared.

    Returns:
        The library, its mock-cluster functions typed for ctypes.

    Raises:
        DevKafkaError: no librdkafka with the mock cluster API was found.

    """
    tried = []
    for path in _librdkafka_candidates():
        try:
            return _declare(ctypes.CDLL(str(path)))
        except (OSError, AttributeError) as exc:
            tried.append(f"{path}: {exc}")
    raise DevKafkaError(f"no librdkafka with the mock cluster API; tried {tried or 'nothing'}")


class MockKafkaCluster:
    """A librdkafka mock cluster running in this process until `close()`.

    Args:
        brokers: how many brokers to start (replication factor is min(3, brokers)).
        topics: topic names to create now with `partitions` partitions each.
        partitions: partition count of the topics in `topics`.
        group_initial_rebalance_delay_ms: Kafka's `group.initial.rebalance.delay.ms`;
            0, as in development images, lets a consumer group form at once.

    """

    def __init__(
        self,
        brokers: int = 1,
        topics: Iterable[str] = (),
        partitions: int = MOCK_AUTO_CREATE_PARTITIONS,
        group_initial_rebalance_delay_ms: int = 0,
    ) -> None:
        if brokers < 1 or partitions < 1:
            raise ValueError("brokers and partitions must be at least 1")
        self.brokers = brokers
        self.partitions = partitions
        self._lib = load_librdkafka()
        self._handle = self._new_handle()
        self._cluster = self._lib.rd_kafka_mock_cluster_new(self._handle, brokers)
        if not self._cluster:
            self._lib.rd_kafka_destroy(self._handle)
            raise DevKafkaError(f"librdkafka could not start {brokers} mock broker(s)")
        self._lib.rd_kafka_mock_group_initial_rebalance_delay_ms(
            self._cluster, group_initial_rebalance_delay_ms
        )
        self.bootstrap: str = self._lib.rd_kafka_mock_cluster_bootstraps(self._cluster).decode()
        for topic in topics:
            self.create_topic(topic, partitions)

    def _new_handle(self) -> int:
        # The cluster needs a client handle for its logging and lifetime; an idle
        # producer pointed at nothing is the lightest one.
        conf = self._lib.rd_kafka_conf_new()
        errstr = ctypes.create_string_buffer(_ERRSTR_SIZE)
        for key, value in {"log_level": "4", "client.id": "pitboss-dev-kafka"}.items():
            if self._lib.rd_kafka_conf_set(
                conf, key.encode(), value.encode(), errstr, _ERRSTR_SIZE
            ):
                self._lib.rd_kafka_conf_destroy(conf)
                raise DevKafkaError(f"librdkafka rejected {key}={value}: {errstr.value.decode()}")
        handle: int | None = self._lib.rd_kafka_new(_RD_KAFKA_PRODUCER, conf, errstr, _ERRSTR_SIZE)
        if not handle:
            self._lib.rd_kafka_conf_destroy(conf)
            raise DevKafkaError(f"librdkafka could not create a client: {errstr.value.decode()}")
        return handle

    def create_topic(self, topic: str, partitions: int) -> None:
        """Create `topic` with `partitions` partitions (the mock has no CreateTopics request).

        Raises:
            DevKafkaError: librdkafka refused, e.g. because the topic already exists.

        """
        replication = min(3, self.brokers)
        err = self._lib.rd_kafka_mock_topic_create(
            self._cluster, topic.encode(), partitions, replication
        )
        if err:
            reason = self._lib.rd_kafka_err2str(err).decode()
            raise DevKafkaError(f"cannot create topic {topic!r}: {reason}")

    def close(self) -> None:
        """Stop the brokers; clients still connected see their connections drop."""
        if self._cluster:
            self._lib.rd_kafka_mock_cluster_destroy(self._cluster)
            self._cluster = None
            self._lib.rd_kafka_destroy(self._handle)

    def __enter__(self) -> MockKafkaCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class DevKafka:
    """Run `pitboss dev-kafka` in a subprocess and expose its `bootstrap` address.

    The helper process stops when this context exits, and also on its own if this
    process dies, because it watches its stdin for end of file.

    Args:
        brokers: number of mock brokers.
        partitions: partition count of Pitboss's configured topics, created up front.
        config: a TOML file overriding config/defaults.toml, whose `[kafka.topics]`
            are the ones created (`PITBOSS_KAFKA__TOPICS__...` variables of this
            process apply too); None for the defaults.
        start_timeout_s: how long to wait for the helper to report its address.

    """

    def __init__(
        self,
        brokers: int = 1,
        partitions: int = MOCK_AUTO_CREATE_PARTITIONS,
        config: Path | None = None,
        start_timeout_s: float = 30.0,
    ) -> None:
        self.brokers = brokers
        self.partitions = partitions
        self.config = config
        self.start_timeout_s = start_timeout_s
        self.bootstrap = ""
        self._process: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None

    @property
    def process(self) -> subprocess.Popen[str] | None:
        """The helper process, once started."""
        return self._process

    @property
    def command(self) -> Sequence[str]:
        """The command line that starts the helper, without importing every `pitboss` command."""
        command = [
            sys.executable,
            "-m",
            "pitboss.commands.dev_kafka",
            "dev-kafka",
            "--brokers",
            str(self.brokers),
            "--partitions",
            str(self.partitions),
            "--until-stdin-closes",
        ]
        if self.config is not None:
            command += ["--config", str(self.config)]
        return command

    def start(self) -> str:
        """Start the helper and wait for its `bootstrap=` line.

        Returns:
            The bootstrap servers, e.g. `127.0.0.1:40127`.

        Raises:
            DevKafkaError: the helper exited or stayed silent past `start_timeout_s`.

        """
        # A file rather than a pipe, so a chatty helper can never block; closed in close().
        self._stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self._process = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        line = self._first_line(time.monotonic() + self.start_timeout_s)
        if not line.startswith(BOOTSTRAP_PREFIX):
            self.stop()
            raise DevKafkaError(f"dev-kafka printed {line!r}, not {BOOTSTRAP_PREFIX}HOST:PORT")
        self.bootstrap = line.removeprefix(BOOTSTRAP_PREFIX).strip()
        return self.bootstrap

    def _first_line(self, deadline: float) -> str:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        while (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([stdout], [], [], remaining)
            if readable:
                line = stdout.readline()
                if line:
                    return line
                # End of file: the helper is exiting without having reported. Let it
                # finish, so its own exit code (not our SIGTERM) is what we report.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(max(remaining, 1.0))
                exit_code = self.stop()
                raise DevKafkaError(f"dev-kafka exited with {exit_code}; {self._stderr_note()}")
        self.stop()
        raise DevKafkaError(
            f"dev-kafka printed no address within {self.start_timeout_s} s; {self._stderr_note()}"
        )

    def _stderr_note(self) -> str:
        return f"its stderr:\n{self.stderr()}"

    def stderr(self) -> str:
        """Return what the helper has written to stderr so far."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self, timeout_s: float = 10.0) -> int:
        """Send SIGTERM, wait for the helper to exit (SIGKILL after `timeout_s`).

        Returns:
            The helper's exit code: 0 after a clean SIGTERM shutdown.

        """
        process = self._process
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        return code

    def close(self) -> None:
        """Stop the helper and drop its captured stderr."""
        self.stop()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> DevKafka:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
