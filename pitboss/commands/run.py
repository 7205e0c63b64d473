"""`pitboss run`: the long-lived live worker, from Kafka topics to action topics and ClickHouse.

Start-up serves `/metrics`, `/healthz` and `/readyz` first, then waits up to
`worker.startup_timeout_s` for the Kafka input topics and a ClickHouse server
(`pitboss.startup`), then runs the live dataflow (`pitboss.flows.live`) until SIGTERM or
Ctrl-C, which end the input, drain the dataflow and flush both sinks (exit 0). A
stop requested during start-up exits 0 at once. With `--recovery-dir` the input
offsets and all operator state are kept in Bytewax's SQLite recovery store, so a
restart (even after `kill -9`) resumes where the last committed epoch ended.
Several processes form one Bytewax cluster with `--process-id` and `--addresses`.
With `--console [HOST:]PORT --console-users FILE` the process also serves the review
console on its own store (`pitboss.console.worker_console`; docs/console.md).
Connection settings and secrets come from configuration and `PITBOSS_...`
environment variables; docs/operations.md is the operator's guide.

Exit codes: 0 stopped on request; 1 a sink or the consumer failed; 2 a
configuration error (file, flag, variable, refused ClickHouse login, metrics port
in use); 3 a dependency (Kafka, ClickHouse) did not answer during start-up; 130 a
second stop signal aborted the stop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from pitboss.app import app

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    import structlog

    from pitboss.config.settings import Settings
    from pitboss.console.worker_console import WorkerConsole
    from pitboss.operators.policy.compliance_facts import ComplianceFacts
    from pitboss.replay.runner import ClickHouseTarget
    from pitboss.sinks.health import WorkerHealth
    from pitboss.sinks.live_outputs import LiveOutputs
    from pitboss.sinks.metrics import LiveMetrics

# How long a process other than 0 waits for process 0 to create the recovery partitions.
_RECOVERY_INIT_WAIT_S = 30.0

# Exit codes (docs/operations.md).
EXIT_STOPPED, EXIT_FAILED, EXIT_CONFIG, EXIT_UNAVAILABLE, EXIT_ABORTED = 0, 1, 2, 3, 130


class LogLevel(StrEnum):
    """The lowest level a worker logs."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class _StopSignals:
    """First SIGTERM/SIGINT asks for a graceful stop; a second one aborts at once.

    Python runs a signal's handler only in the main thread, between bytecodes: late
    while the main thread is inside a blocking C call, and able to deadlock if the
    handler takes a lock the interrupted code holds (logging, `Event.set`). So the
    handlers here take no lock; the signal's number reaches a thread of its own
    through `signal.set_wakeup_fd` (written by the C-level handler at once, whatever
    the main thread is doing), and that thread sets `stop` and logs. On a second
    signal it logs and ends the process at once with exit code 130: an abort must not
    wait on anything (a KeyboardInterrupt in the main thread could land in any frame,
    and the sinks' close would then wait for Kafka again). Nothing is lost: the epoch
    in progress was not committed, so a restart redoes it, as after `kill -9`.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.abort = False
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        for signum in self.SIGNALS:
            signal.signal(signum, self._in_main_thread)
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        threading.Thread(target=self._take, args=(read_fd,), name="stop-signals",
                         daemon=True).start()  # fmt: skip

    def _in_main_thread(self, signum: int, frame: object) -> None:
        """Do nothing here: the wakeup fd has already told the signals thread."""

    def _take(self, read_fd: int) -> None:
        import structlog

        log = structlog.get_logger("pitboss.run")
        while not self.abort:
            for signum in os.read(read_fd, 16):
                if signum not in self.SIGNALS or self.abort:
                    continue
                name = signal.Signals(signum).name
                if self.stop.is_set():
                    self.abort = True
                    log.error("aborted by a second stop signal; the last epoch is redone "
                              "on restart", signal=name)
                    os._exit(EXIT_ABORTED)
                else:
                    self.stop.set()
                    log.info("stop requested", signal=name)


def _addresses(addresses: str | None) -> list[str] | None:
    if not addresses:
        return None
    return [a.strip() for a in addresses.replace(";", ",").split(",") if a.strip()]


def _prepare_recovery(
    recovery_dir: Path, partitions: int, process_id: int | None
) -> Path:
    """Create the recovery partitions on first use (process 0 only; the others wait)."""
    from bytewax.recovery import init_db_dir

    recovery_dir.mkdir(parents=True, exist_ok=True)
    if any(recovery_dir.iterdir()):
        return recovery_dir
    if process_id in (None, 0):
        init_db_dir(recovery_dir, partitions)
        return recovery_dir
    deadline = time.monotonic() + _RECOVERY_INIT_WAIT_S
    while not any(recovery_dir.iterdir()):
        if time.monotonic() > deadline:
            raise typer.BadParameter(
                f"{recovery_dir} is empty and process 0 did not create the recovery "
                f"partitions within {_RECOVERY_INIT_WAIT_S:.0f} s"
            )
        time.sleep(0.2)
    return recovery_dir


def _cause(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """Return the first exception of `kinds` in the cause chain (Bytewax wraps ours)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kinds):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


