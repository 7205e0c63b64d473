"""The remembered fast path of `EventTimeReader` agrees with the general RFC 3339 reader."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from pitboss.operators.event_time import EventTimeReader, rfc3339_ms

# Naive on purpose: the strings get their zone (Z or an offset) written by hand.
MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
)


def _layout(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds") + "Z"


# Characters that break the layout in every way the reader must notice: other digits
# (non-ASCII ones too), signs, separators, spaces, lower case.
_NOISE = st.sampled_from([*"0123456789:.-+ TtZz_,", "\u0667", "\u00b2", "\uff12", "\u00a0"])


@st.composite
def near_layout(draw: st.DrawFn) -> str:
    """Draw a time of the common layout, sometimes with a few characters replaced or cut."""
    text = list(_layout(draw(MOMENTS)))
    for _ in range(draw(st.integers(0, 2))):
        text[draw(st.integers(0, len(text) - 1))] = draw(_NOISE)
    joined = "".join(text)
    cut = draw(st.sampled_from([None, 19, 22, 23, 25]))
    return joined if cut is None else (joined + "1Z")[:cut]


@settings(max_examples=500)
@given(st.lists(near_layout(), min_size=1, max_size=30))
def test_reader_agrees_with_the_general_reader(texts: list[str]) -> None:
    reader = EventTimeReader(max_minutes=8)
    # Twice: the second pass is answered from memory.
    for text in texts + texts:
        assert reader.read(text) == rfc3339_ms(text), text


@given(MOMENTS, st.sampled_from(["", "+02:00", "-05:30"]))
def test_other_layouts_go_to_the_general_reader(moment: datetime, offset: str) -> None:
    text = moment.isoformat() + (offset or "Z")
    reader = EventTimeReader()
    assert reader.read(text) == rfc3339_ms(text) == reader.read(text)


def test_a_remembered_minute_and_end_do_not_make_an_invalid_time_valid() -> None:
    reader = EventTimeReader()
    assert reader.read("2026-11-20T12:00:59.999Z") == 1_795_176_059_999
    assert reader.read("2026-11-20T12:00:60.000Z") is None
    assert reader.read("2026-11-20T12:00:5\u0669.000Z") is None
    assert reader.read("2026-02-29T12:00:59.999Z") is None
    assert reader.read("2026-11-20T12:00:59.999z") == 1_795_176_059_999


def test_memory_of_minutes_is_bounded() -> None:
    reader = EventTimeReader(max_minutes=4)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for minute in range(100):
        moment = start.replace(hour=minute // 60, minute=minute % 60, tzinfo=None)
        assert reader.read(_layout(moment)) == int(start.timestamp() * 1000) + minute * 60_000
        assert len(reader._minutes) <= 4
