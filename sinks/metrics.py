"""What a live worker tells its operators: Prometheus metrics and structured logs.

`LiveMetrics` owns one Prometheus registry per worker process (never the global
one, so tests and several flows in one process do not collide) with the series
`docs/operations.md` lists: events in by topic, rejected messages by reason,
decisions by kind and status, consumer lag per partition, ClickHouse and Kafka
sink counters and latencies, and the latest value of every model metric.
Counters that other components keep themselves (`ClickHouseWriter.stats`,
`ActionProducer.counters`) are copied in with `observe_writer` and
`observe_producer`, which turn their running totals into increments. The
registry also holds the process's own series (`process_*`, `python_gc_*`,
`python_info`), `pitboss_build_info` and the age of the last epoch commit, and
`serve` exposes it with `/healthz` and `/readyz` (`pitboss.sinks.health`), judged on the
`WorkerHealth` the metrics feed. `configure_logging` sets structlog up: JSON lines
when stderr is not a terminal, coloured key=value lines when it is.

Example:
    >>> metrics = LiveMetrics()
    >>> metrics.event_in("bets")
    >>> metrics.registry.get_sample_value("pitboss_events_in_total", {"topic": "bets"})
    1.0
"""

from __future__ import annotations

import logging
import math
import sys
from collections import Counter as TallyCounter
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import structlog
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
)

from pitboss.sinks.clickhouse_writer import WriterStats
from pitboss.sinks.health import EndpointServer, WorkerHealth, serve_endpoints
from pitboss.sinks.kafka_actions import DeliveryCounters
from pitboss.sinks.kafka_logging import (
    DEFAULT_INTERVAL_S,
    configure_kafka_logging,
    route_library_logs,
)

_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def pitboss_version() -> str:
    """Return the installed Pitboss version (`0+unknown` when run from an uninstalled tree)."""
    try:
        return version("pitboss")
    except PackageNotFoundError:
        return "0+unknown"


