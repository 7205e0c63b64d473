"""Simulate a population of players and write what the Kafka topics would carry.

`simulate` merges every player's lazily generated events (`pitboss.replay.simulator.player`) in
event-time order with a heap, and hands them to `pitboss.replay.simulator.delivery`, which
serializes them and adds the small, seeded disorder of a real pipeline. Memory is
bounded by the number of players, never by the length of the log. The output is
a pure function of (players, days, seed, start, population): the same arguments give the same
bytes on any machine, because every random draw comes from a generator derived
from the seed (never the global generator, never `hash()`), and the default start
is a fixed date in the past rather than the wall clock.

`simulate_to` writes the messages to a recorded log (JSONL or Parquet by
extension), optionally with the ground truth of every player (docs/simulator.md).

Example:
    >>> messages = list(simulate(players=20, days=2, seed=7))
    >>> messages == list(simulate(players=20, days=2, seed=7))
    True
    >>> messages[0][:13]
    b'{"event_id":"'

"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pitboss.replay.log.partitioned import PartitionedLogWriter
from pitboss.replay.log.recorded_log import LogWriter
from pitboss.replay.simulator.archetypes import DAY_MS, player_rng
from pitboss.replay.simulator.delivery import Delivery, DeliveryCounts
from pitboss.replay.simulator.player import PlayerSimulation
from pitboss.replay.simulator.population import DEFAULT, Population

DEFAULT_START_MS = 1_767_571_200_000
"""2026-01-05T00:00:00Z, a Monday: fixed so that output never depends on the wall clock."""
DELIVERY_STREAM = -1
"""Player index reserved for the delivery generator's seed derivation."""
WRITE_BATCH = 10_000


@dataclass(slots=True)
class SimulationSummary:
    """Counts of one simulation run (deterministic: no timings)."""

    players: int
    days: int
    seed: int
    start_ms: int
    events: int = 0
    """Distinct events generated (each delivered once, or more when duplicated)."""
    messages: int = 0
    """Messages written: events + duplicates + malformed ones."""
    bytes: int = 0
    displaced: int = 0
    late: int = 0
    duplicates: int = 0
    malformed: int = 0
    by_event_type: dict[str, int] = field(default_factory=dict)
    by_archetype: dict[str, int] = field(default_factory=dict)


class Simulation:
    """One simulation: the merged message stream, then its counts and ground truth.

    Args:
        players: number of players.
        days: length of the window in days.
        seed: the seed every random draw derives from.
        start_ms: start of the window, epoch milliseconds.
        population: the archetypes' shapes (`replay.simulator.population`); its own `players`,
            `days` and `seed` are not used here (the arguments are).

    """

    def __init__(
        self,
        players: int,
        days: int,
        seed: int,
        start_ms: int = DEFAULT_START_MS,
        population: Population = DEFAULT,
    ) -> None:
        if players < 1 or days < 1:
            raise ValueError(f"players and days must be >= 1, not {players} and {days}")
        self.players = players
        self.days = days
        self.seed = seed
        self.start_ms = start_ms
        self.population = population
        self.delivery = Delivery(player_rng(seed, DELIVERY_STREAM))
        self._players = [
            PlayerSimulation(seed, index, start_ms, days, players, population)
            for index in range(players)
        ]

    @property
    def end_ms(self) -> int:
        """End of the window (exclusive), epoch milliseconds."""
        return self.start_ms + self.days * DAY_MS

    def messages(self) -> Iterator[bytes]:
        """Yield every raw message value in delivery order; iterate once."""
        merged = heapq.merge(*(player.events() for player in self._players))
        return self.delivery.messages(merged)

    def truth(self) -> list[dict[str, Any]]:
        """Return each player's ground truth; complete once `messages()` is exhausted."""
        return [player.truth() for player in self._players]

    def summary(self, written_bytes: int = 0) -> SimulationSummary:
        """Summarize the run so far."""
        counts: DeliveryCounts = self.delivery.counts
        archetypes = Counter(player.profile.archetype for player in self._players)
        return SimulationSummary(
            players=self.players,
            days=self.days,
            seed=self.seed,
            start_ms=self.start_ms,
            events=counts.events,
            messages=counts.messages,
            bytes=written_bytes,
            displaced=counts.displaced,
            late=counts.late,
            duplicates=counts.duplicates,
            malformed=counts.malformed,
            by_event_type=dict(sorted(counts.by_event_type.items())),
            by_archetype=dict(sorted(archetypes.items())),
        )


