"""The cost per event of scoring players within their sessions, counted by callgrind.

A player is scored at once on the markers of harm among events (deposits, declined
deposits, reversed withdrawals, a bet that uses up a limit) and every
`[features] session_score_bets` bets or `session_score_interval_s` within a session
(issue 17). Each extra scoring point is a feature snapshot, a model score and a policy
decision. This counts the instructions per event of the Python stages
(`bench/instructions.py`) on the same events twice, with the in-session scoring as
configured and with it switched off (both settings 0), and reports the difference per
event and the scoring points per 1,000 events of each.

    python -m bench.session_scoring --log runs/bench/log-1000000.jsonl --events 20000

`make bench` reports the same figures (`bench/__main__.py`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.instructions import Count, measure, run_stages

OFF = "[features]\nsession_score_bets = 0\nsession_score_interval_s = 0\n"


@dataclass(frozen=True)
class SessionScoringCost:
    """Instructions and scoring points per event with in-session scoring on and off."""

    events: int
    on_per_event: int
    off_per_event: int
    on_points: int
    off_points: int

    @property
    def extra_per_event(self) -> int:
        """Instructions per event the in-session scoring adds."""
        return self.on_per_event - self.off_per_event

    def rows(self) -> dict[str, str]:
        """Return the report's rows.

        Example:
            >>> SessionScoringCost(1000, 110, 100, 60, 20).rows()["cost of in-session scoring"]
            '+10 instructions per event (+10.0%)'
        """
        per_k = 1000 / max(self.events, 1)
        return {
            "scoring points per 1,000 events, in-session scoring off":
                f"{self.off_points * per_k:.1f}",
            "scoring points per 1,000 events, defaults":
                f"{self.on_points * per_k:.1f}",
            "cost of in-session scoring":
                f"{self.extra_per_event:+,} instructions per event "
                f"({self.extra_per_event / max(self.off_per_event, 1):+.1%})",
        }


def measure_cost(log: Path, events: int, on: Count | None = None) -> SessionScoringCost:
    """Count the Python stages on `log`'s first `events` messages, in-session scoring on and off.

    "On" is the default configuration; "off" is it with `session_score_bets` and
    `session_score_interval_s` set to 0.

    Args:
        log: the recorded log.
        events: how many of its first messages to run.
        on: the count with the defaults, if already made (`make bench` makes it).

    Raises:
        RuntimeError: valgrind is not installed, or a counted run failed.
    """
    with tempfile.TemporaryDirectory() as tmp:
        off_config = Path(tmp) / "off.toml"
        off_config.write_text(OFF)
        on = on if on is not None else measure(log, events)
        off = measure(log, events, off_config)
        on_run, off_run = run_stages(log, events), run_stages(log, events, off_config)
    return SessionScoringCost(on.events, on.per_event, off.per_event, on_run.points,
                              off_run.points)


def main() -> None:
    """Print the cost per event of in-session scoring."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    try:
        cost = measure_cost(args.log, args.events)
    except RuntimeError as exc:
        sys.exit(str(exc))
    print(f"{cost.events:,} events of {args.log}: "
          f"{cost.on_per_event:,} instructions per event with the defaults, "
          f"{cost.off_per_event:,} with in-session scoring off")
    for label, value in cost.rows().items():
        print(f"{label}: {value}")


if __name__ == "__main__":
    main()
