"""The live dataflow: Kafka topics through the same pipeline as replay, to Kafka and ClickHouse.

    kafka_input (AlignedKafkaSource, stoppable) -> build_flow -> live_outputs

One source partition reads every partition of the input topics through
`pitboss.flows.kafka_reader.AlignedKafkaReader`, which merges them in event time (the
low watermark over all partitions), so the pipeline sees what a replay of the same
events sees. Input positions live in Bytewax's recovery state (no consumer group
commits). Each message becomes a raw message `(f"{topic}/{partition}", offset,
value)`, so dead letters name their topic, partition and offset. Consumer errors
are never dropped: transient ones are logged and counted, anything else stops the
worker with `LiveInputError`. End of input only ever means "stop requested", so
the pipeline runs with `finish_at_eof=False`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast

from bytewax.dataflow import Dataflow
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from pitboss.config.kafka import KafkaSettings
from pitboss.config.settings import Settings
from pitboss.flows.kafka_reader import (
    AlignedKafkaReader,
    InputObserver,
    LiveInputError,
    ReaderResume,
)
from pitboss.flows.outputs_sink import OutputsSink
from pitboss.flows.pipeline import build_flow
from pitboss.flows.stoppable_source import StoppableSource
from pitboss.operators.ingest import RawMessage
from pitboss.operators.policy.compliance_facts import EMPTY_FACTS, ComplianceFacts
from pitboss.sinks.insert_thread import InsertBatch
from pitboss.sinks.live_outputs import LiveOutputs
from pitboss.sinks.metrics import LiveMetrics

__all__ = ["AlignedKafkaSource", "LiveInputError", "MetricsObserver", "build_live_flow"]

INPUT_PARTITION = "kafka_input"

AT_ONCE = datetime(1970, 1, 1, tzinfo=UTC)
"""A `next_awake` already past, whenever Bytewax compares it: read again without a pause.

Not `datetime.now()`: Bytewax measures the wait from the time it took before calling
`next_batch`, so "now" read after a batch is in its future by the batch's own read time,
and the worker would sleep that long whenever the rest of the flow had less to do.
"""


class MetricsObserver(InputObserver):
    """Publish what the reader reports as the worker's Prometheus series."""

    def __init__(self, metrics: LiveMetrics, wall_clock_s: Callable[[], float] = time.time) -> None:
        self.metrics = metrics
        self.wall_clock_s = wall_clock_s

    def read(self, stream: str, topic: str, messages: int, newest_stamp_ms: int | None) -> None:
        """Count messages read from a topic; observe how long ago the newest was produced."""
        self.metrics.events_in.labels(topic).inc(messages)
        self.metrics.health.input_read()
        if newest_stamp_ms is not None:
            delay_s = self.wall_clock_s() - newest_stamp_ms / 1000
            self.metrics.input_delay.observe(max(delay_s, 0.0))

    def progress(self, positions: dict[str, tuple[int, int]], watermark_ms: int,
                 buffered: int, caught_up: bool) -> None:
        """Set positions, lag, the watermark, the alignment buffer and the caught-up flag."""
        metrics = self.metrics
        for stream, (position, high) in positions.items():
            topic, _, partition = stream.rpartition("/")
            metrics.consumer_position.labels(topic, partition).set(position)
            metrics.consumer_lag.labels(topic, partition).set(max(high - position, 0))
        if -(2**53) < watermark_ms < 2**53:
            metrics.input_watermark.set(watermark_ms / 1000)
        metrics.alignment_buffered.set(buffered)
        metrics.input_caught_up.set(1 if caught_up else 0)

    def consumer_error(self, code: str) -> None:
        """Count a consumer error."""
        self.metrics.consumer_errors.labels(code).inc()


class _ReaderPartition(StatefulSourcePartition[RawMessage, ReaderResume]):
    def __init__(self, reader: AlignedKafkaReader) -> None:
        self.reader = reader

    def next_batch(self) -> list[RawMessage]:
        return self.reader.read()

    def next_awake(self) -> datetime | None:
        # Behind: poll again at once (the consumer fetches meanwhile); caught up: the
        # stoppable source's idle poll applies.
        return None if self.reader.caught_up else AT_ONCE

    def snapshot(self) -> ReaderResume:
        return self.reader.snapshot()

    def close(self) -> None:
        self.reader.close()


class AlignedKafkaSource(FixedPartitionedSource[RawMessage, ReaderResume]):
    """Bytewax source of ONE partition that reads every input partition, aligned in event time.

    Args:
        kafka: brokers, topics and alignment settings.
        metrics: the process's metrics, or None.
        batch_size: most messages taken from the consumer per poll.
        reorder_window_ms: the aligner's bounded out-of-orderness.

    """

    def __init__(
        self, kafka: KafkaSettings, metrics: LiveMetrics | None = None, batch_size: int = 1000,
        reorder_window_ms: int = 0,
    ) -> None:
        self.kafka = kafka
        self.metrics = metrics
        self.batch_size = batch_size
        self.reorder_window_ms = reorder_window_ms

    def list_parts(self) -> list[str]:
        """Return the one partition that reads all input topics."""
        return [INPUT_PARTITION]

    def build_part(
        self, step_id: str, for_part: str, resume_state: ReaderResume | None
    ) -> _ReaderPartition:
        """Connect, check the topics and assign every partition at its resume position."""
        observer = MetricsObserver(self.metrics) if self.metrics is not None else None
        return _ReaderPartition(AlignedKafkaReader(
            self.kafka, resume_state, observer, batch_size=self.batch_size,
            reorder_window_ms=self.reorder_window_ms))


def build_live_flow(
    settings: Settings,
    make_outputs: Callable[[], LiveOutputs],
    stop: threading.Event,
    metrics: LiveMetrics | None = None,
    batch_size: int = 1000,
    compliance: ComplianceFacts = EMPTY_FACTS,
) -> Dataflow:
    """Return the live dataflow: Kafka in, the shared pipeline, `LiveOutputs` out.

    Args:
        settings: validated configuration (`settings.kafka` names brokers and topics).
        make_outputs: builds the sink's `LiveOutputs` on the worker that owns it.
        stop: set it to end the input, drain and close the sinks.
        metrics: the process's metrics, or None.
        batch_size: most messages per Kafka poll.
        compliance: the durable compliance facts read at start (`pitboss.sinks.compliance_store`).

    """
    window_ms = settings.features.reorder_window_s * 1000
    source = StoppableSource(
        AlignedKafkaSource(settings.kafka, metrics, batch_size, window_ms), stop,
        on_snapshot=metrics.epoch_closed if metrics is not None else None)
    return build_flow(source, settings, OutputsSink(_resuming(make_outputs)),
                      finish_at_eof=False, flow_id="pitboss_live", input_id=INPUT_PARTITION,
                      compliance=compliance)


def _resuming(make_outputs: Callable[[], LiveOutputs]) -> Callable[[object], LiveOutputs]:
    """Build the outputs, then re-insert the batches the last snapshot left unconfirmed."""

    def build(resume_state: object) -> LiveOutputs:
        outputs = make_outputs()
        if resume_state:
            outputs.resume(cast(list[InsertBatch], resume_state))
        return outputs

    return build
