"""The embedded live demo: broker, producer, worker and action consumer, then a clean stop.

`LiveDemo.run` starts, in order: the development Kafka broker (`DevKafka`,
Tansu with memory storage in a child process), the live worker (`pitboss run` in
a subprocess with a fresh data and recovery directory), a consumer of the action
topics (`ActionWatch`) and the producer of simulated players at a steady rate
(`LiveProducer`, in a thread). Every `refresh_s` it hands a `DemoFrame` (what was
produced, what the worker read, rejected and decided, what reached the action
topics) to a view. When the time is up, on Ctrl-C or SIGTERM, or if a part fails, it stops
the producer, lets the worker catch up for a few seconds, sends the worker
SIGTERM and waits for it to drain and flush, reads the last actions, stops the
broker, and returns a `DemoResult` for the summary.

The wall clock paces the producer and the refreshes; this is a tool around the
pipeline, not part of it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from pitboss.config.kafka import KafkaSettings
from pitboss.config.settings import load_settings
from pitboss.replay.live.action_watch import ActionWatch, WatchSnapshot
from pitboss.replay.live.dev_broker import DevKafka
from pitboss.replay.live.producer import (
    LiveProducer,
    LiveStamper,
    ProduceStats,
    live_messages,
    topics_by_event_type,
)
from pitboss.replay.live.worker_metrics import WorkerMetrics, scrape
from pitboss.replay.live.worker_process import WorkerProcess
from pitboss.sinks.kafka_actions import ActionProducer

CATCH_UP_S = 10.0
"""After the producer stops, how long the worker may take to read what is left."""
LAST_ACTIONS_S = 2.0
"""After the worker stops, how long the action consumer may take to read its last actions."""


@dataclass(frozen=True, slots=True)
class DemoSettings:
    """What the live demo runs: population, rate, length and where it writes."""

    run_dir: Path
    players: int = 500
    rate: float = 500.0
    seconds: float = 60.0
    """0 runs until Ctrl-C."""
    seed: int = 1
    days: int = 7
    partitions: int = 4
    epoch_interval_s: float = 0.2
    refresh_s: float = 0.5
    config: Path | None = None
    """A TOML file overriding config/defaults.toml, for the broker's topics and the worker."""
    worker_args: tuple[str, ...] = ()
    """More options for the worker (`make run` adds `--console ...`: the worker serves it)."""


@dataclass(frozen=True, slots=True)
class DemoFrame:
    """What the view shows at one refresh."""

    elapsed_s: float
    seconds: float
    bootstrap: str
    produced: int
    produce_rate: float
    """Messages per second since the previous frame."""
    metrics: WorkerMetrics | None
    read_rate: float
    """Messages the worker read per second since the previous frame."""
    actions: WatchSnapshot

    @property
    def backlog(self) -> int | None:
        """Messages produced that the worker has not read yet (None before its first scrape)."""
        if self.metrics is None:
            return None
        return max(0, self.produced - self.metrics.events_in)


@dataclass(slots=True)
class DemoResult:
    """How the demo ended and what it did."""

    run_dir: Path
    data_dir: Path
    produced: ProduceStats
    metrics: WorkerMetrics | None
    actions: WatchSnapshot
    worker_exit_code: int
    stopped_by: str
    """`time`, `interrupt`, `SIGTERM`, `worker exited`, or `producer failed: ...`."""
    caught_up: bool
    worker_log_tail: str = ""
    problems: list[str] = field(default_factory=list)


class StopRequested(Exception):
    """SIGTERM asked the demo to stop; it stops as cleanly as after Ctrl-C."""


@contextlib.contextmanager
def _sigterm_stops_cleanly() -> Iterator[None]:
    """Turn SIGTERM into `StopRequested` in the main thread while the demo runs."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise StopRequested

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _children_ignore_ctrl_c() -> Iterator[None]:
    """Block SIGINT while starting the broker, so a Ctrl-C cannot cut its start-up short.

    The broker runs in a session of its own, so the terminal's Ctrl-C never
    reaches it: it keeps serving while the demo stops the worker, which still
    needs it to flush its last actions. The demo itself unblocks at once (a
    pending Ctrl-C is then delivered to it).
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _ProducerThread:
    """Run a `LiveProducer` in a thread until stopped, keeping any failure for the demo."""

    def __init__(self, kafka: KafkaSettings, settings: DemoSettings) -> None:
        self.sink = ActionProducer.from_settings(kafka)
        self.producer = LiveProducer(self.sink, settings.rate,
                                     LiveStamper(topics_by_event_type(kafka.topics)))
        self.messages = live_messages(settings.players, settings.days, settings.seed)
        self.stop = threading.Event()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="producer", daemon=True)

    def _run(self) -> None:
        try:
            self.producer.run(self.messages, self.stop.is_set)
        except Exception as exc:  # reported by the demo, which then stops
            self.error = f"{type(exc).__name__}: {exc}"

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout_s: float = 60.0) -> None:
        self.stop.set()
        self._thread.join(timeout_s)


