"""Timeline charts for the case page, as numbers an SVG template draws (no JavaScript).

A `TimeChart` is one panel: one or more series over a shared time axis with labelled
time ticks, the value range labelled on the left, and vertical marks for decisions.
Series that share a panel share its scale, so a panel holds series of one unit (the
scores, 0 to 1); quantities of different units (stake, minutes) get a panel each
(`small_multiples`), all on the same time axis, each scaled from min(0, lowest) to
its highest value. Everything here is numbers and fixed colours; the template
escapes the labels like any other text.

Example:
    >>> from datetime import UTC, datetime
    >>> t = [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2, 3)]
    >>> chart = time_chart("Scores", t[0], t[2], [("risk", [(t[0], 0.0), (t[2], 1.0)])], [],
    ...                    fixed_range=(0.0, 1.0))
    >>> chart.series[0].points
    '72.0,176.0 1180.0,10.0'
    >>> [label for _, label in chart.y_labels]
    ['1.00', '0.50', '0.00']

"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT, PANEL_HEIGHT = 1200, 200, 70
"""SVG units, about the pixels of a case page on a desktop screen (labels keep their size)."""
LEFT, RIGHT, TOP, BOTTOM = 72, 20, 10, 24
"""The plot's margins: value labels on the left, time ticks below."""
PANEL_TOP, PANEL_BOTTOM = 18, 4
"""A small multiple's margins: its name above, no time ticks below (the last panel has them)."""
TICKS = 5
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
STATUS_COLOURS = {"emitted": "#2ca02c", "approved": "#1b5e20", "denied": "#6d4c41",
                  "suppressed": "#9e9e9e", "holdout": "#9467bd", "shadow": "#90a4ae",
                  "pending_review": "#ff7f0e"}  # fmt: skip
MAX_POINTS = 600
"""At most this many points per series (every n-th kept): a panel is about 1,100 units wide."""
MAX_DOTS = 60
"""A series of at most this many points is drawn with a dot at each (sparse data shows)."""


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its name, colour, lowest and highest value and SVG polyline points."""

    name: str
    colour: str
    maximum: float
    points: str
    dots: tuple[tuple[float, float], ...] = ()
    """The points drawn as dots too, when few (a line of one point draws nothing)."""
    minimum: float = 0.0


@dataclass(frozen=True, slots=True)
class Mark:
    """A vertical mark on the time axis: a decision row."""

    x: float
    label: str
    colour: str


@dataclass(frozen=True, slots=True)
class TimeChart:
    """A panel of series over time with decision marks, time ticks and value labels."""

    title: str
    start: datetime
    end: datetime
    series: tuple[Series, ...]
    marks: tuple[Mark, ...]
    width: int = WIDTH
    height: int = HEIGHT
    x_ticks: tuple[tuple[float, str, str], ...] = ()
    """(x, label, text-anchor) of each time tick."""
    y_labels: tuple[tuple[float, str], ...] = ()
    top: int = TOP
    bottom: int = BOTTOM

    @property
    def plot_bottom(self) -> int:
        """The y of the time axis (the plot's bottom edge)."""
        return self.height - self.bottom

    @property
    def plot_box(self) -> tuple[int, int, int, int]:
        """The plot area: x, y, width, height (value labels left of it, time ticks below)."""
        return LEFT, self.top, self.width - LEFT - RIGHT, self.plot_bottom - self.top


def time_chart(
    title: str, start: datetime, end: datetime,
    series: Sequence[tuple[str, Sequence[tuple[datetime, float]]]],
    marks: Sequence[tuple[datetime, str, str]],
    fixed_range: tuple[float, float] | None = None,
    height: int = HEIGHT,
    colours: Sequence[str] = PALETTE,
    margins: tuple[int, int] = (TOP, BOTTOM),
) -> TimeChart:  # fmt: skip
    """Scale series and marks between `start` and `end` into one panel's SVG coordinates.

    Args:
        title: the chart's heading.
        start: the left edge's time.
        end: the right edge's time.
        series: (name, [(time, value)]) per line, all on the panel's one scale.
        marks: (time, label, status) per decision row.
        fixed_range: (low, high) of the scale; else min(0, lowest) to the highest value.
        height: the panel's height in SVG units.
        colours: the series' colours, in order.
        margins: (top, bottom) margins; time ticks are drawn when the bottom has room.

    """
    span = max((end - start).total_seconds(), 1.0)
    plot_top, bottom = margins[0], height - margins[1]

    def x_of(at: datetime) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (at - start).total_seconds() / span, 1)

    thinned = [(name, _thin(values)) for name, values in series]
    every = [v for _, values in thinned for _, v in values]
    low, top = fixed_range or (min(0.0, *every) if every else 0.0, max(every, default=0.0))
    span_y = (top - low) or 1.0

    def y_of(value: float) -> float:
        return round(bottom - (bottom - plot_top) * (value - low) / span_y, 1)

    lines = []
    for index, (name, values) in enumerate(thinned):
        xy = [(x_of(at), y_of(v)) for at, v in values]
        lines.append(Series(
            name, colours[index % len(colours)], max((v for _, v in values), default=0.0),
            " ".join(f"{x},{y}" for x, y in xy), tuple(xy) if len(xy) <= MAX_DOTS else (),
            min((v for _, v in values), default=0.0)))  # fmt: skip
    drawn = tuple(Mark(x_of(at), label, STATUS_COLOURS.get(status, "#000000"))
                  for at, label, status in marks)  # fmt: skip
    levels = (top, (low + top) / 2, low) if fixed_range else (top, low) if top > low else (low,)
    y_labels = tuple((y_of(v), f"{v:,.2f}") for v in levels)
    ticks = _time_ticks(start, end, x_of) if margins[1] >= BOTTOM else ()
    return TimeChart(title, start, end, tuple(lines), drawn, WIDTH, height, ticks, y_labels,
                     *margins)  # fmt: skip