class LiveMetrics:
    """The Prometheus series of one live worker process, in a registry of its own.

    Args:
        health: what `/readyz` judges; the metrics feed it (positions read, epochs
            closed). A new one (60 s maximum age) if None.

    """

    def __init__(self, health: WorkerHealth | None = None) -> None:
        self.health = health = health or WorkerHealth()
        self.registry = registry = CollectorRegistry()
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            registry.register(collector)
        Info("pitboss_build", "The running Pitboss version.", registry=registry).info(
            {"version": pitboss_version()})
        self.last_epoch_commit = Gauge(
            "pitboss_last_epoch_commit_timestamp_seconds", "Wall-clock time the worker last "
            "closed an epoch (snapshots taken, outputs checkpointed; Bytewax commits next).",
            registry=registry)
        Gauge("pitboss_last_epoch_commit_age_seconds", "Seconds since the worker last closed "
              "an epoch; NaN before the first.", registry=registry).set_function(
            lambda: _or_nan(health.epoch_age_s()))
        Gauge("pitboss_ready", "1 when /readyz answers 200, else 0.", registry=registry
              ).set_function(lambda: float(health.verdict().ready))
        self.events_in = Counter(
            "pitboss_events_in", "Raw messages read from Kafka, by topic.", ["topic"],
            registry=registry)
        self.consumer_errors = Counter(
            "pitboss_kafka_consumer_errors", "Errors the Kafka consumer reported, by code.",
            ["code"], registry=registry)
        self.consumer_position = Gauge(
            "pitboss_consumer_position", "Next offset the worker will read, per partition.",
            ["topic", "partition"], registry=registry)
        self.consumer_lag = Gauge(
            "pitboss_consumer_lag", "High watermark minus position, per partition.",
            ["topic", "partition"], registry=registry)
        self.input_watermark = Gauge(
            "pitboss_input_watermark_seconds", "Low event-time watermark over all input "
            "partitions (epoch seconds): events before it have all been read.",
            registry=registry)
        self.input_caught_up = Gauge(
            "pitboss_input_caught_up", "1 when every input partition has been read up to "
            "its high watermark, else 0.", registry=registry)
        self.alignment_buffered = Gauge(
            "pitboss_alignment_buffered_messages", "Messages read but waiting for the "
            "event-time watermark (the alignment buffer).", registry=registry)
        self.rejected = Counter(
            "pitboss_events_rejected", "Dead letters (incl. duplicates and late), by reason.",
            ["reason"], registry=registry)
        self.decisions = Counter(
            "pitboss_decisions", "Policy decisions, by kind and status.", ["kind", "status"],
            registry=registry)
        self.model_metric = Gauge(
            "pitboss_model_metric", "Latest hourly value of each model metric.",
            ["model_kind", "role", "metric"], registry=registry)
        self.clickhouse_rows = Counter(
            "pitboss_clickhouse_rows_written", "Rows inserted into ClickHouse, by table.",
            ["table"], registry=registry)
        self.clickhouse_batches = Counter(
            "pitboss_clickhouse_batches", "ClickHouse insert batches.", registry=registry)
        self.clickhouse_retries = Counter(
            "pitboss_clickhouse_retries", "ClickHouse insert retries.", registry=registry)
        self.clickhouse_batch_latency = Histogram(
            "pitboss_clickhouse_batch_latency_seconds", "Latency of the latest insert batch.",
            buckets=_LATENCY_BUCKETS, registry=registry)
        self.kafka_sent = Counter(
            "pitboss_kafka_messages_sent", "Action and dead-letter messages handed to Kafka.",
            registry=registry)
        self.kafka_delivered = Counter(
            "pitboss_kafka_messages_delivered", "Messages Kafka acknowledged.", registry=registry)
        self.kafka_failed = Counter(
            "pitboss_kafka_messages_failed", "Messages Kafka did not accept.", registry=registry)
        self.kafka_delivery_latency = Gauge(
            "pitboss_kafka_delivery_latency_seconds", "Latency of the latest delivery.",
            registry=registry)
        self.sink_errors = Counter(
            "pitboss_sink_errors", "Sink failures that stopped the worker, by sink.", ["sink"],
            registry=registry)
        self.checkpoint_latency = Histogram(
            "pitboss_checkpoint_seconds", "Time to flush Kafka and ClickHouse at an epoch end.",
            buckets=_LATENCY_BUCKETS, registry=registry)
        self.input_delay = Histogram(
            "pitboss_input_delay_seconds", "Wall-clock time at reading minus the Kafka "
            "timestamp (producer create time or broker append time) of the newest message "
            "of each partition read.",
            buckets=_LATENCY_BUCKETS, registry=registry)
        self.output_delay = Histogram(
            "pitboss_output_delay_seconds", "Wall-clock time at the sink minus the event time "
            "of each event-triggered scoring point: how far the outputs trail live play.",
            buckets=_LATENCY_BUCKETS, registry=registry)
        self.scored_after_waiting = Counter(
            "pitboss_scored_after_waiting", "Scoring points that waited for the models' "
            "release of their event-time boundary (the models step was behind).",
            registry=registry)
        self._writer_seen = WriterStats()
        self._producer_seen = DeliveryCounters(0, 0, 0, None)

    def event_in(self, topic: str) -> None:
        """Count one raw message read from `topic`."""
        self.events_in.labels(topic).inc()

    def position(self, topic: str, partition: int, next_offset: int) -> None:
        """Record the next offset to read from a partition (for the lag probe and readiness)."""
        self.consumer_position.labels(topic, str(partition)).set(next_offset)
        self.health.input_read()

    def epoch_closed(self) -> None:
        """Record that an epoch closed in this process (an input partition's snapshot)."""
        self.last_epoch_commit.set_to_current_time()
        self.health.epoch_closed()

    def checkpointed(self, seconds: float) -> None:
        """Record the sink's checkpoint at an epoch end: its duration, and the epoch closing."""
        self.checkpoint_latency.observe(seconds)
        self.epoch_closed()

    def observe_writer(self, stats: WriterStats) -> None:
        """Copy a ClickHouse writer's running totals in as increments."""
        seen = self._writer_seen
        for table, rows in stats.rows_written.items():
            if rows > seen.rows_written[table]:
                self.clickhouse_rows.labels(table).inc(rows - seen.rows_written[table])
        if stats.batches > seen.batches:
            self.clickhouse_batches.inc(stats.batches - seen.batches)
            self.clickhouse_batch_latency.observe(stats.last_batch_latency_s)
        if stats.retries > seen.retries:
            self.clickhouse_retries.inc(stats.retries - seen.retries)
        self._writer_seen = WriterStats(
            TallyCounter(stats.rows_written), stats.batches, stats.retries,
            stats.last_batch_latency_s)

    def observe_producer(self, counters: DeliveryCounters) -> None:
        """Copy a producer's running totals in as increments."""
        seen = self._producer_seen
        for counter, now, before in (
            (self.kafka_sent, counters.sent, seen.sent),
            (self.kafka_delivered, counters.delivered, seen.delivered),
            (self.kafka_failed, counters.failed, seen.failed),
        ):
            if now > before:
                counter.inc(now - before)
        if counters.last_latency_s is not None:
            self.kafka_delivery_latency.set(counters.last_latency_s)
        self._producer_seen = counters

    def serve(self, port: int, host: str = "0.0.0.0") -> EndpointServer | None:
        """Serve `/metrics`, `/healthz` and `/readyz` on `host:port`; port 0 serves nothing.

        Returns:
            The running server (close it to release the port), or None for port 0.

        Raises:
            OSError: the address cannot be bound (e.g. the port is in use).

        """
        return serve_endpoints(self.registry, self.health, host, port) if port else None


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


class _CurrentStderrLogger:
    """A structlog logger that writes each line to whatever `sys.stderr` is at the time.

    `PrintLoggerFactory(sys.stderr)` keeps the stream it saw when logging was configured:
    once a test runner or an embedding program swaps and closes that stream, every later
    log line raises. Looking the stream up per line costs one attribute read.
    """

    def __init__(self, *_args: Any) -> None:
        pass

    def msg(self, message: str) -> None:
        """Write one rendered line."""
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def configure_logging(
    level: int = logging.INFO, json: bool | None = None,
    kafka_interval_s: float = DEFAULT_INTERVAL_S,
) -> None:
    """Set structlog up for a worker: JSON lines unless stderr is a terminal.

    Kafka clients' lines (`pitboss.sinks.kafka_logging`) and other libraries' `logging`
    records (warnings and above, or `level` if higher) join the same stream, each
    repeated message logged once and then as a count every `kafka_interval_s`.

    Args:
        level: the lowest level logged, Kafka client lines included.
        json: force JSON (True) or console lines (False); None decides by `isatty`.
        kafka_interval_s: how often a repeated library message is logged as a count.

    """
    configure_kafka_logging(level, kafka_interval_s)
    route_library_logs(max(level, logging.WARNING), kafka_interval_s)
    as_json = not sys.stderr.isatty() if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_CurrentStderrLogger,
        cache_logger_on_first_use=True,
    )
