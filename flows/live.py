"""The live dataflow: Kafka topics through the same pipeline as replay, to Kafka and ClickHouse.

    kafka_events (Bytewax KafkaSource, stoppable) -> kafka_to_raw -> build_pipeline -> live_outputs

Input offsets live in Bytewax's recovery state (no consumer group commits). Each
`KafkaSourceMessage` becomes a raw message `(f"{topic}/{partition}", offset, value)`,
so dead letters name their topic, partition and offset. Errors the consumer
reports are never dropped: transient ones (broker unreachable, which librdkafka
retries) are logged and counted, anything else stops the worker with
`LiveInputError`. End of input only ever means "stop requested", so the pipeline
runs with `finish_at_eof=False`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

import bytewax.operators as op
import confluent_kafka
import structlog
from bytewax.connectors.kafka import KafkaError, KafkaSource, KafkaSourceMessage
from bytewax.dataflow import Dataflow

from config.kafka import KafkaSettings
from config.settings import Settings
from flows.outputs_sink import OutputsSink
from flows.pipeline import build_pipeline
from flows.stoppable_source import StoppableSource
from operators.ingest import RawMessage
from sinks.insert_thread import InsertBatch
from sinks.live_outputs import LiveOutputs
from sinks.metrics import LiveMetrics

log = structlog.get_logger(__name__)

KafkaItem = KafkaSourceMessage[bytes | None, bytes | None] | KafkaError[bytes | None, bytes | None]

# Consumer-group keys: Bytewax assigns partitions itself and keeps offsets in recovery state.
_GROUP_KEYS = frozenset(
    {"group.id", "enable.auto.commit", "auto.offset.reset", "session.timeout.ms",
     "max.poll.interval.ms"}
)  # fmt: skip
# Errors librdkafka recovers from by itself (reconnecting, retrying).
_TRANSIENT = frozenset(
    {
        confluent_kafka.KafkaError._TRANSPORT,
        confluent_kafka.KafkaError._ALL_BROKERS_DOWN,
        confluent_kafka.KafkaError._TIMED_OUT,
        confluent_kafka.KafkaError._RESOLVE,
    }
)


class LiveInputError(RuntimeError):
    """The Kafka consumer reported an error the worker cannot carry on after."""


def source_config(kafka: KafkaSettings) -> dict[str, str]:
    """Return the librdkafka keys for Bytewax's Kafka source: connection, fetch wait, extra.

    Example:
        >>> sorted(source_config(KafkaSettings(bootstrap_servers="b:9092")))
        ['bootstrap.servers', 'client.id', 'fetch.wait.max.ms', 'security.protocol']

    """
    return {k: v for k, v in kafka.consumer_config().items() if k not in _GROUP_KEYS}


def input_topics(kafka: KafkaSettings) -> list[str]:
    """Return the distinct input topics in contract order (several event kinds may share one).

    Example:
        >>> from config.kafka import KafkaTopics
        >>> topics = KafkaTopics(bets="events", deposits="events", sessions="events",
        ...                      outcomes="events")
        >>> input_topics(KafkaSettings(topics=topics))
        ['events']

    """
    return list(dict.fromkeys(kafka.topics.inputs))


def kafka_source(kafka: KafkaSettings, batch_size: int = 1000) -> KafkaSource:
    """Return Bytewax's Kafka source over the configured input topics."""
    start = (confluent_kafka.OFFSET_BEGINNING if kafka.auto_offset_reset == "earliest"
             else confluent_kafka.OFFSET_END)  # fmt: skip
    return KafkaSource(
        kafka.bootstrap_servers.split(","),
        input_topics(kafka),
        tail=True,
        starting_offset=start,
        add_config=source_config(kafka),
        batch_size=batch_size,
        raise_on_errors=False,
    )


class KafkaToRaw:
    """Turn a batch of Kafka source items into raw messages, counting and checking errors.

    Args:
        metrics: where events in, input delay and consumer errors are counted, or None.
        wall_clock_s: seconds since the epoch, for the input-delay metric only.

    """

    def __init__(
        self, metrics: LiveMetrics | None = None, wall_clock_s: Callable[[], float] = time.time
    ) -> None:
        self.metrics = metrics
        self.wall_clock_s = wall_clock_s

    def __call__(self, items: Iterable[KafkaItem]) -> list[RawMessage]:
        """Return the raw messages of `items` in order; handle consumer errors."""
        out: list[RawMessage] = []
        positions: dict[tuple[str, int], int] = {}
        metrics = self.metrics
        now_ms = self.wall_clock_s() * 1000
        for item in items:
            if isinstance(item, KafkaError):
                self._error(item)
                continue
            topic, partition, offset = item.topic or "", item.partition or 0, item.offset or 0
            out.append((f"{topic}/{partition}", offset, item.value or b""))
            positions[(topic, partition)] = offset + 1
            if metrics is not None:
                metrics.event_in(topic)
                kind, stamp_ms = item.timestamp or (confluent_kafka.TIMESTAMP_NOT_AVAILABLE, 0)
                if kind != confluent_kafka.TIMESTAMP_NOT_AVAILABLE:
                    metrics.input_delay.observe(max(now_ms - stamp_ms, 0.0) / 1000)
        if metrics is not None:
            for (topic, partition), position in positions.items():
                metrics.position(topic, partition, position)
        return out

    def _error(self, item: KafkaError[Any, Any]) -> None:
        err: confluent_kafka.KafkaError = item.err
        where = f"{item.msg.topic}/{item.msg.partition}"
        if self.metrics is not None:
            self.metrics.consumer_errors.labels(err.name()).inc()
        if not err.fatal() and (err.code() in _TRANSIENT or err.retriable()):
            log.warning("kafka consumer error, retrying", source=where, error=err.str())
            return
        raise LiveInputError(f"Kafka consumer error on {where}: {err.name()}: {err.str()}")


def build_live_flow(
    settings: Settings,
    make_outputs: Callable[[], LiveOutputs],
    stop: threading.Event,
    metrics: LiveMetrics | None = None,
    batch_size: int = 1000,
) -> Dataflow:
    """Return the live dataflow: Kafka in, the shared pipeline, `LiveOutputs` out.

    Args:
        settings: validated configuration (`settings.kafka` names brokers and topics).
        make_outputs: builds the sink's `LiveOutputs` on the worker that owns it.
        stop: set it to end the input, drain and close the sinks.
        metrics: the process's metrics, or None.
        batch_size: most messages per Kafka poll.

    """
    flow = Dataflow("pitboss_live")
    source = StoppableSource(kafka_source(settings.kafka, batch_size), stop)
    items = op.input("kafka_events", flow, source)
    raw = op.flat_map_batch("kafka_to_raw", items, KafkaToRaw(metrics))
    build_pipeline(raw, settings, OutputsSink(_resuming(make_outputs)), finish_at_eof=False)
    return flow


def _resuming(make_outputs: Callable[[], LiveOutputs]) -> Callable[[object], LiveOutputs]:
    """Build the outputs, then re-insert the batches the last snapshot left unconfirmed."""

    def build(resume_state: object) -> LiveOutputs:
        outputs = make_outputs()
        if resume_state:
            outputs.resume(cast(list[InsertBatch], resume_state))
        return outputs

    return build
