"""`pitboss run`: the long-lived live worker, from Kafka topics to action topics and ClickHouse.

Runs the live dataflow (`flows.live`) until SIGTERM or Ctrl-C, which end the input,
drain the dataflow and flush both sinks (exit 0). With `--recovery-dir` the input
offsets and all operator state are kept in Bytewax's SQLite recovery store, so a
restart (even after `kill -9`) resumes where the last committed epoch ended.
Several processes form one Bytewax cluster with `--process-id` and `--addresses`.
Connection settings and secrets come from configuration and `PITBOSS_...`
environment variables; docs/operations.md is the operator's guide.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from pitboss.app import app

if TYPE_CHECKING:
    from collections.abc import Callable

    from config.settings import Settings
    from replay.runner import ClickHouseTarget
    from sinks.live_outputs import LiveOutputs
    from sinks.metrics import LiveMetrics

# How long a process other than 0 waits for process 0 to create the recovery partitions.
_RECOVERY_INIT_WAIT_S = 30.0


def _install_stop_handlers(stop: threading.Event) -> None:
    """First SIGTERM/SIGINT asks for a graceful stop; a second one aborts at once."""
    import structlog

    log = structlog.get_logger("pitboss.run")

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        log.info("stop requested", signal=signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)


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
    "--metrics-port", min=0, max=65535, help="Port of the Prometheus /metrics endpoint; "
    "0 disables it.")]
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
    help="ClickHouse server DSN (prefer the environment variable: it holds a password).")]
ConfigFile = Annotated[Path | None, typer.Option(
    "--config", "-c", help="TOML file overriding config/defaults.toml.")]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Most messages per poll.")]


@app.command()
def run(
    data_dir: DataDir = Path("runs/live"),
    recovery_dir: RecoveryDir = None,
    epoch_interval_s: EpochInterval = 2.0,
    metrics_port: MetricsPort = 9464,
    workers: Workers = 1,
    process_id: ProcessId = None,
    addresses: Addresses = None,
    clickhouse: ClickHouseDsn = None,
    config: ConfigFile = None,
    batch_size: BatchSize = 1000,
) -> None:
    """Consume the event topics, decide, and produce actions until SIGTERM or Ctrl-C."""
    from sinks.metrics import configure_logging

    configure_logging()
    stop = threading.Event()
    _install_stop_handlers(stop)
    cluster = _addresses(addresses)
    if (process_id is None) != (cluster is None):
        raise typer.BadParameter("--process-id and --addresses go together")
    if cluster is not None and process_id is not None and process_id >= len(cluster):
        raise typer.BadParameter(f"--process-id {process_id} but only {len(cluster)} addresses")
    code = _run_worker(
        stop, data_dir, recovery_dir, epoch_interval_s, metrics_port, workers, process_id,
        cluster, clickhouse, config, batch_size,
    )
    raise typer.Exit(code)


def _run_worker(
    stop: threading.Event,
    data_dir: Path,
    recovery_dir: Path | None,
    epoch_interval_s: float,
    metrics_port: int,
    workers: int,
    process_id: int | None,
    cluster: list[str] | None,
    clickhouse: str | None,
    config: Path | None,
    batch_size: int,
) -> int:
    import structlog
    from bytewax._bytewax import cli_main
    from bytewax.recovery import RecoveryConfig

    from config.settings import ConfigError, load_settings
    from flows.gc_tuning import pipeline_gc
    from flows.live import LiveInputError, build_live_flow
    from replay.runner import ClickHouseTarget
    from sinks.clickhouse_client import ClickHouseConfigError, ClickHouseUnavailableError
    from sinks.clickhouse_writer import SinkDeliveryError
    from sinks.consumer_lag import ConsumerLagProbe
    from sinks.kafka_actions import ActionDeliveryError
    from sinks.metrics import LiveMetrics

    log = structlog.get_logger("pitboss.run")
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        log.error("configuration error", error=str(exc))
        return 2
    dsn = clickhouse or settings.clickhouse.dsn.get_secret_value() or None
    target = ClickHouseTarget.for_run(data_dir, dsn, settings.clickhouse.database)
    metrics = LiveMetrics()
    metrics.serve(metrics_port)
    probe = ConsumerLagProbe(settings.kafka.connection_config(), metrics)
    probe.start()
    recovery = None
    if recovery_dir is not None:
        partitions = workers * (len(cluster) if cluster else 1)
        recovery = RecoveryConfig(_prepare_recovery(recovery_dir, partitions, process_id))
    flow = build_live_flow(
        settings, _outputs_factory(settings, target, metrics), stop, metrics, batch_size
    )
    log.info(
        "worker starting", bootstrap_servers=settings.kafka.bootstrap_servers,
        topics=list(dict.fromkeys(settings.kafka.topics.inputs)), process_id=process_id,
        processes=len(cluster) if cluster else 1, workers=workers,
        recovery_dir=str(recovery_dir) if recovery_dir else None,
        clickhouse="server" if dsn else str(target.embedded_path), metrics_port=metrics_port,
        epoch_interval_s=epoch_interval_s,
    )  # fmt: skip
    started = time.monotonic()
    try:
        with pipeline_gc():
            cli_main(
                flow, workers_per_process=workers, process_id=process_id, addresses=cluster,
                epoch_interval=timedelta(seconds=epoch_interval_s), recovery_config=recovery,
            )  # fmt: skip
    except BaseException as exc:
        known = _cause(exc, (ActionDeliveryError, SinkDeliveryError, LiveInputError,
                             ClickHouseConfigError, ClickHouseUnavailableError))  # fmt: skip
        if isinstance(exc, KeyboardInterrupt) or _cause(exc, (KeyboardInterrupt,)):
            log.error("aborted by a second stop signal; the last epoch is redone on restart")
            return 130
        log.error("worker stopped on an error", error=str(known or exc),
                  kind=type(known or exc).__name__)
        return 1
    finally:
        probe.stop()
    log.info("worker stopped", stop_requested=stop.is_set(),
             seconds=round(time.monotonic() - started, 3))
    return 0


def _outputs_factory(
    settings: Settings, target: ClickHouseTarget, metrics: LiveMetrics
) -> Callable[[], LiveOutputs]:
    """Return the builder of the sink's `LiveOutputs` (runs on the worker that owns it)."""
    from sinks.clickhouse_client import open_client
    from sinks.clickhouse_writer import ClickHouseWriter
    from sinks.kafka_actions import ActionProducer
    from sinks.live_outputs import LiveOutputs
    from sinks.migrations import apply_migrations

    kafka = settings.kafka

    def make() -> LiveOutputs:
        client = open_client(target.dsn, target.embedded_path, target.database)
        apply_migrations(client, target.database)
        writer = ClickHouseWriter.from_settings(client, settings.clickhouse, background=True)
        producer = ActionProducer.from_settings(kafka)
        # Past message.timeout.ms librdkafka reports the failure itself; wait a bit longer.
        flush_timeout_s = kafka.message_timeout_ms / 1000 + 5.0
        return LiveOutputs(producer, writer, kafka.topics, metrics, flush_timeout_s)

    return make