DataDir = Annotated[Path, typer.Option(
    "--data-dir", help="Embedded ClickHouse (chDB) goes to DATA_DIR/clickhouse unless a "
    "ClickHouse DSN is set.")]
RecoveryDir = Annotated[Path | None, typer.Option(
    "--recovery-dir", help="Bytewax recovery store (SQLite partitions, created on first use); "
    "without it a restart starts over from kafka.auto_offset_reset.")]
EpochInterval = Annotated[float, typer.Option(
    "--epoch-interval-s", min=0.05, help="Seconds per epoch: outputs are flushed and "
    "recovery state committed at each epoch end.")]
MetricsPort = Annotated[int, typer.Option(
    "--metrics-port", min=0, max=65535, help="Port of /metrics, /healthz and /readyz; "
    "0 disables them.")]
MetricsHost = Annotated[str, typer.Option(
    "--metrics-host", help="Address the metrics and health endpoints bind: 0.0.0.0 (all "
    "interfaces, as containers need), 127.0.0.1 (this host only), :: (IPv6).")]
LogLevelOption = Annotated[LogLevel | None, typer.Option(
    "--log-level", envvar="PITBOSS_LOG_LEVEL", show_envvar=True, case_sensitive=False,
    help="Lowest level logged; default worker.log_level (info).")]
Workers = Annotated[int, typer.Option(
    "--workers", "-w", min=1, help="Worker threads in this process (they share the GIL: "
    "prefer processes).")]
ProcessId = Annotated[int | None, typer.Option(
    "--process-id", "-i", min=0, help="This process's index in --addresses.")]
Addresses = Annotated[str | None, typer.Option(
    "--addresses", "-a", help="host:port of every process of the cluster, comma-separated, "
    "in the same order everywhere.")]
ClickHouseDsn = Annotated[str | None, typer.Option(
    "--clickhouse", envvar="PITBOSS_CLICKHOUSE__DSN", show_envvar=True,
    help="ClickHouse server DSN. Prefer the environment variable: a password on the command "
    "line shows in the process list.")]
ConfigFile = Annotated[Path | None, typer.Option(
    "--config", "-c", help="TOML file overriding config/defaults.toml.")]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Most messages per poll.")]
ConsoleAddress = Annotated[str | None, typer.Option(
    "--console", help="Also serve the review console from this process at [HOST:]PORT "
    "(loopback unless a host is given), on the worker's own store: the way to review beside "
    "an embedded (chDB) store, which only this process may open. Needs --console-users.")]
ConsoleUsers = Annotated[Path | None, typer.Option(
    "--console-users", envvar="PITBOSS_CONSOLE_USERS", show_envvar=True,
    help="The review console's users file (`pitboss console add-user`).")]


