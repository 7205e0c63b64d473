"""Instructions per event of the Python stages, counted by callgrind: an A/B that noise can't move.

On shared cores a timing moves by 10-15% from one run to the next, more than most
single changes gain. Valgrind's callgrind counts the instructions a run executes, the
same count for the same code and input whatever else the machine does. This runs the
pipeline's Python stages in order on the first `--events` messages of a recorded log:
decode, validate and route (gathered by shard), player shards, models (merge, score,
learn) and policy; no engine, no sink. It counts a run on no events too and reports the
difference per event, so start-up and imports cancel out (both with a fixed hash seed;
what remains varies by well under 1% on 100,000 events).

Run it for two checkouts on the same log and compare (about 7 minutes for 100,000
events; valgrind must be installed):

    python -m bench.instructions --log runs/bench/log-1000000.jsonl --events 100000
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from config.settings import load_settings
from models.model_set import ModelSet
from operators.contract import EventParser
from operators.ingest import IngestRouter
from operators.model_step import ModelStep
from operators.ordered_merge import ShardProgress, Stamped
from operators.outputs import ScoredPoint
from operators.player_shard import PlayerShard
from operators.policy.engine import PolicyEngine
from operators.policy.settings import load_policy
from operators.policy_shard import PolicyShard
from operators.sharding import shard_names
from replay.recorded_log import read_log_messages

_COLLECTED = re.compile(rb"Collected : (\d+)")


def run_stages(log: Path, events: int) -> int:
    """Run the Python stages on the first `events` messages of `log`; return how many ran."""
    settings = load_settings()
    features = settings.features
    router = IngestRouter(EventParser(settings.contract, lambda: 2**62), features.shards,
                          features.clock_tick_s * 1000)
    models = ModelStep(ModelSet(settings.models), shard_names(features.shards))
    policy = PolicyShard(PolicyEngine(load_policy(None)), None)
    shards: dict[str, PlayerShard] = {}
    seen = 0
    for raw in read_log_messages(log, "log", 0, 1000):
        raw = raw[: events - seen]
        if not raw:
            break
        seen += len(raw)
        out: list[object] = []
        for key, items in router.route_by_shard(raw):
            shard = shards.get(key)
            if shard is None:
                shard = shards[key] = PlayerShard.from_settings(features, settings.labels)
            out.extend(shard.process(items))
        scored = models.process([o for o in out if isinstance(o, (Stamped, ShardProgress))])
        policy.process([o for o in scored if isinstance(o, ScoredPoint)])
    return seen


def _instructions(log: Path, counts: tuple[int, ...]) -> list[int]:
    """Count the instructions of `run_stages` for each number of events, at once."""
    with tempfile.TemporaryDirectory() as tmp:
        runs = [
            subprocess.Popen(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/{i}.out",
                 sys.executable, "-m", "bench.instructions", "--log", str(log),
                 "--events", str(events), "--inside"],
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
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        run_stages(args.log, args.events)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    baseline, total = _instructions(args.log, (0, args.events))
    print(f"{(total - baseline) / args.events:,.0f} instructions per event "
          f"({args.events:,} events of {args.log}; start-up: {baseline:,} instructions)")


if __name__ == "__main__":
    main()
