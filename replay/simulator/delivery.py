"""Delivery of simulated events as Kafka would carry them: serialized, a little out of order.

`Delivery.messages` takes the players' events merged in event-time order and
turns each into one raw message value (orjson bytes), with the imperfections a
real pipeline must survive, all drawn from one generator seeded by the
simulation's seed:

- `ts` written mostly as RFC 3339 UTC (`2026-01-05T12:00:00.123Z`), 10% as integer
  epoch milliseconds and 2% as RFC 3339 with the jurisdiction's standard offset;
- 1% of events displaced: delivered up to 2 minutes after their event time
  (inside the 5-minute allowed lateness);
- 0.05% genuinely late: delivered 10 to 60 minutes after their event time;
- 0.1% sent twice: the exact same bytes again within 2 minutes (same `event_id`);
- 0.05% followed by a malformed message: the event truncated mid-JSON, or a copy
  (with `event_id` suffixed `-bad`) carrying an unknown currency or lacking a
  required field. The original event is still delivered intact.

Only those delays reorder messages, so every message is delivered at most 60
minutes of event time after the messages that precede it in event time.

Example:
    >>> format_rfc3339(1_767_571_200_123)
    '2026-01-05T00:00:00.123Z'
    >>> format_rfc3339(1_767_571_200_123, offset_minutes=60)
    '2026-01-05T01:00:00.123+01:00'

"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from pitboss.replay.simulator.archetypes import DAY_MS

MINUTE_MS = 60_000
LATE_SHARE = 0.0005
DISPLACED_SHARE = 0.01
DUPLICATE_SHARE = 0.001
MALFORMED_SHARE = 0.0005
EPOCH_MS_SHARE = 0.10
OFFSET_SHARE = 0.02
MAX_DISPLACEMENT_MS = 2 * MINUTE_MS
LATE_DELAY_MS = (10 * MINUTE_MS, 60 * MINUTE_MS)
UNKNOWN_CURRENCY = "XTS"
"""ISO 4217's code reserved for testing: valid in shape, never in `contract.rates`."""

STANDARD_OFFSET_MINUTES: dict[str, int] = {
    "UK": 0, "MT": 60, "SE": 60, "US-NJ": -300, "CA-ON": -300,
}

Item = tuple[int, int, int, dict[str, Any]]
"""`(ts_ms, player index, player's event number, event body)`: sorts by event time."""

_day_prefixes: dict[int, str] = {}


def format_rfc3339(ts_ms: int, offset_minutes: int = 0) -> str:
    """Format epoch milliseconds as RFC 3339 with millisecond precision.

    Args:
        ts_ms: the instant, epoch milliseconds.
        offset_minutes: the UTC offset to write the local time in; 0 writes `Z`.

    Returns:
        e.g. `2026-01-05T12:00:00.123Z` or `2026-01-05T13:00:00.123+01:00`.

    """
    day, ms_of_day = divmod(ts_ms + offset_minutes * MINUTE_MS, DAY_MS)
    prefix = _day_prefixes.get(day)
    if prefix is None:
        prefix = datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%dT")
        if len(_day_prefixes) < 100_000:
            _day_prefixes[day] = prefix
    seconds, millis = divmod(ms_of_day, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if offset_minutes == 0:
        zone = "Z"
    else:
        sign = "+" if offset_minutes > 0 else "-"
        zone = f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"
    return f"{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}{zone}"


@dataclass(slots=True)
class DeliveryCounts:
    """What a delivery has sent so far."""

    displaced: int = 0
    late: int = 0
    duplicates: int = 0
    malformed: int = 0
    by_event_type: Counter[str] = field(default_factory=Counter)

    @property
    def events(self) -> int:
        """Distinct events delivered."""
        return sum(self.by_event_type.values())

    @property
    def messages(self) -> int:
        """Messages delivered: every event once, plus duplicates and malformed messages."""
        return self.events + self.duplicates + self.malformed


_FAULT_SHARE = LATE_SHARE + DISPLACED_SHARE + DUPLICATE_SHARE + MALFORMED_SHARE


class Delivery:
    """Serialize merged events into raw messages with seeded, bounded disorder.

    Args:
        rng: the generator for every delivery decision (derive it from the seed).

    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.counts = DeliveryCounts()
        self._delayed: list[tuple[int, int, bytes]] = []
        self._order = itertools.count()
        self._minute = -1
        self._minute_prefix = ""

    def messages(self, items: Iterator[Item]) -> Iterator[bytes]:
        """Yield raw message values for `items`, which must come in event-time order.

        Returns:
            Message values in delivery order.

        """
        delayed = self._delayed
        by_type = self.counts.by_event_type
        random_ = self.rng.random
        dumps = orjson.dumps
        for ts_ms, _, _, body in items:
            while delayed and delayed[0][0] <= ts_ms:
                yield heapq.heappop(delayed)[2]
            by_type[body["event_type"]] += 1
            u = random_()
            if u >= EPOCH_MS_SHARE + OFFSET_SHARE:
                body["ts"] = self._utc(ts_ms)
            elif u >= EPOCH_MS_SHARE:
                offset = STANDARD_OFFSET_MINUTES.get(body["jurisdiction"], 60)
                body["ts"] = format_rfc3339(ts_ms, offset)
            raw = dumps(body)
            u = random_()
            if u >= _FAULT_SHARE:
                yield raw
            else:
                yield from self._faulty(u, ts_ms, body, raw)
        while delayed:
            yield heapq.heappop(delayed)[2]

    def _utc(self, ts_ms: int) -> str:
        """Format RFC 3339 UTC, reusing the `YYYY-MM-DDTHH:MM:` of the previous call."""
        minute, ms_of_minute = divmod(ts_ms, MINUTE_MS)
        if minute != self._minute:
            self._minute = minute
            self._minute_prefix = format_rfc3339(minute * MINUTE_MS)[:17]
        seconds, millis = divmod(ms_of_minute, 1000)
        return f"{self._minute_prefix}{seconds:02d}.{millis:03d}Z"

    def _faulty(self, u: float, ts_ms: int, body: dict[str, Any], raw: bytes) -> Iterator[bytes]:
        """Deliver one event with a fault: delayed, late, duplicated or followed by garbage."""
        counts = self.counts
        if u < LATE_SHARE:
            counts.late += 1
            self._delay(ts_ms + self.rng.randint(*LATE_DELAY_MS), raw)
        elif u < LATE_SHARE + DISPLACED_SHARE:
            counts.displaced += 1
            self._delay(ts_ms + self.rng.randint(1_000, MAX_DISPLACEMENT_MS), raw)
        elif u < LATE_SHARE + DISPLACED_SHARE + DUPLICATE_SHARE:
            counts.duplicates += 1
            yield raw
            self._delay(ts_ms + self.rng.randint(0, MAX_DISPLACEMENT_MS), raw)
        else:
            counts.malformed += 1
            yield raw
            yield self._malformed(body, raw)

    def _delay(self, deliver_ms: int, raw: bytes) -> None:
        heapq.heappush(self._delayed, (deliver_ms, next(self._order), raw))

    def _malformed(self, body: dict[str, Any], raw: bytes) -> bytes:
        """Derive a broken message from `body`: truncated, unknown currency, or a field missing."""
        kind = self.rng.randrange(3)
        if kind == 0:
            return raw[: max(1, len(raw) // 2)]
        broken = {**body, "event_id": f"{body['event_id']}-bad"}
        if kind == 1 and "currency" in broken:
            broken["currency"] = UNKNOWN_CURRENCY
        else:
            del broken["player_id"]
        return orjson.dumps(broken)

