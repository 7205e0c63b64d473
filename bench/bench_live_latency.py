"""Benchmark the live worker's end-to-end latency at a steady input rate; prints figures.

Run: `.venv/bin/python bench/bench_live_latency.py [--rate 2000] [--seconds 60]
[--warmup 10] [--players 50000] [--days 1] [--epoch-interval-s 2] [--processes 1]`.

With `--processes N` the worker is a Bytewax cluster of N `pitboss run` processes on this
machine (`--process-id`, `--addresses`, one shared recovery directory); the read rate and
the worker's delays are summed over the processes.

Starts the development Kafka cluster (`DevKafka`), the live worker (`pitboss run`
in a subprocess with embedded chDB), a consumer of the action topics and the
producer of simulated players (`pitboss.replay.live.producer`) at `--rate` events per second.
The latency of an action is the wall-clock time at which the consumer reads it
minus the `produced_at_ms` stamped into the event that triggered it (the action's
`trigger_event_id`; the producer keeps event id -> produced_at). Actions triggered
by timers (inactivity, session timeouts) have no producing event and are
excluded, as are actions whose trigger was produced during the warm-up. Reports
p50, p95 and p99 (target: p99 under 100 ms), the number of actions measured, the
achieved input rate, the worker's read rate, the backlog and consumer lag when
the producer stops (did the worker keep up?), and the worker's own view from its
metrics: input delay (read time minus Kafka timestamp), output delay (sink time minus
event time of each event-triggered scoring point) and checkpoint time. Figures depend
on the machine and on what else runs on it.

The population matters: the producer plays the simulation back at `--rate`, so
`--players` over `--days` sets how many players are active at once. 50,000 players'
day at 2,000 events/s is close to real play (a few hundred players betting in any
fifth of a second); 5,000 players' week at that rate compresses time 400-fold, so a
few dozen players make all the traffic, some of the 16 player shards hear nothing
for a while, and the models step's deterministic merge waits for them
(docs/performance.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client.parser import text_string_to_metric_families

from pitboss.config.kafka import KafkaSettings
from pitboss.replay.live.action_watch import ActionWatch, SeenAction
from pitboss.replay.live.dev_broker import DevKafka
from pitboss.replay.live.producer import (
    LiveMessage,
    LiveProducer,
    LiveStamper,
    live_messages,
    topics_by_event_type,
)
from pitboss.replay.live.worker_metrics import WorkerMetrics, scrape
from pitboss.replay.live.worker_process import WorkerProcess, free_port
from pitboss.sinks.kafka_actions import ActionProducer

TARGET_P99_MS = 100.0
WORKER_DELAYS = {
    "pitboss_input_delay_seconds": "worker input delay",
    "pitboss_output_delay_seconds": "worker output delay",
    "pitboss_checkpoint_seconds": "worker checkpoint time",
}
SHOWN_BOUNDS = ("0.01", "0.05", "0.1", "0.25", "0.5", "1.0")


class LatencyLedger:
    """Produced-at times by event id, and the latencies of actions measured against them."""

    def __init__(self) -> None:
        self.produced_at: dict[str, int] = {}
        self.measure_from_ms: int | None = None
        self.latencies_ms: list[int] = []
        self.timer_actions = 0
        self.warmup_actions = 0
        self.unmatched = 0

    def on_send(self, message: LiveMessage) -> None:
        """Remember when an event was produced."""
        if message.event_id is not None:
            # A duplicate keeps the first time: the worker acts on the first copy.
            self.produced_at.setdefault(message.event_id, message.produced_at_ms)

    def on_action(self, seen: SeenAction) -> None:
        """Measure an action against the event that triggered it."""
        if not seen.trigger_event_id:
            self.timer_actions += 1
            return
        produced = self.produced_at.get(seen.trigger_event_id)
        if produced is None:
            self.unmatched += 1
        elif self.measure_from_ms is None or produced < self.measure_from_ms:
            self.warmup_actions += 1
        else:
            self.latencies_ms.append(seen.read_at_ms - produced)


def percentile(values: list[int], q: float) -> float:
    """Return the q-th percentile (0..100) by linear interpolation."""
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]


class Cluster:
    """The worker: one `pitboss run` process, or a Bytewax cluster of several on this machine."""

    def __init__(self, bootstrap: str, folder: Path, processes: int,
                 epoch_interval_s: float) -> None:
        ports = [free_port() for _ in range(processes)]
        addresses = ",".join(f"127.0.0.1:{port}" for port in ports)
        cluster = [] if processes == 1 else ["--addresses", addresses]
        self.processes = [  # one --data-dir: process 0's embedded store and its facts
            WorkerProcess(bootstrap, folder / "run", epoch_interval_s=epoch_interval_s,
                          log_name=f"worker{i}.log",
                          extra_args=[*cluster, "--process-id", str(i)] if cluster else [])
            for i in range(processes)
        ]

    def __enter__(self) -> Cluster:
        for process in self.processes:
            process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.stop()

    def stop(self) -> int:
        """Stop every process (SIGTERM); return the worst exit code (0: all clean)."""
        codes = [process.stop() for process in self.processes]
        return next((code for code in codes if code != 0), 0)

    @property
    def metrics_urls(self) -> list[str]:
        """Where each process serves its Prometheus metrics."""
        return [process.metrics_url for process in self.processes]


def wait_for_metrics(cluster: Cluster, timeout_s: float = 60.0) -> WorkerMetrics:
    """Return the processes' metrics summed (read counts, decisions; lag: the largest)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in cluster.processes):
            raise SystemExit("\n".join(
                f"worker process {i} exit code {process.poll()}:\n{process.log_tail()}"
                for i, process in enumerate(cluster.processes)))
        scraped = [scrape(url) for url in cluster.metrics_urls]
        if all(metrics is not None for metrics in scraped):
            return _summed([m for m in scraped if m is not None])
        time.sleep(0.2)
    raise SystemExit("the worker served no metrics within 60 s")


