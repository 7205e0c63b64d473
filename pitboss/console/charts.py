"""Timeline charts for the case page, as numbers an SVG template draws (no JavaScript).

A `TimeChart` holds one or more series over a shared time axis, each scaled to its
own range from min(0, lowest) to its highest value (stake and minutes differ by
orders of magnitude; the legend gives each series' maximum) unless the chart has a
fixed range (scores: 0 to 1), and vertical marks for decisions. Everything here is numbers and
fixed colours; the template escapes the labels like any other text.

Example:
    >>> from datetime import UTC, datetime
    >>> t = [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2, 3)]
    >>> chart = time_chart("Scores", t[0], t[2], [("risk", [(t[0], 0.0), (t[2], 1.0)])], [])
    >>> chart.series[0].points
    '40.0,170.0 760.0,10.0'

"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT = 800, 180
LEFT, RIGHT, TOP, BOTTOM = 40, 40, 10, 10
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
STATUS_COLOURS = {"emitted": "#2ca02c", "approved": "#1b5e20", "denied": "#6d4c41",
                  "suppressed": "#9e9e9e", "holdout": "#9467bd", "shadow": "#90a4ae",
                  "pending_review": "#ff7f0e"}  # fmt: skip
MAX_POINTS = 2000
MAX_DOTS = 60
"""A series of at most this many points is drawn with a dot at each (sparse data shows)."""


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its name, colour, maximum and SVG polyline points."""

    name: str
    colour: str
    maximum: float
    points: str
    dots: tuple[tuple[float, float], ...] = ()
    """The points drawn as dots too, when few (a line of one point draws nothing)."""


@dataclass(frozen=True, slots=True)
class Mark:
    """A vertical mark on the time axis: a decision row."""

    x: float
    label: str
    colour: str


@dataclass(frozen=True, slots=True)
class TimeChart:
    """A chart of series over time with decision marks."""

    title: str
    start: datetime
    end: datetime
    series: tuple[Series, ...]
    marks: tuple[Mark, ...]
    width: int = WIDTH
    height: int = HEIGHT


def time_chart(
    title: str, start: datetime, end: datetime,
    series: Sequence[tuple[str, Sequence[tuple[datetime, float]]]],
    marks: Sequence[tuple[datetime, str, str]],
    fixed_range: tuple[float, float] | None = None,
) -> TimeChart:  # fmt: skip
    """Scale series and marks between `start` and `end` into SVG coordinates.

    Args:
        title: the chart's heading.
        start: the left edge's time.
        end: the right edge's time.
        series: (name, [(time, value)]) per line; each scaled to its own maximum.
        marks: (time, label, status) per decision row.
        fixed_range: (low, high) shared by every series (scores), else each its own.

    """
    span = max((end - start).total_seconds(), 1.0)

    def x_of(at: datetime) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (at - start).total_seconds() / span, 1)

    lines = []
    for index, (name, values) in enumerate(series):
        values = _thin(values)
        low, top = fixed_range or (min(0.0, *(v for _, v in values)) if values else 0.0,
                                   max((v for _, v in values), default=0.0))
        span_y = (top - low) or 1.0
        xy = [(x_of(at), round(HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (v - low) / span_y, 1))
              for at, v in values]  # fmt: skip
        points = " ".join(f"{x},{y}" for x, y in xy)
        highest = max((v for _, v in values), default=0.0)
        dots = tuple(xy) if len(xy) <= MAX_DOTS else ()
        lines.append(Series(name, PALETTE[index % len(PALETTE)], highest, points, dots))
    drawn = tuple(Mark(x_of(at), label, STATUS_COLOURS.get(status, "#000000"))
                  for at, label, status in marks)  # fmt: skip
    return TimeChart(title, start, end, tuple(lines), drawn)


def _thin(values: Sequence[tuple[datetime, float]]) -> Sequence[tuple[datetime, float]]:
    """Keep at most `MAX_POINTS` points (every n-th), so a long story stays a small page."""
    step = len(values) // MAX_POINTS + 1
    return values if step == 1 else values[::step]