@dataclass(frozen=True)
class WorkerOptions:
    """The command line of one worker process, checked."""

    data_dir: Path
    recovery_dir: Path | None
    epoch_interval_s: float
    metrics_host: str
    metrics_port: int
    log_level: LogLevel | None
    workers: int
    process_id: int | None
    cluster: list[str] | None
    clickhouse: str | None
    clickhouse_on_command_line: bool
    config: Path | None
    batch_size: int
    console: WorkerConsole | None = None


@app.command()
def run(
    ctx: typer.Context,
    data_dir: DataDir = Path("runs/live"),
    recovery_dir: RecoveryDir = None,
    epoch_interval_s: EpochInterval = 2.0,
    metrics_port: MetricsPort = 9464,
    metrics_host: MetricsHost = "0.0.0.0",
    log_level: LogLevelOption = None,
    workers: Workers = 1,
    process_id: ProcessId = None,
    addresses: Addresses = None,
    clickhouse: ClickHouseDsn = None,
    config: ConfigFile = None,
    batch_size: BatchSize = 1000,
    console: ConsoleAddress = None,
    console_users: ConsoleUsers = None,
) -> None:
    """Consume the event topics, decide, and produce actions until SIGTERM or Ctrl-C."""
    review_console = _review_console(console, console_users, clickhouse, process_id)
    stop = threading.Event()
    _StopSignals(stop)
    cluster = _addresses(addresses)
    if (process_id is None) != (cluster is None):
        raise typer.BadParameter("--process-id and --addresses go together")
    if cluster is not None and process_id is not None and process_id >= len(cluster):
        raise typer.BadParameter(f"--process-id {process_id} but only {len(cluster)} addresses")
    source = ctx.get_parameter_source("clickhouse")  # click's ParameterSource, as typer vendors it
    on_command_line = source is not None and source.name == "COMMANDLINE"
    options = WorkerOptions(
        data_dir, recovery_dir, epoch_interval_s, metrics_host, metrics_port, log_level, workers,
        process_id, cluster, clickhouse, on_command_line, config, batch_size, review_console,
    )  # fmt: skip
    raise typer.Exit(_run_worker(stop, options))


def _review_console(address: str | None, users: Path | None, dsn: str | None,
                    process_id: int | None) -> WorkerConsole | None:
    """Check `--console` and `--console-users`; None when no console is asked for."""
    from pitboss.console.worker_console import ConsoleOptionError, WorkerConsole
    from pitboss.mistakes import InputError

    if address is None:
        return None
    if process_id and not (dsn or os.environ.get("PITBOSS_CLICKHOUSE__DSN")):
        raise InputError("--console: only process 0 of a cluster holds the embedded store; "
                         "serve the console from process 0")  # fmt: skip
    try:
        return WorkerConsole.parse(address, users)
    except ConsoleOptionError as exc:
        raise InputError(str(exc)) from None


def _level(name: str) -> int:
    return int(logging.getLevelName(name.upper()))


def _load_settings(options: WorkerOptions) -> Settings | None:
    """Load the configuration and its policy file, and set logging up; None on a config error."""
    import structlog

    from pitboss.config.settings import ConfigError
    from pitboss.preflight import configuration
    from pitboss.sinks.metrics import configure_logging

    flag_level = options.log_level.value if options.log_level is not None else None
    try:
        # The policy file too: the dataflow loads it deep inside Bytewax, where a mistake
        # would be a long traceback rather than one line.
        settings = configuration(options.config)
    except ConfigError as exc:
        configure_logging(_level(flag_level or "info"))
        structlog.get_logger("pitboss.run").error("configuration error", error=str(exc))
        return None
    worker = settings.worker
    configure_logging(_level(flag_level or worker.log_level),
                      kafka_interval_s=worker.kafka_log_interval_s)  # fmt: skip
    return settings


