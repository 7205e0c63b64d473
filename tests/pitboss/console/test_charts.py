"""The case page's charts: time ticks readable at any span, sparse data visible, panels apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pitboss.console.charts import LEFT, MAX_DOTS, RIGHT, WIDTH, small_multiples, time_chart

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def test_time_ticks_say_seconds_hours_or_days_as_the_span_needs() -> None:
    for span, first in ((timedelta(seconds=40), "00:00:00"), (timedelta(hours=30), "01-05 00:00"),
                        (timedelta(days=30), "2026-01-05")):
        chart = time_chart("t", T0, T0 + span, [("risk", [(T0, 0.5)])], [])
        labels = [label for _, label, _ in chart.x_ticks]
        assert labels[0] == first and len(set(labels)) == len(labels), labels


def test_the_end_ticks_stay_inside_the_plot() -> None:
    chart = time_chart("t", T0, T0 + timedelta(days=9), [("risk", [(T0, 0.5)])], [])
    (x0, _, a0), *_, (x1, _, a1) = chart.x_ticks
    assert (x0, a0) == (LEFT, "start") and (x1, a1) == (WIDTH - RIGHT, "end")


def test_a_sparse_series_is_drawn_with_dots_and_a_long_one_without() -> None:
    few = [(T0, 1.0)]
    many = [(T0 + timedelta(minutes=i), float(i)) for i in range(MAX_DOTS + 1)]
    chart = time_chart("t", T0, T0 + timedelta(hours=2), [("a", few), ("b", many)], [])
    assert len(chart.series[0].dots) == 1 and chart.series[1].dots == ()


def test_each_quantity_has_a_panel_of_its_own_scale_and_the_last_the_time_axis() -> None:
    end = T0 + timedelta(days=2)
    panels = small_multiples("Play", T0, end, [("stake", [(T0, 5000.0), (end, 0.0)]),
                                               ("minutes", [(T0, 30.0), (end, 0.0)]),
                                               ("flat", [(T0, 0.0), (end, 0.0)])], [])
    assert [p.series[0].maximum for p in panels] == [5000.0, 30.0, 0.0]
    assert [p.y_labels[0][1] for p in panels] == ["5,000.00", "30.00", "0.00"]
    assert len(panels[2].y_labels) == 1, "a flat series has one level, labelled once"
    assert [bool(p.x_ticks) for p in panels] == [False, False, True]
