"""What a live worker tells its operators: Prometheus metrics and structured logs.

`LiveMetrics` owns one Prometheus registry per worker process (never the global
one, so tests and several flows in one process do not collide) with the series
`docs/operations.md` lists: events in by topic, rejected messages by reason,
decisions by kind and status, consumer lag per partition, ClickHouse and Kafka
sink counters and latencies, and the latest value of every model metric.
Counters that other components keep themselves (`ClickHouseWriter.stats`,
`ActionProducer.counters`) are copied in with `observe_writer` and
`observe_producer`, which turn their running totals into increments.
`configure_logging` sets structlog up: JSON lines when stderr is not a terminal,
coloured key=value lines when it is.

Example:
    >>> metrics = LiveMetrics()
    >>> metrics.event_in("bets")
    >>> metrics.registry.get_sample_value("pitboss_events_in_total", {"topic": "bets"})
    1.0
"""

from __future__ import annotations

import logging
import sys
from collections import Counter as TallyCounter
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from sinks.clickhouse_writer import WriterStats
from sinks.kafka_actions import DeliveryCounters

_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class LiveMetrics:
    """The Prometheus series of one live worker process, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
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
            "pitboss_input_delay_seconds", "Wall-clock time at reading minus each message's "
            "Kafka timestamp (producer create time or broker append time).",
            buckets=_LATENCY_BUCKETS, registry=registry)
        self.output_delay = Histogram(
            "pitboss_output_delay_seconds", "Wall-clock time at the sink minus the event time "
            "of each event-triggered scoring point: how far the outputs trail live play.",
            buckets=_LATENCY_BUCKETS, registry=registry)
        self._writer_seen = WriterStats()
        self._producer_seen = DeliveryCounters(0, 0, 0, None)

    def event_in(self, topic: str) -> None:
        """Count one raw message read from `topic`."""
        self.events_in.labels(topic).inc()

    def position(self, topic: str, partition: int, next_offset: int) -> None:
        """Record the next offset to read from a partition (for the lag probe too)."""
        self.consumer_position.labels(topic, str(partition)).set(next_offset)

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

    def serve(self, port: int, address: str = "0.0.0.0") -> None:
        """Serve `/metrics` over HTTP on `port` from a daemon thread; 0 serves nothing."""
        if port:
            start_http_server(port, address, registry=self.registry)


def configure_logging(level: int = logging.INFO, json: bool | None = None) -> None:
    """Set structlog up for a worker: JSON lines unless stderr is a terminal.

    Args:
        level: the lowest level logged.
        json: force JSON (True) or console lines (False); None decides by `isatty`.

    """
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
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
