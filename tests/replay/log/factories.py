"""Helpers for recorded-log tests: a bet as JSON, a log file of values, a drained partition."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bytewax.inputs import StatefulSourcePartition

from pitboss.operators.ingest import RawMessage
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


def drain(partition: StatefulSourcePartition[RawMessage, Any]) -> list[RawMessage]:
    """Return every message a source partition gives until it ends."""
    out: list[RawMessage] = []
    while True:
        try:
            out.extend(partition.next_batch())
        except StopIteration:
            return out