def _warn_about_password(options: WorkerOptions, log: structlog.BoundLogger) -> None:
    """Warn once if the DSN with a password came from the command line (`ps` shows it)."""
    if options.clickhouse_on_command_line and urlsplit(options.clickhouse or "").password:
        log.warning("--clickhouse holds a password, which every user of this machine can read "
                    "in the process list: set PITBOSS_CLICKHOUSE__DSN instead")  # fmt: skip


def _run_worker(stop: threading.Event, options: WorkerOptions) -> int:
    import structlog

    from pitboss.replay.runner import ClickHouseTarget
    from pitboss.sinks.health import WorkerHealth
    from pitboss.sinks.metrics import LiveMetrics

    settings = _load_settings(options)
    if settings is None:
        return EXIT_CONFIG
    log = structlog.get_logger("pitboss.run")
    _warn_about_password(options, log)
    dsn = options.clickhouse or settings.clickhouse.dsn.get_secret_value() or None
    target = ClickHouseTarget.for_run(options.data_dir, dsn, settings.clickhouse.database)
    health = WorkerHealth(settings.worker.ready_max_age_s)
    metrics = LiveMetrics(health)
    try:
        server = metrics.serve(options.metrics_port, options.metrics_host)
    except OSError as exc:
        log.error("cannot serve the metrics and health endpoints: check --metrics-host and "
                  "--metrics-port", host=options.metrics_host, port=options.metrics_port,
                  error=exc.strerror or str(exc))  # fmt: skip
        return EXIT_CONFIG
    try:
        code = _wait_for_dependencies(stop, settings, target, health)
        if code is None:
            code = _run_dataflow(stop, options, settings, target, metrics)
        return code
    finally:
        health.stopping()
        if server is not None:
            server.close()


def _wait_for_dependencies(
    stop: threading.Event, settings: Settings, target: ClickHouseTarget, health: WorkerHealth
) -> int | None:
    """Wait for Kafka and a ClickHouse server; return an exit code, or None to carry on."""
    import structlog

    from pitboss.sinks.clickhouse_client import ClickHouseConfigError
    from pitboss.startup import (
        ClickHouseProbe,
        DependencyUnavailableError,
        KafkaTopicsProbe,
        Probe,
        StartupChecks,
    )

    log = structlog.get_logger("pitboss.run")
    kafka = settings.kafka
    health.waiting_for(f"Kafka at {kafka.bootstrap_servers}")
    started = time.monotonic()
    try:
        probes: list[Probe] = [KafkaTopicsProbe(kafka.connection_config(), kafka.topics.inputs)]
        if target.dsn:
            probes.append(ClickHouseProbe(target.dsn))
        ready = StartupChecks(probes, settings.worker.startup_timeout_s,
                              on_wait=health.waiting_for).wait(stop)  # fmt: skip
    except DependencyUnavailableError as exc:
        log.error("dependency unavailable", error=str(exc))
        return EXIT_UNAVAILABLE
    except ClickHouseConfigError as exc:
        log.error("configuration error", error=str(exc))
        return EXIT_CONFIG
    if not ready:
        log.info("worker stopped during start-up", seconds=round(time.monotonic() - started, 3))
        return EXIT_STOPPED
    health.broker_contact()
    return None