def _summed(parts: list[WorkerMetrics]) -> WorkerMetrics:
    total = WorkerMetrics()
    lags = [p.consumer_lag for p in parts if p.consumer_lag is not None]
    total.consumer_lag = max(lags) if lags else None
    for part in parts:
        for topic, count in part.events_in_by_topic.items():
            total.events_in_by_topic[topic] = total.events_in_by_topic.get(topic, 0) + count
        for reason, count in part.rejected_by_reason.items():
            total.rejected_by_reason[reason] = total.rejected_by_reason.get(reason, 0) + count
        for key, count in part.decisions.items():
            total.decisions[key] = total.decisions.get(key, 0) + count
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=2_000.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--players", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--epoch-interval-s", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    ledger = LatencyLedger()
    with tempfile.TemporaryDirectory() as folder, DevKafka(partitions=args.partitions) as kafka:
        settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
        worker = Cluster(kafka.bootstrap, Path(folder), args.processes, args.epoch_interval_s)
        with worker, ActionWatch(settings, on_action=ledger.on_action):
            wait_for_metrics(worker)
            producer = LiveProducer(
                ActionProducer.from_settings(settings), args.rate,
                LiveStamper(topics_by_event_type(settings.topics)), on_send=ledger.on_send,
            )  # fmt: skip
            stop = threading.Event()
            thread = threading.Thread(
                target=producer.run,
                args=(live_messages(args.players, args.days, args.seed), stop.is_set), daemon=True,
            )  # fmt: skip
            thread.start()
            time.sleep(args.warmup)
            ledger.measure_from_ms = time.time_ns() // 1_000_000
            first = (time.monotonic(), producer.stats.messages, wait_for_metrics(worker).events_in)
            time.sleep(args.seconds)
            last = (time.monotonic(), producer.stats.messages, wait_for_metrics(worker).events_in)
            delays = worker_delays(worker.metrics_urls)
            stop.set()
            thread.join(60)
            at_stop = wait_for_metrics(worker)
            caught_up_s = catch_up(worker, producer.stats.messages)
            time.sleep(2.0)  # the last actions reach the consumer
            code = worker.stop()
        produced = producer.stats.messages
        del producer  # its client would retry the broker, stopped next, and log each attempt
        report(args, ledger, first, last, produced, at_stop, caught_up_s, code)
        for line in delays:
            print(line)


def worker_delays(metrics_urls: list[str]) -> list[str]:
    """Return the worker's delay histograms, summed over its processes, as lines."""
    counts: dict[str, dict[str, float]] = {}
    for url in metrics_urls:
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        for family in text_string_to_metric_families(text):
            if family.name not in WORKER_DELAYS:
                continue
            buckets = counts.setdefault(family.name, {})
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    le = sample.labels["le"]
                    buckets[le] = buckets.get(le, 0.0) + sample.value
    lines = []
    for name, buckets in counts.items():
        total = buckets.get("+Inf", 0.0)
        shares = " ".join(f"<={le}s:{buckets[le] / total:.0%}" for le in SHOWN_BOUNDS
                          if total and le in buckets)  # fmt: skip
        lines.append(f"{WORKER_DELAYS[name]:<24} {shares}  (n={total:,.0f})")
    return lines


def catch_up(worker: Cluster, produced: int, timeout_s: float = 120.0) -> float | None:
    """Return how long the worker took to read everything produced (None: not in time)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        if wait_for_metrics(worker).events_in >= produced:
            return time.monotonic() - began
        time.sleep(0.1)
    return None


def report(
    args: argparse.Namespace, ledger: LatencyLedger, first: tuple[float, int, int],
    last: tuple[float, int, int], produced: int, at_stop: WorkerMetrics,
    caught_up_s: float | None, code: int,
) -> None:  # fmt: skip
    span = last[0] - first[0]
    latencies = sorted(ledger.latencies_ms)
    print(f"rate={args.rate:,.0f}/s seconds={args.seconds:.0f} warmup={args.warmup:.0f} "
          f"players={args.players:,} days={args.days} partitions={args.partitions} "
          f"epoch_interval_s={args.epoch_interval_s} processes={args.processes}")  # fmt: skip
    print(f"input rate achieved      {(last[1] - first[1]) / span:>10,.0f} events/s")
    print(f"worker read rate         {(last[2] - first[2]) / span:>10,.0f} events/s")
    print(f"backlog at stop          {max(0, produced - at_stop.events_in):>10,} messages "
          f"(consumer lag probe: {at_stop.consumer_lag})")  # fmt: skip
    print("caught up after stop     " + (f"{caught_up_s:>10.1f} s" if caught_up_s is not None
                                          else "      no (120 s)"))  # fmt: skip
    print(f"actions measured         {len(latencies):>10,}  (timer-triggered excluded: "
          f"{ledger.timer_actions:,}; warm-up: {ledger.warmup_actions:,}; "
          f"unmatched: {ledger.unmatched:,})")  # fmt: skip
    if latencies:
        p50, p95, p99 = (percentile(latencies, q) for q in (50, 95, 99))
        print(f"latency p50              {p50:>10.0f} ms")
        print(f"latency p95              {p95:>10.0f} ms")
        print(f"latency p99              {p99:>10.0f} ms  (target < {TARGET_P99_MS:.0f} ms: "
              f"{'met' if p99 < TARGET_P99_MS else 'NOT met'})")  # fmt: skip
        print(f"latency max              {latencies[-1]:>10.0f} ms")
    print(f"worker exit code         {code:>10}")


if __name__ == "__main__":
    main()
