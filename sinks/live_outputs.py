"""Where a live worker's outputs go: action topics, the dead-letter topic and ClickHouse.

`LiveOutputs` is the live counterpart of `pitboss.sinks.run_outputs.RunOutputs`: it takes
the same items from the same pipeline and writes the same ClickHouse tables with
the same rows (`pitboss.sinks.tables`) and writer, but keeps nothing for files.
Emitted decisions go to their action topic (key = player id, headers `decision_id`
and `policy_version`), dead letters to the dead-letter topic, both through one
`ActionProducer` that checks every delivery. `checkpoint()` waits until every
message written so far is delivered to Kafka, hands every buffered row to the
writer's insert thread, and returns the insert batches not yet confirmed; the flow
calls it before the input offsets that produced those outputs are committed and
keeps what it returns in the same snapshot, so a restarted worker inserts them
again (`resume`): delivery is at-least-once (docs/operations.md) without the
worker waiting for ClickHouse. Rows wait in the writer's bounded buffers at most
until the next checkpoint, size or age limit.
Engine-agnostic: the Bytewax adapter is `pitboss.flows.outputs_sink`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from pitboss.config.kafka import KafkaTopics
from pitboss.models.validation import MetricRow
from pitboss.operators.events import DeadLetter
from pitboss.operators.outputs import Ordered, ScoredPoint
from pitboss.sinks.clickhouse_writer import SinkDeliveryError, WriterStats
from pitboss.sinks.insert_thread import InsertBatch
from pitboss.sinks.kafka_actions import ActionDeliveryError, ActionProducer, DeadLetterProducer
from pitboss.sinks.metrics import LiveMetrics
from pitboss.sinks.tables import OutputBatch, Row, Table, decision_of


class FlushingWriter(Protocol):
    """What `LiveOutputs` needs of a ClickHouse writer (`pitboss.sinks.clickhouse_writer`)."""

    stats: WriterStats

    def add(self, table: str, rows: list[tuple[Any, ...]], columns: Sequence[str]) -> None:
        """Buffer rows for `table`; the writer inserts by size and age."""

    def flush(self, table: str | None = None) -> None:
        """Insert everything buffered; raise if anything could not be written."""

    def handover(self, table: str | None = None) -> None:
        """Start inserting everything buffered (may return before it is inserted)."""

    def unconfirmed(self) -> list[InsertBatch]:
        """Return the batches handed over and not yet inserted."""
        ...

    def resubmit(self, batches: Sequence[InsertBatch]) -> None:
        """Insert batches an earlier run left unconfirmed."""

    def close(self) -> None:
        """Flush everything and refuse further rows."""


class LiveOutputs:
    """Route a live worker's outputs to Kafka and ClickHouse, with delivery checkpoints.

    Args:
        producer: the worker's idempotent producer (actions and dead letters).
        writer: the ClickHouse writer, or None to write Kafka only.
        topics: the configured topic names.
        metrics: the worker's metrics, or None.
        flush_timeout_s: the most a checkpoint waits for Kafka deliveries; beyond it
            the undelivered messages are an error.
        wall_clock_s: seconds since the epoch, for the output-delay metric (sink-side
            wall time: the operators never see it).
        stop: the worker's stop request: once set, a checkpoint or close waits at most
            `stop_timeout_s` more for Kafka deliveries, then fails (the epoch is not
            committed, so a restart redoes it).
        stop_timeout_s: see `stop`.

    """

    def __init__(
        self,
        producer: ActionProducer,
        writer: FlushingWriter | None,
        topics: KafkaTopics,
        metrics: LiveMetrics | None = None,
        flush_timeout_s: float = 60.0,
        wall_clock_s: Callable[[], float] = time.time,
        stop: threading.Event | None = None,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self.producer = producer
        self.stop = stop
        self.stop_timeout_s = stop_timeout_s
        self.failure: BaseException | None = None
        self.writer = writer
        self.metrics = metrics
        self.flush_timeout_s = flush_timeout_s
        self.wall_clock_s = wall_clock_s
        self.topics = topics
        self.dead_letters = DeadLetterProducer(producer, topics.rejected)

    def write(self, items: Iterable[object]) -> None:
        """Route one batch of output items; emitted actions are sent at once.

        Raises:
            ActionDeliveryError: an earlier Kafka delivery failed (the worker must stop).
            SinkDeliveryError: a due ClickHouse insert failed for good.

        """
        batch = OutputBatch(items)
        for scored in batch.scored:
            self._output_delay(scored)
        for ordered in batch.decisions:
            self._decision(ordered)
        for row in batch.metrics:
            self._model_metric(row)
        for letter in batch.dead_letters:
            self._dead_letter(letter)
        if self.writer is not None:
            self._guarded("clickhouse", self._add_rows, self.writer, batch.table_rows())
        self._guarded("kafka", self.producer.poll, 0.0)

    def checkpoint(self) -> list[InsertBatch]:
        """Wait until every message so far is in Kafka; hand every row over to ClickHouse.

        Returns:
            The ClickHouse batches not yet confirmed: the recovery snapshot keeps them,
            and a restarted worker inserts them again (`resume`), so they cannot be lost
            even though the worker did not wait for them.

        Raises:
            ActionDeliveryError: a message was not delivered within `flush_timeout_s`.
            SinkDeliveryError: rows could not be inserted.

        """
        started = time.monotonic()
        self._guarded("kafka", self._deliver)
        pending: list[InsertBatch] = []
        if self.writer is not None:
            self._guarded("clickhouse", self.writer.handover)
            pending = self.writer.unconfirmed()
        if self.metrics is not None:
            self.metrics.checkpointed(time.monotonic() - started)
        self._observe()
        return pending

    def resume(self, pending: Sequence[InsertBatch]) -> None:
        """Insert the batches the last snapshot left unconfirmed (after a restart)."""
        if self.writer is not None and pending:
            self._guarded("clickhouse", self.writer.resubmit, pending)

    def close(self) -> None:
        """Deliver everything and close the writer (the input has stopped).

        After a failure nothing more is tried: the error already on its way out is
        the one to report (Bytewax closes the sink while unwinding from it, and a
        second error there aborts the process).
        """
        if self.failure is not None:
            return
        self._guarded("kafka", self._deliver)
        if self.writer is not None:
            self._guarded("clickhouse", self.writer.close)
        self._observe()

    def _deliver(self) -> None:
        self.producer.flush(self.flush_timeout_s, self.stop, self.stop_timeout_s)

    def _decision(self, ordered: Ordered) -> None:
        decision = decision_of(ordered)
        action = decision.action
        if self.metrics is not None:
            self.metrics.decisions.labels(action.kind, decision.status).inc()
        if decision.emitted:
            self._guarded("kafka", self.producer.send, self.topics.for_action(action.kind),
                          action.kafka_key(), action.to_json_bytes(), action.kafka_headers())

    def _dead_letter(self, letter: DeadLetter) -> None:
        if self.metrics is not None:
            self.metrics.rejected.labels(letter.reason).inc()
        self._guarded("kafka", self.dead_letters.send, letter)

    def _output_delay(self, scored: ScoredPoint) -> None:
        point = scored.point
        if self.metrics is not None and scored.waited:
            self.metrics.scored_after_waiting.inc()
        if self.metrics is not None and point.trigger_event_id:
            delay_s = self.wall_clock_s() - point.ts_ms / 1000
            self.metrics.output_delay.observe(max(delay_s, 0.0))

    def _model_metric(self, row: MetricRow) -> None:
        if self.metrics is not None:
            self.metrics.model_metric.labels(row.model_kind, row.role, row.metric).set(row.value)

    @staticmethod
    def _add_rows(writer: FlushingWriter, tables: list[tuple[Table, list[Row]]]) -> None:
        for table, rows in tables:
            writer.add(table.name, rows, table.columns)

    def _guarded(self, sink: str, call: Any, *args: Any) -> Any:
        """Run `call`, keeping what interrupted it and counting sink failures in the metrics."""
        try:
            return call(*args)
        except BaseException as exc:  # KeyboardInterrupt too: an aborted stop
            self.failure = exc
            delivery = isinstance(exc, ActionDeliveryError | SinkDeliveryError)
            if self.metrics is not None and delivery:
                self.metrics.sink_errors.labels(sink).inc()
            raise

    def _observe(self) -> None:
        if self.metrics is None:
            return
        self.metrics.observe_producer(self.producer.counters)
        if self.writer is not None:
            self.metrics.observe_writer(self.writer.stats)
