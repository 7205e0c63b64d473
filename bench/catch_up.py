"""Catch-up through the broker: a backlog on the contract's four topics, read by `pitboss run`.

The worker runs as in production, with a recovery directory (its snapshots at every
epoch end are part of the cost). The log is produced (keyed by player, each event
type to its topic, four partitions each) before the worker starts, as after an
outage or a first deployment on retained topics. The worker is timed from its start
until it has read every partition to its end, the alignment buffer is empty, it has
stopped on SIGTERM and flushed its outputs. `pitboss replay` of the same log in
another process, start to exit, is the yardstick: the issue's target is catch-up
throughput of at least 0.8 of replay's. Both wall time and CPU time (every thread of
each process, from `wait4`) are reported: on a shared machine the CPU ratio is the
steadier figure. While the worker runs, the alignment buffer
(`pitboss_alignment_buffered_messages`) and the worker's resident memory are
sampled; their peaks are reported.

Run on its own: `python -m bench.catch_up --events 1000000`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from pitboss.replay.live.dev_broker import DevKafka
from pitboss.replay.live.worker_process import free_port

PARTITIONS = 4
ROUNDS = 3
"""Catch-up and replay runs, in turns: the median round is the figure (a shared machine)."""
SCRAPE_S = 1.0
"""How often the worker's metrics are read: often enough for the peaks, rarely enough
not to take the worker's time (each scrape renders every partition's metrics)."""


def produce_log(bootstrap: str, log: Path) -> dict[str, Any]:
    """Publish `log` to its contract topics with `pitboss produce --input` (every delivery checked).

    Returns:
        How many messages were sent and how long publishing took.

    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITBOSS_")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pitboss.cli", "produce", "--input", str(log),
                           "--bootstrap", bootstrap], env=env, capture_output=True, text=True,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"pitboss produce failed: {done.stderr.strip()[-2000:]}")
    sent = re.search(r"sent ([\d,]+) messages", done.stderr)
    if sent is None:
        raise RuntimeError(f"pitboss produce said: {done.stderr.strip()[-500:]}")
    return {"messages": int(sent.group(1).replace(",", "")),
            "produce_s": round(time.perf_counter() - started, 1)}


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


def catch_up(
    bootstrap: str, work: Path, messages: int, extra_args: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Time `pitboss run` over the backlog until caught up, drained and stopped."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PITBOSS_")},
           "PITBOSS_KAFKA__BOOTSTRAP_SERVERS": bootstrap}
    started = time.perf_counter()
    worker = subprocess.Popen(
        [sys.executable, "-m", "pitboss.cli", "run", "--data-dir", str(work / "data"),
         "--recovery-dir", str(work / "recovery"), "--metrics-port", str(port), *extra_args],
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
            time.sleep(SCRAPE_S)
        caught_up = time.perf_counter() - started
        worker.send_signal(signal.SIGTERM)
        code, cpu_s = _wait_with_cpu(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
    elapsed = time.perf_counter() - started
    return {"exit_code": code, "caught_up_s": round(caught_up, 1),
            "elapsed_s": round(elapsed, 1), "events_per_s": round(messages / elapsed),
            "cpu_s": round(cpu_s, 1), "events_per_cpu_s": round(messages / cpu_s),
            "peak_alignment_buffer_messages": int(peak_buffer),
            "peak_worker_rss_mib": round(peak_rss, 1)}


def replay(log: Path, work: Path, messages: int) -> dict[str, Any]:
    """Time `pitboss replay` of the same log in its own process, start to exit."""
    shutil.rmtree(work, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITBOSS_")}
    started = time.perf_counter()
    done = subprocess.Popen([sys.executable, "-m", "pitboss.cli", "replay", "-i", str(log),
                             "-o", str(work)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert done.stderr is not None
    errors = done.stderr.read()
    code, cpu_s = _wait_with_cpu(done)
    elapsed = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(errors.decode()[-2000:])
    return {"elapsed_s": round(elapsed, 1), "events_per_s": round(messages / elapsed),
            "cpu_s": round(cpu_s, 1), "events_per_cpu_s": round(messages / cpu_s)}


def _wait_with_cpu(process: subprocess.Popen[bytes]) -> tuple[int, float]:
    """Wait for `process`; return its exit code and the CPU seconds it used, all threads.

    CPU time is the figure to compare on a shared machine: another tenant's load
    stretches both commands' wall time, not the work each one does.
    """
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime


def measure(log: Path, messages: int, work: Path, epoch_interval_s: float | None = None,
            rounds: int = ROUNDS) -> dict[str, Any]:
    """Produce `log` to a fresh broker once; time the worker's catch-up and replay, in turns.

    Each round runs a fresh worker (new data and recovery directories) over the same
    backlog, then replay of the log: another tenant's burst on the shared machine then
    slows one round, not one side. The round with the median wall ratio is reported,
    with every round's ratios.

    `epoch_interval_s` is the worker's `--epoch-interval-s` (None: its default).
    """
    extra = () if epoch_interval_s is None else ("--epoch-interval-s", str(epoch_interval_s))
    measured: list[dict[str, Any]] = []
    with DevKafka(partitions=PARTITIONS) as kafka:
        produced = produce_log(kafka.bootstrap, log)
        for _ in range(rounds):
            live = catch_up(kafka.bootstrap, work / "live", produced["messages"], extra)
            batch = replay(log, work / "replay", produced["messages"])
            measured.append({
                "catch_up": live, "replay": batch,
                "ratio_to_replay": round(live["events_per_s"] / batch["events_per_s"], 2),
                "cpu_ratio_to_replay": round(batch["cpu_s"] / live["cpu_s"], 2)})
    median = sorted(measured, key=lambda r: r["ratio_to_replay"])[(len(measured) - 1) // 2]
    return {"events": produced["messages"], "produce_s": produced["produce_s"], **median,
            "rounds": [(r["ratio_to_replay"], r["cpu_ratio_to_replay"]) for r in measured],
            "peak_alignment_buffer_messages": max(
                r["catch_up"]["peak_alignment_buffer_messages"] for r in measured)}


def main() -> None:
    """Simulate (or reuse) a log and print the catch-up figures as JSON."""
    from bench.__main__ import WORK, _log_of

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--epoch-interval-s", type=float, default=None,
                        help="the worker's --epoch-interval-s (default: the worker's own)")
    parser.add_argument("--rounds", type=int, default=ROUNDS,
                        help="catch-up and replay runs, in turns (the median is reported)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    log, messages = _log_of(args.events, f"log-{args.events}")
    print(json.dumps(measure(log, messages, WORK / "catch-up", args.epoch_interval_s,
                                    args.rounds), indent=2))


if __name__ == "__main__":
    main()