class LiveDemo:
    """Run the live demo once.

    Args:
        settings: population, rate, length and directories.
        show: called with every `DemoFrame` (the rich view, or plain lines).
        clock: monotonic seconds, for the demo's length and rates.
        sleep: how the demo waits between frames.
        beside: given the started worker, a context manager run for as long as the worker
            (`make run` waits for the worker's review console and announces it this way).

    """

    def __init__(
        self,
        settings: DemoSettings,
        show: Callable[[DemoFrame], None],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        beside: Callable[[WorkerProcess], contextlib.AbstractContextManager[object]]
        | None = None,
    ) -> None:
        self.settings = settings
        self.beside = beside
        self.show = show
        self.clock = clock
        self.sleep = sleep
        self._previous: tuple[float, int, int] | None = None

    def run(self) -> DemoResult:
        """Start everything, show frames until the end, stop everything cleanly."""
        settings = self.settings
        with _children_ignore_ctrl_c():
            kafka_helper = DevKafka(partitions=settings.partitions, config=settings.config)
            kafka_helper.start()
        try:
            configured = load_settings(settings.config).kafka
            kafka = configured.model_copy(update={"bootstrap_servers": kafka_helper.bootstrap})
            worker = WorkerProcess(kafka.bootstrap_servers, settings.run_dir,
                                   epoch_interval_s=settings.epoch_interval_s,
                                   config=settings.config, extra_args=settings.worker_args)
            worker.start()
            try:
                with self.beside(worker) if self.beside \
                        else contextlib.nullcontext():
                    return self._run_with(kafka, worker)
            finally:
                worker.stop()
        finally:
            kafka_helper.close()

    def _run_with(self, kafka: KafkaSettings, worker: WorkerProcess) -> DemoResult:
        watch = ActionWatch(kafka)
        watch.start()
        producer = _ProducerThread(kafka, self.settings)
        producer.start()
        try:
            with _sigterm_stops_cleanly():
                stopped_by = self._show_until_done(kafka, worker, producer, watch)
        except KeyboardInterrupt:
            stopped_by = "interrupt"
        except StopRequested:
            stopped_by = "SIGTERM"
        producer.join()
        caught_up, metrics = self._catch_up(worker, producer.producer.stats.messages)
        code = worker.stop()
        self.sleep(LAST_ACTIONS_S)
        watch.close()
        problems = [f"producer: {producer.error}"] if producer.error else []
        return DemoResult(
            run_dir=self.settings.run_dir, data_dir=worker.data_dir,
            produced=producer.producer.stats, metrics=metrics, actions=watch.snapshot(),
            worker_exit_code=code, stopped_by=stopped_by, caught_up=caught_up,
            worker_log_tail=worker.log_tail() if code != 0 else "", problems=problems,
        )  # fmt: skip

    def _show_until_done(
        self, kafka: KafkaSettings, worker: WorkerProcess, producer: _ProducerThread,
        watch: ActionWatch,
    ) -> str:  # fmt: skip
        started = self.clock()
        seconds = self.settings.seconds
        while True:
            self.show(self._frame(kafka, worker, producer, watch, self.clock() - started))
            if seconds and self.clock() - started >= seconds:
                return "time"
            if worker.poll() is not None:
                return "worker exited"
            if not producer.alive():
                return f"producer failed: {producer.error}" if producer.error else "producer ended"
            self.sleep(self.settings.refresh_s)

    def _frame(
        self, kafka: KafkaSettings, worker: WorkerProcess, producer: _ProducerThread,
        watch: ActionWatch, elapsed_s: float,
    ) -> DemoFrame:  # fmt: skip
        produced = producer.producer.stats.messages
        metrics = scrape(worker.metrics_url)
        read = metrics.events_in if metrics else 0
        now = self.clock()
        produce_rate = read_rate = 0.0
        if self._previous is not None and now > self._previous[0]:
            span = now - self._previous[0]
            produce_rate = (produced - self._previous[1]) / span
            read_rate = (read - self._previous[2]) / span
        self._previous = (now, produced, read)
        return DemoFrame(elapsed_s, self.settings.seconds, kafka.bootstrap_servers, produced,
                         produce_rate, metrics, read_rate, watch.snapshot())  # fmt: skip

    def _catch_up(self, worker: WorkerProcess, produced: int) -> tuple[bool, WorkerMetrics | None]:
        """Give the worker `CATCH_UP_S` to read all that was produced; return the last scrape."""
        deadline = self.clock() + CATCH_UP_S
        metrics = scrape(worker.metrics_url)
        while worker.poll() is None and self.clock() < deadline:
            if metrics is not None and metrics.events_in >= produced:
                return True, metrics
            self.sleep(0.25)
            metrics = scrape(worker.metrics_url) or metrics
        return metrics is not None and metrics.events_in >= produced, metrics


def audit_counts(data_dir: Path, database: str) -> dict[tuple[str, str], int] | None:
    """Count the worker's `decisions` audit rows by (kind, status), once the worker has exited.

    Opens the run's embedded chDB store, so call it at most once per process (chDB
    allows one data path per process) and only after the worker closed the store.

    Args:
        data_dir: the worker's `--data-dir`.
        database: the ClickHouse database the worker wrote to.

    Returns:
        The counts, or None if the store does not exist or cannot be read.

    """
    from clickhouse_connect.driver.exceptions import Error as DriverError

    from pitboss.replay.run_store import RunStoreError, StoreLocation, open_store
    from pitboss.sinks.clickhouse_client import ClickHouseConfigError

    try:
        client = open_store(StoreLocation.of_run(data_dir, None, database))
    except (RunStoreError, ClickHouseConfigError, DriverError):
        return None
    try:
        rows = client.query(
            "SELECT kind, status, count() FROM decisions FINAL GROUP BY kind, status"
        ).result_rows
    except DriverError:
        return None
    finally:
        client.close()
    return {(str(kind), str(status)): int(count) for kind, status, count in rows}
