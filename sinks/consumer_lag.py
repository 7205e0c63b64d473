"""Consumer lag of a live worker: each partition's high watermark minus the worker's position.

The Kafka source's offsets live in Bytewax's recovery state, not in a consumer
group, so broker-side lag tools see nothing. `ConsumerLagProbe` measures it from
the worker itself: the flow records the next offset it will read per partition
(`LiveMetrics.position`), and a daemon thread asks the brokers for each such
partition's high watermark every `interval_s` through a consumer of its own that
never subscribes or fetches, then sets `pitboss_consumer_lag`. A failed probe is
logged and counted; it never stops the worker.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import confluent_kafka
import structlog

from sinks.metrics import LiveMetrics

log = structlog.get_logger(__name__)


class ConsumerLagProbe:
    """Poll high watermarks of the partitions this process reads, and publish the lag.

    Args:
        config: librdkafka connection keys (`KafkaSettings.connection_config()`).
        metrics: where positions are read from and lag is written to.
        interval_s: seconds between probes.

    """

    def __init__(
        self, config: Mapping[str, str], metrics: LiveMetrics, interval_s: float = 5.0
    ) -> None:
        self.config = dict(config)
        self.metrics = metrics
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="consumer-lag", daemon=True)

    def start(self) -> None:
        """Start probing in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop probing at the next tick."""
        self._stop.set()

    def _run(self) -> None:
        consumer = confluent_kafka.Consumer(
            {**self.config, "group.id": "pitboss-lag-probe", "enable.auto.commit": "false"}
        )
        try:
            while not self._stop.wait(self.interval_s):
                self.probe(consumer)
        finally:
            consumer.close()

    def probe(self, consumer: confluent_kafka.Consumer) -> None:
        """Set the lag of every partition with a known position, once."""
        for (topic, partition), position in self._positions().items():
            try:
                _, high = consumer.get_watermark_offsets(
                    confluent_kafka.TopicPartition(topic, int(partition)), timeout=2.0
                )
            except confluent_kafka.KafkaException as exc:
                self.metrics.consumer_errors.labels("lag_probe").inc()
                log.warning("consumer lag probe failed", topic=topic, partition=partition,
                            error=str(exc))
                continue
            self.metrics.consumer_lag.labels(topic, partition).set(max(high - position, 0))

    def _positions(self) -> dict[tuple[str, str], int]:
        positions: dict[tuple[str, str], int] = {}
        for family in self.metrics.consumer_position.collect():
            for sample in family.samples:
                key = (sample.labels["topic"], sample.labels["partition"])
                positions[key] = int(sample.value)
        return positions
