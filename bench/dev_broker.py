"""Does the development broker keep everything? Produce a million messages, read them all back.

Starts `DevKafka` (Tansu, memory storage), produces `--messages` simulated
events (`pitboss.replay.simulator.simulate`, ~250 bytes of JSON each), keyed by player, to one
topic of `--partitions` partitions with
Pitboss's producer settings (idempotent, `acks=all`, lz4; every delivery
checked), then reads every partition from offset 0 with an assigned consumer
until the broker reports its end, and prints: produce and consume rates, the
count read per partition against the count delivered, the first offset read
and the low offset (ListOffsets earliest) per partition, any gap in the offsets,
the broker's resident memory, and what ListOffsets says the latest offset is
(Tansu answers the last stored batch's base offset + 1, see
`pitboss.replay.live.dev_broker`). Exits 1 if anything is missing.

    .venv/bin/python bench/dev_broker.py --messages 1000000
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import confluent_kafka

from pitboss.config.kafka import KafkaSettings
from pitboss.replay.live.dev_broker import DevKafka
from pitboss.replay.live.producer import live_messages

TOPIC = "drop-check"


def produce(bootstrap: str, values: Iterable[bytes]) -> tuple[Counter[int], float, int]:
    """Send `values` keyed by 10,000 players; return deliveries per partition, seconds, bytes."""
    config = KafkaSettings(bootstrap_servers=bootstrap).producer_config()
    producer = confluent_kafka.Producer({**config, "enable.idempotence": "true", "acks": "all"})
    delivered: Counter[int] = Counter()
    failed: list[str] = []

    def report(err: confluent_kafka.KafkaError | None, msg: confluent_kafka.Message) -> None:
        if err is None:
            delivered[msg.partition() or 0] += 1
        else:
            failed.append(err.str())

    sent_bytes = 0
    started = time.perf_counter()
    for n, value in enumerate(values):
        sent_bytes += len(value)
        while True:
            try:
                producer.produce(TOPIC, value, b"player-%d" % (n % 10_000), on_delivery=report)
                break
            except BufferError:
                producer.poll(0.05)
        if n % 1000 == 0:
            producer.poll(0)
    left = producer.flush(300)
    seconds = time.perf_counter() - started
    if left or failed:
        sys.exit(f"produce: {left} undelivered, {len(failed)} failed: {failed[:3]}")
    return delivered, seconds, sent_bytes


def consume(bootstrap: str, partitions: int) -> tuple[dict[int, list[int]], float]:
    """Read every partition to its end; return (first, last, count, gaps) per partition, seconds."""
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": "drop-check",
        "enable.auto.commit": "false", "enable.partition.eof": "true",
    })  # fmt: skip
    consumer.assign([confluent_kafka.TopicPartition(TOPIC, p, 0) for p in range(partitions)])
    # Per partition: first offset, last offset, messages, gaps.
    seen: dict[int, list[int]] = {p: [-1, -1, 0, 0] for p in range(partitions)}
    at_end: set[int] = set()
    started = time.perf_counter()
    while len(at_end) < partitions:
        for message in consumer.consume(10_000, timeout=1.0):
            error, partition = message.error(), message.partition() or 0
            if error is not None:
                if error.code() != confluent_kafka.KafkaError._PARTITION_EOF:
                    sys.exit(f"consume: {error.str()}")
                at_end.add(partition)
                continue
            first, last, count, gaps = seen[partition]
            offset = message.offset() or 0
            seen[partition] = [offset if first < 0 else first, offset, count + 1,
                               gaps + (last >= 0 and offset != last + 1)]  # fmt: skip
    seconds = time.perf_counter() - started
    consumer.close()
    return seen, seconds


def latest_offsets(bootstrap: str, partitions: int) -> list[int]:
    """Return what ListOffsets (latest) answers per partition."""
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "latest"})
    try:
        return [consumer.get_watermark_offsets(confluent_kafka.TopicPartition(TOPIC, p),
                                               timeout=10)[1] for p in range(partitions)]
    finally:
        consumer.close()


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    with DevKafka() as kafka:
        assert kafka.process is not None
        kafka.create_topics([TOPIC], args.partitions)
        idle_mib = rss_mib(kafka.process.pid)
        values = list(itertools.islice(live_messages(10_000, 7, 1), args.messages))
        delivered, produce_s, sent_bytes = produce(kafka.bootstrap, values)
        held_mib = rss_mib(kafka.process.pid)
        seen, consume_s = consume(kafka.bootstrap, args.partitions)
        low = {p: offset for (topic, p), offset in kafka.low_offsets().items() if topic == TOPIC}
        latest = latest_offsets(kafka.bootstrap, args.partitions)
        read = sum(count for _, _, count, _ in seen.values())
        print(f"messages={args.messages:,} mean value {sent_bytes / args.messages:.0f} bytes "
              f"({sent_bytes / 2**20:,.0f} MiB) partitions={args.partitions}")
        print(f"produce:  {args.messages / produce_s:>10,.0f} msg/s ({produce_s:.1f} s, all "
              f"delivered)")
        print(f"consume:  {read / consume_s:>10,.0f} msg/s ({consume_s:.1f} s)")
        print(f"broker RSS: {idle_mib:.0f} MiB idle, {held_mib:.0f} MiB holding the messages")
        print("partition  delivered       read  first  low  gaps  ListOffsets-latest")
        for p in range(args.partitions):
            first, _, count, gaps = seen[p]
            print(f"{p:>9}  {delivered[p]:>9,}  {count:>9,}  {first:>5}  {low.get(p, -1):>3}  "
                  f"{gaps:>4}  {latest[p]:>18,}")
        lost = read != args.messages or any(
            seen[p][0] != 0 or seen[p][3] or seen[p][2] != delivered[p] or low.get(p) != 0
            for p in range(args.partitions)
        )
        kafka.check_nothing_dropped()
    print("DROPPED MESSAGES" if lost else "nothing dropped: every delivered message read back")
    sys.exit(1 if lost else 0)


if __name__ == "__main__":
    main()