def simulate(
    players: int,
    days: int,
    seed: int,
    start_ms: int = DEFAULT_START_MS,
    population: Population = DEFAULT,
) -> Iterator[bytes]:
    """Stream the raw message values of a simulated population, in delivery order.

    Args:
        players: number of players.
        days: length of the window in days.
        seed: the seed; the same arguments always give the same bytes.
        start_ms: start of the window (epoch ms), by default 2026-01-05T00:00:00Z.
        population: the archetypes' shapes; the default gives the historic bytes.

    Returns:
        An iterator of message values (one UTF-8 JSON object each, or a malformed one).

    """
    yield from Simulation(players, days, seed, start_ms, population).messages()


def simulate_to(
    path: Path,
    players: int,
    days: int,
    seed: int,
    truth_path: Path | None = None,
    start_ms: int = DEFAULT_START_MS,
    population: Population = DEFAULT,
    partitions: int = 1,
    shards: int = 16,
) -> SimulationSummary:
    """Simulate into a recorded log, and optionally write the ground truth.

    Args:
        path: the log to write, `.jsonl` or `.parquet` (see `pitboss.replay.log.recorded_log`).
        players: number of players.
        days: length of the window in days.
        seed: the seed; the same arguments always give the same file.
        truth_path: where to write each player's truth, `.json` (one document) or
            `.jsonl` (one player per line); None to skip.
        start_ms: start of the window (epoch ms).
        population: the archetypes' shapes (`pitboss.replay.simulator.population`).
        partitions: above 1, write the log as that many partition files beside `path`
            instead (`pitboss.replay.log.partitioned`); their lines are `path`'s.
        shards: the shard count the partition files are written for (`features.shards`).

    Returns:
        The counts of the run.

    """
    simulation = Simulation(players, days, seed, start_ms, population)
    written = 0
    writer = LogWriter(path) if partitions == 1 else PartitionedLogWriter(path, partitions, shards)
    with writer as log:
        batch: list[bytes] = []
        for message in simulation.messages():
            batch.append(message)
            if len(batch) >= WRITE_BATCH:
                written += _write(log, batch)
                batch = []
        written += _write(log, batch)
    summary = simulation.summary(written)
    if truth_path is not None:
        write_truth(truth_path, simulation, summary)
    return summary


def _write(log: LogWriter | PartitionedLogWriter, batch: list[bytes]) -> int:
    """Write a batch and return its size in bytes (newlines of JSONL included)."""
    log.write_many(batch)
    return sum(map(len, batch)) + (len(batch) if log.format == "jsonl" else 0)


def write_truth(path: Path, simulation: Simulation, summary: SimulationSummary) -> None:
    """Write the ground truth of a finished simulation as JSON or JSONL.

    Args:
        path: `.jsonl` for one player per line; anything else gets one JSON document
            `{"seed", "players", "days", "start_ms", "end_ms", "summary", "truth": [...]}`.
        simulation: the simulation, after its messages were consumed.
        summary: its counts.

    """
    records = simulation.truth()
    if path.suffix.lower() == ".jsonl":
        path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
        return
    document = {
        "seed": simulation.seed,
        "population": simulation.population.name,
        "players": simulation.players,
        "days": simulation.days,
        "start_ms": simulation.start_ms,
        "end_ms": simulation.end_ms,
        "summary": {
            "events": summary.events,
            "messages": summary.messages,
            "by_event_type": summary.by_event_type,
            "by_archetype": summary.by_archetype,
        },
        "truth": records,
    }
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
