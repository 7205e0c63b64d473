"""RFC 3339 event times as epoch milliseconds, with a fast path for the common layout.

`rfc3339_ms` is the general reader: `datetime.fromisoformat` checks the digits and
the calendar, then the layout is checked against RFC 3339. `EventTimeReader` puts a
fast path in front of it for the layout nearly every producer sends,
`YYYY-MM-DDTHH:MM:SS.fffZ`: its minute (`YYYY-MM-DDTHH:MM`) and its end (`:SS.fffZ`)
are remembered once the general reader has accepted them, and a time made of a
remembered minute and end costs two dictionary look-ups. Anything else goes to the general
reader, so both always give the same answer.

Example:
    >>> reader = EventTimeReader()
    >>> reader.read("2026-11-20T12:00:00.123Z"), reader.read("2026-11-20T12:00:59.999Z")
    (1795176000123, 1795176059999)
    >>> reader.read("2026-11-20T14:00:00.123+02:00")
    1795176000123
    >>> reader.read("2026-11-20T12:00:60.000Z") is None
    True

"""

from __future__ import annotations

from datetime import datetime

_UNIX_EPOCH_ORDINAL = 719_163  # datetime(1970, 1, 1).toordinal()
_fromisoformat = datetime.fromisoformat

_offset_seconds: dict[object, int] = {}
"""Offset of each tzinfo seen; bounded because an `hh:mm` offset has < 2 * 24 * 60 values."""

_SEPARATORS = frozenset({"--T::", "-- ::"})
"""Characters 4, 7, 10, 13 and 16 of an RFC 3339 date-time (a space may replace the T)."""


def rfc3339_ms(text: str) -> int | None:
    """Read `YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)` as epoch milliseconds, or None.

    `datetime.fromisoformat` checks the digits and the calendar, but it also takes
    ISO 8601 forms that RFC 3339 does not (week dates, basic format, `+hh`
    offsets, comma fractions, no seconds), so the layout is checked after it.
    """
    try:
        moment = _fromisoformat(text)
    except ValueError:
        # RFC 3339 allows a lower-case t and z; fromisoformat does not.
        lowered = text[10:11] == "t" or text[-1:] == "z"
        return rfc3339_ms(text.upper()) if lowered and text.isascii() else None
    if moment.tzinfo is None or text[4:17:3] not in _SEPARATORS:
        return None
    if text[-1] == "Z":
        end_of_seconds = len(text) - 1
    elif text[-6] in "+-" and text[-3] == ":" and text[-2] < "6":
        end_of_seconds = len(text) - 6
    else:
        return None
    if end_of_seconds != 19 and text[19:20] != ".":
        return None
    zone = moment.tzinfo
    offset = _offset_seconds.get(zone)
    if offset is None:
        delta = moment.utcoffset()
        if delta is None:  # cannot happen with a tzinfo from fromisoformat
            return None
        offset = _offset_seconds[zone] = delta.days * 86_400 + delta.seconds
    days = moment.toordinal() - _UNIX_EPOCH_ORDINAL
    seconds = days * 86_400 + moment.hour * 3_600 + moment.minute * 60 + moment.second - offset
    return seconds * 1_000 + moment.microsecond // 1_000


def _within_minute_ms(tail: str) -> int | None:
    """Read `:SS.fffZ`, the end of the common layout, as milliseconds into the minute."""
    seconds, millis = tail[1:3], tail[4:7]
    if (
        len(tail) == 8
        and tail[0] == ":"
        and tail[3] == "."
        and tail[7] == "Z"
        and tail.isascii()  # isdigit() alone also takes digits fromisoformat rejects
        and seconds.isdigit()
        and millis.isdigit()
        and seconds < "60"
    ):
        return int(seconds) * 1_000 + int(millis)
    return None


class EventTimeReader:
    """`rfc3339_ms` with the parts of `YYYY-MM-DDTHH:MM:SS.fffZ` times remembered.

    A time of that layout is its minute (`YYYY-MM-DDTHH:MM`, 16 characters) and its
    end (`:SS.fffZ`, 8 characters). Both are remembered once the general reader has
    accepted a time made of them: a minute it accepted stays valid with any end of
    the layout, and an end of the layout is valid after any minute. Times of the
    layout then cost two dictionary look-ups.

    Args:
        max_minutes: how many distinct minutes to remember; the memory is emptied
            when it is full (event time moves forward, so old minutes stop coming).
            Ends need no bound: there are 60,000 of them.

    """

    __slots__ = ("_ends", "_max_minutes", "_minutes")

    def __init__(self, max_minutes: int = 4_096) -> None:
        self._minutes: dict[str, int] = {}
        self._ends: dict[str, int] = {}
        self._max_minutes = max_minutes

    def read(self, text: str) -> int | None:
        """Return `rfc3339_ms(text)`, from memory when `text` has the common layout."""
        minute_ms = self._minutes.get(text[:16])
        if minute_ms is not None:
            end_ms = self._ends.get(text[16:])
            if end_ms is not None:
                return minute_ms + end_ms
        return self._read_and_remember(text)

    def _read_and_remember(self, text: str) -> int | None:
        """Read `text` with the general reader; remember its minute and end if of the layout."""
        moment_ms = rfc3339_ms(text)
        if moment_ms is None or len(text) != 24:
            return moment_ms
        end = text[16:]
        end_ms = _within_minute_ms(end)
        # Hour 24 is left out: a reader that takes 24:00:00 still rejects 24:00:01.
        if end_ms is not None and text[11:13] < "24":
            if len(self._minutes) >= self._max_minutes:
                self._minutes.clear()
            self._minutes[text[:16]] = moment_ms - end_ms
            self._ends[end] = end_ms
        return moment_ms
