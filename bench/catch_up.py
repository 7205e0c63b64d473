"""Catch-up through the broker: a backlog on the contract's four topics, read by `pitboss run`.

The log is produced (keyed by player, each event type to its topic, four partitions
each) before the worker starts, as after an outage or a first deployment on retained
topics. The worker is timed from its start until it has read every partition to its
end, the alignment buffer is empty, it has stopped on SIGTERM and flushed its outputs.
`pitboss replay` of the same log in another process, start to exit, is the yardstick:
the issue's target is catch-up throughput of at least 0.8 of replay's. While the
worker runs, the alignment buffer (`pitboss_alignment_buffered_messages`) and the
worker's resident memory are sampled; their peaks are reported.

Run on its own: `python -m bench.catch_up --events 1000000`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import confluent_kafka
import orjson
from prometheus_client.parser import text_string_to_metric_families

from operators.events import TOPICS
from replay.worker_process import free_port
from sinks.kafka_dev_cluster import DevKafka

PARTITIONS = 4


def _topic_and_key(line: bytes) -> tuple[str, bytes]:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return "bets", b""
    if not isinstance(obj, dict):
        return "bets", b""
    kind, player = obj.get("event_type"), obj.get("player_id")
    topic = TOPICS.get(kind, "bets") if isinstance(kind, str) else "bets"
    return topic, player.encode() if isinstance(player, str) else b""


def produce_log(bootstrap: str, log: Path) -> dict[str, Any]:
    """Produce every line of `log` to its contract topic, keyed by player; check every delivery."""
    failed: list[str] = []

    def report(err: confluent_kafka.KafkaError | None, _: confluent_kafka.Message) -> None:
        if err is not None:
            failed.append(err.str())

    producer = confluent_kafka.Producer({
        "bootstrap.servers": bootstrap, "enable.idempotence": "true", "linger.ms": "20",
        "batch.size": "1000000", "compression.type": "lz4",
        "queue.buffering.max.messages": "1000000"})
    started, count = time.perf_counter(), 0
    with log.open("rb") as lines:
        for line in lines:
            value = line.rstrip(b"\n")
            topic, key = _topic_and_key(value)
            while True:
                try:
                    producer.produce(topic, value, key, on_delivery=report)
                    break
                except BufferError:
                    producer.poll(0.05)
            producer.poll(0)
            count += 1
    remaining = producer.flush(120)
    if remaining or failed:
        raise RuntimeError(f"{remaining} undelivered, {len(failed)} failed: {failed[:3]}")
    return {"messages": count, "produce_s": round(time.perf_counter() - started, 1)}


def _metrics(port: int) -> dict[str, float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as reply:
            text = reply.read().decode()
    except OSError:
        return {}
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.labels:
                out[sample.name] = sample.value
            elif sample.name == "pitboss_events_in_total":
                out[sample.name] = out.get(sample.name, 0.0) + sample.value
    return out


def _rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def catch_up(bootstrap: str, work: Path, messages: int) -> dict[str, Any]:
    """Time `pitboss run` over the backlog until caught up, drained and stopped."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PITBOSS_")},
           "PITBOSS_KAFKA__BOOTSTRAP_SERVERS": bootstrap}
    started = time.perf_counter()
    worker = subprocess.Popen(
        [sys.executable, "-m", "pitboss.cli", "run", "--data-dir", str(work / "data"),
         "--metrics-port", str(port)],
        env=env, stdout=(work / "worker.log").open("wb"), stderr=subprocess.STDOUT)
    peak_buffer, peak_rss, metrics = 0.0, 0.0, {}
    try:
        while True:
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited with {worker.returncode}: see {work}")
            metrics = _metrics(port)
            peak_buffer = max(peak_buffer, metrics.get("pitboss_alignment_buffered_messages", 0))
            peak_rss = max(peak_rss, _rss_mib(worker.pid))
            done = (metrics.get("pitboss_events_in_total", 0) >= messages
                    and metrics.get("pitboss_input_caught_up") == 1
                    and metrics.get("pitboss_alignment_buffered_messages", 1) == 0)
            if done:
                break
            time.sleep(0.2)
        caught_up = time.perf_counter() - started
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(120)
    finally:
        if worker.poll() is None:
            worker.kill()
    elapsed = time.perf_counter() - started
    return {"exit_code": code, "caught_up_s": round(caught_up, 1),
            "elapsed_s": round(elapsed, 1), "events_per_s": round(messages / elapsed),
            "peak_alignment_buffer_messages": int(peak_buffer),
            "peak_worker_rss_mib": round(peak_rss, 1)}


def replay(log: Path, work: Path, messages: int) -> dict[str, Any]:
    """Time `pitboss replay` of the same log in its own process, start to exit."""
    shutil.rmtree(work, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITBOSS_")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pitboss.cli", "replay", "-i", str(log),
                           "-o", str(work)], env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode()[-2000:])
    return {"elapsed_s": round(elapsed, 1), "events_per_s": round(messages / elapsed)}


def measure(log: Path, messages: int, work: Path) -> dict[str, Any]:
    """Produce `log` to a fresh broker, time the worker's catch-up and replay's run."""
    with DevKafka(partitions=PARTITIONS) as kafka:
        produced = produce_log(kafka.bootstrap, log)
        live = catch_up(kafka.bootstrap, work / "live", produced["messages"])
    batch = replay(log, work / "replay", produced["messages"])
    return {"events": produced["messages"], "produce_s": produced["produce_s"],
            "catch_up": live, "replay": batch,
            "ratio_to_replay": round(live["events_per_s"] / batch["events_per_s"], 2)}


def main() -> None:
    """Simulate (or reuse) a log and print the catch-up figures as JSON."""
    from bench.__main__ import WORK, _log_of

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    log, messages = _log_of(args.events, f"log-{args.events}")
    print(json.dumps(measure(log, messages, WORK / "catch-up"), indent=2))


if __name__ == "__main__":
    main()