def small_multiples(
    title: str, start: datetime, end: datetime,
    series: Sequence[tuple[str, Sequence[tuple[datetime, float]]]],
    marks: Sequence[tuple[datetime, str, str]],
) -> list[TimeChart]:  # fmt: skip
    """Return one panel per series, each on its own scale, the last with the time ticks."""
    last = len(series) - 1
    return [time_chart(f"{title}: {name}", start, end, [(name, values)], marks,
                       height=PANEL_HEIGHT + (BOTTOM - PANEL_BOTTOM if i == last else 0),
                       colours=(PALETTE[i % len(PALETTE)],),
                       margins=(PANEL_TOP, BOTTOM if i == last else PANEL_BOTTOM))
            for i, (name, values) in enumerate(series)]  # fmt: skip


def _time_ticks(start: datetime, end: datetime, x_of: Callable[[datetime], float]
                ) -> tuple[tuple[float, str, str], ...]:
    """Return `TICKS` evenly spaced ticks: dates, with hours when the span is short.

    The first label starts at its tick and the last ends at it, so both stay inside.
    """
    span = end - start
    seconds = span.total_seconds()
    fmt = "%H:%M:%S" if seconds < 3_600 else "%m-%d %H:%M" if seconds < 4 * 86_400 \
        else "%Y-%m-%d"
    moments = [start + span * (i / (TICKS - 1)) for i in range(TICKS)]
    anchors = ["start", *["middle"] * (TICKS - 2), "end"]
    return tuple((x_of(at), at.strftime(fmt), anchor)
                 for at, anchor in zip(moments, anchors, strict=True))


def _thin(values: Sequence[tuple[datetime, float]]) -> Sequence[tuple[datetime, float]]:
    """Keep at most `MAX_POINTS` points (every n-th), so a long story stays a small page."""
    step = len(values) // MAX_POINTS + 1
    return values if step == 1 else values[::step]