def _run_dataflow(
    stop: threading.Event,
    options: WorkerOptions,
    settings: Settings,
    target: ClickHouseTarget,
    metrics: LiveMetrics,
) -> int:
    import structlog
    from bytewax._bytewax import cli_main
    from bytewax.recovery import RecoveryConfig

    from pitboss.flows.gc_tuning import pipeline_gc
    from pitboss.flows.live import LiveInputError, build_live_flow
    from pitboss.models.kind_model import LearnedStateMismatchError
    from pitboss.operators.player_shard import IncompatibleStateError
    from pitboss.operators.policy.compliance_facts import DeferredFacts
    from pitboss.sinks.clickhouse_client import ClickHouseConfigError, ClickHouseUnavailableError
    from pitboss.sinks.clickhouse_writer import SinkDeliveryError
    from pitboss.sinks.consumer_lag import ConsumerLagProbe
    from pitboss.sinks.kafka_actions import ActionDeliveryError

    log = structlog.get_logger("pitboss.run")
    cluster, process_id = options.cluster, options.process_id
    from pitboss.replay.runner import prepare_store

    if process_id:
        # The store belongs to process 0, which reads it before joining the cluster.
        compliance: ComplianceFacts = DeferredFacts(_facts_of_process_0(target, settings))
    else:
        try:
            compliance = prepare_store(target, settings)
        except (ClickHouseConfigError, ClickHouseUnavailableError) as exc:
            log.error("cannot read the durable compliance facts", error=str(exc))
            return EXIT_CONFIG if isinstance(exc, ClickHouseConfigError) else EXIT_UNAVAILABLE
        log.info("durable compliance facts read", players=len(compliance))
        if cluster is not None and target.dsn is None:
            _share_facts(compliance, target)
    probe = ConsumerLagProbe(settings.kafka.connection_config(), metrics)
    probe.start()
    recovery = None
    if options.recovery_dir is not None:
        partitions = options.workers * (len(cluster) if cluster else 1)
        recovery = RecoveryConfig(_prepare_recovery(options.recovery_dir, partitions, process_id))
    flow = build_live_flow(
        settings, _outputs_factory(settings, target, metrics, stop), stop, metrics,
        options.batch_size, compliance,
    )
    log.info(
        "worker starting", bootstrap_servers=settings.kafka.bootstrap_servers,
        topics=list(dict.fromkeys(settings.kafka.topics.inputs)), process_id=process_id,
        processes=len(cluster) if cluster else 1, workers=options.workers,
        recovery_dir=str(options.recovery_dir) if options.recovery_dir else None,
        clickhouse="server" if target.dsn else str(target.embedded_path),
        metrics=f"{options.metrics_host}:{options.metrics_port}" if options.metrics_port else None,
        epoch_interval_s=options.epoch_interval_s,
    )  # fmt: skip
    beside = _console_beside(options, settings, target)
    if beside is None:
        return EXIT_CONFIG
    started = time.monotonic()
    metrics.health.running(judges_epochs=cluster is None)
    try:
        if stop.is_set():
            return EXIT_STOPPED
        with beside, pipeline_gc():
            cli_main(
                flow, workers_per_process=options.workers, process_id=process_id,
                addresses=cluster, epoch_interval=timedelta(seconds=options.epoch_interval_s),
                recovery_config=recovery,
            )  # fmt: skip
    except BaseException as exc:
        known = _cause(exc, (ActionDeliveryError, SinkDeliveryError, LiveInputError,
                             ClickHouseConfigError, ClickHouseUnavailableError,
                             IncompatibleStateError, LearnedStateMismatchError,
                             ClusterStoreError))  # fmt: skip
        log.error("worker stopped on an error", error=str(known or exc),
                  kind=type(known or exc).__name__)
        return EXIT_FAILED
    finally:
        probe.stop()
    log.info("worker stopped", stop_requested=stop.is_set(),
             seconds=round(time.monotonic() - started, 3))
    return EXIT_STOPPED


def _console_beside(options: WorkerOptions, settings: Settings, target: ClickHouseTarget
                    ) -> AbstractContextManager[object] | None:
    """Return what serves `--console` while the dataflow runs; None if its port cannot be bound."""
    import structlog

    from pitboss.console.worker_console import serve_beside_worker

    console = options.console
    if console is None:
        return contextlib.nullcontext()
    try:
        sock = console.bind()
    except OSError as exc:
        structlog.get_logger("pitboss.run").error(
            "cannot serve the review console: check --console", host=console.host,
            port=console.port, error=exc.strerror or str(exc))
        return None
    return serve_beside_worker(console, sock, options.data_dir, target.dsn, target.database,
                               settings.kafka)


