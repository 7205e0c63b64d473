"""Consumer lag of a live worker: each partition's high watermark minus the worker's position.

The Kafka source's offsets live in Bytewax's recovery state, not in a consumer
group, so broker-side lag tools see nothing. `ConsumerLagProbe` measures it from
the worker itself: the flow records the next offset it will read per partition
(`LiveMetrics.position`), and a daemon thread asks the brokers for each such
partition's high watermark every `interval_s` through a consumer of its own that
never subscribes or fetches, then sets `pitboss_consumer_lag`. Each probe first
asks for cluster metadata: an answer is the broker contact `/readyz` judges
(`pitboss.sinks.health`), and without one the watermarks are not asked for. A failed probe
is counted, logged when the brokers stop or start answering, and never stops the
worker.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import confluent_kafka
import structlog

from pitboss.sinks.kafka_logging import kafka_client_logger
from pitboss.sinks.metrics import LiveMetrics

log = structlog.get_logger(__name__)


class ConsumerLagProbe:
    """Poll high watermarks of the partitions this process reads, and publish the lag.

    Args:
        config: librdkafka connection keys (`KafkaSettings.connection_config()`).
        metrics: where positions are read from and lag is written to.
        interval_s: seconds between probes.
        timeout_s: the most one broker request of a probe waits.

    """

    def __init__(
        self, config: Mapping[str, str], metrics: LiveMetrics, interval_s: float = 5.0,
        timeout_s: float = 2.0,
    ) -> None:
        self.config = dict(config)
        self.metrics = metrics
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._reachable = True
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
            {**self.config, "group.id": "pitboss-lag-probe", "enable.auto.commit": "false",
             "logger": kafka_client_logger("lag-probe")}
        )  # fmt: skip
        try:
            while not self._stop.wait(self.interval_s):
                self.probe(consumer)
                consumer.poll(0)  # serves the client's log lines
        finally:
            consumer.close()

    def probe(self, consumer: confluent_kafka.Consumer) -> None:
        """Check that the brokers answer; set the lag of every partition with a known position."""
        if not self._brokers_answer(consumer):
            return
        for (topic, partition), position in self._positions().items():
            try:
                _, high = consumer.get_watermark_offsets(
                    confluent_kafka.TopicPartition(topic, int(partition)), timeout=self.timeout_s
                )
            except confluent_kafka.KafkaException as exc:
                self.metrics.consumer_errors.labels("lag_probe").inc()
                log.warning("consumer lag probe failed", topic=topic, partition=partition,
                            error=str(exc))
                continue
            self.metrics.consumer_lag.labels(topic, partition).set(max(high - position, 0))

    def _brokers_answer(self, consumer: confluent_kafka.Consumer) -> bool:
        try:
            consumer.list_topics(timeout=self.timeout_s)
        except confluent_kafka.KafkaException as exc:
            self.metrics.consumer_errors.labels("lag_probe").inc()
            if self._reachable:
                log.warning("kafka brokers do not answer the lag probe", error=str(exc))
            self._reachable = False
            return False
        if not self._reachable:
            log.info("kafka brokers answer the lag probe again")
        self._reachable = True
        self.metrics.health.broker_contact()
        return True

    def _positions(self) -> dict[tuple[str, str], int]:
        positions: dict[tuple[str, str], int] = {}
        for family in self.metrics.consumer_position.collect():
            for sample in family.samples:
                key = (sample.labels["topic"], sample.labels["partition"])
                positions[key] = int(sample.value)
        return positions
