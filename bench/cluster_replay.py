"""One process of a multi-process replay (a Bytewax `-i`/`-a` cluster), for the scaling bench.

Run one per process with the same arguments but `--proc-id`:
`python -m bench.cluster_replay --proc-id 0 --addresses 127.0.0.1:2101,127.0.0.1:2102 \
--input LOG --out DIR`. The run's single outputs partition (summary, files, chDB) lives in
one of the processes; every process builds the same flow. `--input` repeats: several
logs, or every file of a partitioned log (`pitboss.replay.log.partitioned`), which each
input partition then reads only its own share of.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bytewax.testing import cluster_main

from pitboss.config.settings import load_settings
from pitboss.flows.gc_tuning import pipeline_gc
from pitboss.replay.runner import ClickHouseTarget, _outputs_factory, build_replay_flow


def main() -> None:
    """Run this process's share of the replay."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--proc-id", type=int, required=True)
    parser.add_argument("--addresses", required=True)
    parser.add_argument("--input", type=Path, action="append", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--partitions", type=int, default=1,
                        help="input partitions by player (`pitboss replay --partitions`)")
    args = parser.parse_args()
    settings = load_settings()
    args.out.mkdir(parents=True, exist_ok=True)
    target = ClickHouseTarget.for_run(args.out, None, settings.clickhouse.database)
    flow = build_replay_flow(
        args.input, settings, _outputs_factory(args.out, target, settings, time.monotonic()),
        partitions=args.partitions,
    )
    with pipeline_gc():  # as `pitboss replay` runs it (`pitboss.replay.runner.run_replay`)
        cluster_main(flow, args.addresses.split(","), args.proc_id)


if __name__ == "__main__":
    main()