def _shared_facts_path(target: ClickHouseTarget) -> Path:
    """Return where process 0 leaves the facts it read from an embedded store for the others."""
    assert target.embedded_path is not None
    return target.embedded_path.parent / "compliance-facts.pickle"


class ClusterStoreError(RuntimeError):
    """A process of a cluster found no copy of process 0's compliance facts (`--data-dir`)."""


def _share_facts(facts: ComplianceFacts, target: ClickHouseTarget) -> None:
    """Write the facts for the cluster's other processes (atomically: they may be reading)."""
    import pickle

    path = _shared_facts_path(target)
    partial = path.with_suffix(".partial")
    partial.write_bytes(pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(partial, path)


def _facts_of_process_0(
    target: ClickHouseTarget, settings: Settings
) -> Callable[[], ComplianceFacts]:
    """Return how a process other than 0 reads the facts, at first use.

    From a server, the store itself (process 0 brought its tables up to date before it
    joined the cluster); from an embedded store, which only process 0 may open, the
    copy process 0 wrote beside it (`_share_facts`), on the same machine.
    """

    def from_server() -> ComplianceFacts:
        from pitboss.sinks.clickhouse_client import open_client
        from pitboss.sinks.compliance_store import load_facts

        client = open_client(target.dsn, None, target.database)
        try:
            return load_facts(client, settings.compliance.facts_database or target.database)
        finally:
            client.close()

    def from_process_0() -> ComplianceFacts:
        import pickle

        import structlog

        from pitboss.operators.policy.compliance_facts import ComplianceFacts

        path = _shared_facts_path(target)
        if not path.is_file():
            problem = ClusterStoreError(
                f"{path} not found: process 0 leaves the compliance facts there for the other "
                "processes of the cluster. Give every process of a cluster on one machine the "
                "same --data-dir (the embedded store belongs to process 0), or, across "
                "machines, a ClickHouse server (PITBOSS_CLICKHOUSE__DSN)")
            # Said here: in a cluster the engine reports its own teardown, not this error.
            structlog.get_logger("pitboss.run").error("cannot read the durable compliance facts",
                                                      error=str(problem))
            raise problem
        facts = pickle.loads(path.read_bytes())
        if not isinstance(facts, ComplianceFacts):
            raise TypeError(f"{_shared_facts_path(target)} holds no compliance facts")
        return facts

    return from_server if target.dsn else from_process_0


def _outputs_factory(
    settings: Settings, target: ClickHouseTarget, metrics: LiveMetrics, stop: threading.Event
) -> Callable[[], LiveOutputs]:
    """Return the builder of the sink's `LiveOutputs` (runs on the worker that owns it)."""
    from pitboss.sinks.clickhouse_client import open_client
    from pitboss.sinks.clickhouse_writer import ClickHouseWriter
    from pitboss.sinks.kafka_actions import ActionProducer
    from pitboss.sinks.live_outputs import LiveOutputs
    from pitboss.sinks.migrations import apply_migrations

    kafka = settings.kafka

    def make() -> LiveOutputs:
        # The outputs live here, so this process's epochs are judged even in a cluster.
        metrics.health.judge_epochs()
        client = open_client(target.dsn, target.embedded_path, target.database)
        apply_migrations(client, target.database)
        writer = ClickHouseWriter.from_settings(client, settings.clickhouse, background=True)
        producer = ActionProducer.from_settings(kafka)
        # Past message.timeout.ms librdkafka reports the failure itself; wait a bit longer.
        flush_timeout_s = kafka.message_timeout_ms / 1000 + 5.0
        return LiveOutputs(producer, writer, kafka.topics, metrics, flush_timeout_s,
                           stop=stop, stop_timeout_s=settings.worker.stop_timeout_s)  # fmt: skip

    return make
