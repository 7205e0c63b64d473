"""RFC 3339 event times as epoch milliseconds, with a fast path for the common layout.

`rfc3339_ms` is the general reader: `datetime.fromisoformat` checks the digits and
the calendar, then the layout is checked against RFC 3339. `EventTimeReader` puts a
fast path in front of it for the layout nearly every producer sends,
`YYYY-MM-DDTHH:MM:SS.fffZ`: its minute (`YYYY-MM-DDTHH:MM`) is remembered once the
general reader has accepted a time in it, its end (`:SS.fffZ`) is looked up in a
table of all 60,000 ends, and a time made of a remembered minute and an end of the
table costs two dictionary look-ups. Anything else goes to the general reader, so
both always give the same answer.

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


_ENDS_OF_LAYOUT: dict[str, int] = {
    f":{second:02d}.{milli:03d}Z": second * 1_000 + milli
    for second in range(60)
    for milli in range(1_000)
}
"""Every end `:SS.fffZ` of the common layout, as milliseconds into the minute.

Built once (60,000 entries, a few MB): looking an end up here both checks its
layout and reads it.
"""


class EventTimeReader:
    """`rfc3339_ms` with the minutes of `YYYY-MM-DDTHH:MM:SS.fffZ` times remembered.

    A time of that layout is its minute (`YYYY-MM-DDTHH:MM`, 16 characters) and its
    end (`:SS.fffZ`, 8 characters). A minute is remembered once the general reader
    has accepted a time of the layout in it; it then stays valid with any end of
    the layout, so times of the layout cost two dictionary look-ups.

    Args:
        max_minutes: how many distinct minutes to remember; the memory is emptied
            when it is full (event time moves forward, so old minutes stop coming).
            The default, a day of minutes (about 200 KB), is far more than any
            lateness; a refill costs one general read per minute.

    """

    __slots__ = ("_max_minutes", "_minutes")

    def __init__(self, max_minutes: int = 1_440) -> None:
        self._minutes: dict[str, int] = {}
        self._max_minutes = max_minutes

    def read(self, text: str) -> int | None:
        """Return `rfc3339_ms(text)`, from memory when `text` has the common layout."""
        minute_ms = self._minutes.get(text[:16])
        if minute_ms is not None:
            end_ms = _ENDS_OF_LAYOUT.get(text[16:])
            if end_ms is not None:
                return minute_ms + end_ms
        return self._read_and_remember(text)

    def _read_and_remember(self, text: str) -> int | None:
        """Read `text` with the general reader; remember its minute if of the layout."""
        moment_ms = rfc3339_ms(text)
        end_ms = _ENDS_OF_LAYOUT.get(text[16:])
        # Hour 24 is left out: a reader that takes 24:00:00 still rejects 24:00:01.
        if moment_ms is not None and end_ms is not None and text[11:13] < "24":
            if len(self._minutes) >= self._max_minutes:
                self._minutes.clear()
            self._minutes[text[:16]] = moment_ms - end_ms
        return moment_ms
