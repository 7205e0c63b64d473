"""Instructions per event of the Python stages, counted by callgrind: an A/B that noise can't move.

On shared cores a timing moves by 10-15% from one run to the next, more than most
single changes gain. Valgrind's callgrind counts the instructions a run executes, the
same count for the same code and input whatever else the machine does. This runs the
pipeline's Python stages in order on the first `--events` messages of a recorded log:
decode, validate and route (gathered by shard), player shards, models (merge, learn,
release) and scoring shards (score, policy); no engine, no sink (`bench.step_chain`). It
counts a run on no events too and reports the difference per event, so start-up and
imports cancel out (both with a fixed hash seed; what remains varies by well under 1% on
100,000 events).

Run it for two checkouts on the same log and compare (about 7 minutes for 100,000
events; valgrind must be installed):

    python -m bench.instructions --log runs/bench/log-1000000.jsonl --events 100000

`make bench` counts the first 20,000 events of its log the same way and sets the figure
beside the previous run's in BENCHMARKS.md (`regression`), so a change that makes the
stages costlier shows even when the timings are lost in noise.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.step_chain import StepChain
from pitboss.config.settings import load_settings
from pitboss.operators.contract import EventParser
from pitboss.operators.ingest import IngestRouter
from pitboss.operators.policy.settings import load_policy
from pitboss.replay.log.recorded_log import read_log_messages

_COLLECTED = re.compile(rb"Collected : (\d+)")

REGRESSION = 0.02
"""A rise in instructions per event above this fraction is flagged as a regression.

Counts on the same code, input and hash seed vary by well under 1%; 2% leaves room for
a different interpreter build or library patch release between the two runs.
"""


@dataclass(frozen=True)
class Count:
    """Instructions per event of the Python stages on the first `events` messages of a log."""

    events: int
    per_event: int
    startup: int

    LABEL = "Python stages (route, shards, models, policy), first {events} events"

    def row(self) -> tuple[str, str]:
        """Return the BENCHMARKS.md table row that `found_in` reads back."""
        return (self.LABEL.format(events=f"{self.events:,}"),
                f"{self.per_event:,} instructions per event")

    @classmethod
    def found_in(cls, report: str) -> Count | None:
        """Return the count a BENCHMARKS.md written by `row` holds, or None.

        Example:
            >>> label, value = Count(20_000, 125_331, 9).row()
            >>> Count.found_in(f"| {label} | {value} |")
            Count(events=20000, per_event=125331, startup=0)
        """
        pattern = re.escape(cls.LABEL).replace(re.escape("{events}"), r"([\d,]+)")
        match = re.search(pattern + r" \| ([\d,]+) instructions per event", report)
        if match is None:
            return None
        events, per_event = (int(group.replace(",", "")) for group in match.groups())
        return cls(events, per_event, 0)

    def versus(self, previous: Count | None) -> str:
        """Say how this count compares with `previous`, a count of the same events.

        Example:
            >>> Count(20_000, 103_000, 9).versus(Count(20_000, 100_000, 9))
            '+3.0% against 100,000: REGRESSION (more than +2%)'
            >>> Count(20_000, 99_000, 9).versus(Count(20_000, 100_000, 9))
            '-1.0% against 100,000'
            >>> Count(20_000, 99_000, 9).versus(Count(2_000, 100_000, 9))
            'no previous count of 20,000 events to compare with'
        """
        if previous is None or previous.events != self.events:
            return f"no previous count of {self.events:,} events to compare with"
        change = self.per_event / previous.per_event - 1
        said = f"{change:+.1%} against {previous.per_event:,}"
        return f"{said}: REGRESSION (more than +{REGRESSION:.0%})" if change > REGRESSION else said


def measure(log: Path, events: int, config: Path | None = None) -> Count:
    """Count the instructions per event of the Python stages on `log`'s first `events` messages.

    Args:
        log: the recorded log.
        events: how many of its first messages to run.
        config: a configuration file (`--config` layout) to run the stages with.

    Raises:
        RuntimeError: valgrind is not installed, or a counted run failed.
    """
    if shutil.which("valgrind") is None:
        raise RuntimeError("valgrind is not installed (Debian: apt-get install valgrind)")
    seen = run_stages(log, events, config).events  # the log may hold fewer messages
    baseline, total = _instructions(log, (0, seen), config)
    return Count(seen, round((total - baseline) / max(seen, 1)), baseline)


@dataclass(frozen=True)
class StagesRun:
    """What one run of the Python stages went through: messages and scoring points."""

    events: int
    points: int


def run_stages(log: Path, events: int, config: Path | None = None) -> StagesRun:
    """Run the Python stages on the first `events` messages of `log`; say how many ran."""
    settings = load_settings(config)
    features = settings.features
    router = IngestRouter(EventParser(settings.contract, lambda: 2**62), features.shards,
                          features.clock_tick_s * 1000)
    chain = StepChain(settings, load_policy(None))
    seen = points = 0
    for raw in read_log_messages(log, "log", 0, 1000):
        raw = raw[: events - seen]
        if not raw:
            break
        seen += len(raw)
        shard_out = chain.player_shards(router.route_by_shard(raw))
        points += chain.scored(chain.scoring_shards(shard_out, chain.model_step(shard_out)))
    return StagesRun(seen, points)


def _instructions(log: Path, counts: tuple[int, ...], config: Path | None = None) -> list[int]:
    """Count the instructions of `run_stages` for each number of events, at once."""
    configured = ["--config", str(config)] if config is not None else []
    with tempfile.TemporaryDirectory() as tmp:
        runs = [
            subprocess.Popen(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/{i}.out",
                 sys.executable, "-m", "bench.instructions", "--log", str(log),
                 "--events", str(events), "--inside", *configured],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                env={**os.environ, "PYTHONHASHSEED": "0"},  # the same dict layouts each run
            )
            for i, events in enumerate(counts)
        ]
        reports = [run.communicate()[1] for run in runs]
    found = [_COLLECTED.search(report) for report in reports]
    for run, match, report in zip(runs, found, reports, strict=True):
        if run.returncode != 0 or match is None:
            raise RuntimeError(f"callgrind run failed:\n{report[-2000:].decode()}")
    return [int(match.group(1)) for match in found if match is not None]


def main() -> None:
    """Print instructions per event of the Python stages on the log's first messages."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        run_stages(args.log, args.events, args.config)
        return
    try:
        count = measure(args.log, args.events, args.config)
    except RuntimeError as exc:
        sys.exit(str(exc))
    print(f"{count.per_event:,} instructions per event "
          f"({count.events:,} events of {args.log}; start-up: {count.startup:,} instructions)")


if __name__ == "__main__":
    main()
