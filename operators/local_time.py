"""Local time of day in a player's jurisdiction, for night-play markers.

Night play is judged on the local clock of the jurisdiction (UK Gambling
Commission markers of harm), so 02:00 in New Jersey is night even though it is
07:00 UTC. Offsets are cached per jurisdiction and UTC hour: events arrive
roughly in time order, so almost every lookup is a cache hit.

Example:
    >>> night = NightClock({"UK": "Europe/London"}, start_hour=0, end_hour=6)
    >>> night.is_night("UK", 1_767_225_600_000 + 2 * 3_600_000)   # 2026-01-01 02:00 UTC
    True
    >>> night.is_night("UK", 1_767_225_600_000 + 12 * 3_600_000)
    False
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


class NightClock:
    """Decide whether an event time falls in the configured local night.

    Args:
        timezones: jurisdiction code to IANA zone name; unknown jurisdictions use UTC.
        start_hour: first local hour of the night (inclusive).
        end_hour: local hour at which the night ends (exclusive).
    """

    __slots__ = ("_cache", "_zones", "end_hour", "start_hour")

    def __init__(self, timezones: dict[str, str], start_hour: int = 0, end_hour: int = 6) -> None:
        self._zones = {code: ZoneInfo(name) for code, name in timezones.items()}
        self.start_hour = start_hour
        self.end_hour = end_hour
        self._cache: dict[str, tuple[int, int]] = {}

    def offset_ms(self, jurisdiction: str, ts_ms: int) -> int:
        """Return the UTC offset of the jurisdiction's clock at `ts_ms`, in milliseconds."""
        hour = ts_ms // HOUR_MS
        cached = self._cache.get(jurisdiction)
        if cached is not None and cached[0] == hour:
            return cached[1]
        zone = self._zones.get(jurisdiction)
        offset = 0
        if zone is not None:
            delta = datetime.fromtimestamp(hour * 3600, tz=UTC).astimezone(zone).utcoffset()
            offset = int(delta.total_seconds() * 1000) if delta is not None else 0
        self._cache[jurisdiction] = (hour, offset)
        return offset

    def local_hour(self, jurisdiction: str, ts_ms: int) -> int:
        """Return the local hour of day (0-23)."""
        return ((ts_ms + self.offset_ms(jurisdiction, ts_ms)) % DAY_MS) // HOUR_MS

    def is_night(self, jurisdiction: str, ts_ms: int) -> bool:
        """Return True when the local hour is within [start_hour, end_hour)."""
        cached = self._cache.get(jurisdiction)  # once per bet: the cache hit is inlined
        if cached is not None and cached[0] == ts_ms // HOUR_MS:
            offset = cached[1]
        else:
            offset = self.offset_ms(jurisdiction, ts_ms)
        hour = ((ts_ms + offset) % DAY_MS) // HOUR_MS
        if self.start_hour <= self.end_hour:
            return self.start_hour <= hour < self.end_hour
        return hour >= self.start_hour or hour < self.end_hour
