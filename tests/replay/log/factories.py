"""Factories for recorded-log tests: one bet event as JSON, and a log file of values."""

from __future__ import annotations

import json
from pathlib import Path

from pitboss.replay.log.recorded_log import LogWriter
from pitboss.replay.simulator.simulate import DEFAULT_START_MS


def bet(second: int, player: str = "p1", n: int = 0) -> bytes:
    """Return bet `e{n}` of `player`, `second` seconds after the simulator's start."""
    return json.dumps({"event_id": f"e{n}", "event_type": "bet", "player_id": player,
                       "ts": DEFAULT_START_MS + second * 1_000}).encode()


def log_file(path: Path, values: list[bytes]) -> Path:
    """Write `values` as a recorded log at `path` (its format by suffix); return the path."""
    with LogWriter(path) as writer:
        writer.write_many(values)
    return path
