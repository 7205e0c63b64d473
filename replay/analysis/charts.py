r"""The report's charts: matplotlib (Agg) figures rendered to PNG bytes, one function per chart.

Each function takes plain numbers (see `pitboss.replay.analysis.run_facts`) and returns PNG bytes,
so charts can be tested and reused without a run. Titles state the finding
("rg_message is the most frequent action: 37 of 94"), axes carry units, and every
action has one colour everywhere (`ACTION_COLOURS`): interventions in warm
tones by ladder rung, reviews in purples, offers in greens.

Example:
    >>> png = suppressions_chart({"min_gap": 10, "no_marketing_consent": 2})
    >>> png[:8] == b"\x89PNG\r\n\x1a\n"
    True

"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

ACTION_COLOURS: dict[str, str] = {
    "rg_message": "#fdd49e",
    "reality_check": "#fc8d59",
    "deposit_limit_suggestion": "#d7301f",
    "cool_off_suggestion": "#7f0000",
    "mandatory_cool_off": "#3d0000",
    "rg_review": "#9e9ac8",
    "fraud_review": "#54278f",
    "hold_withdrawals_and_bonuses": "#3f007d",
    "retention_offer": "#41ab5d",
    "reactivation_offer": "#005a32",
}
KIND_COLOURS: dict[str, str] = {
    "intervention": "#d7301f", "review": "#6a51a3", "offer": "#238b45",
    "churn": "#2171b5", "risk": "#d7301f", "fraud": "#6a51a3",
}
OTHER_COLOUR = "#969696"
PNG_DPI = 100


def action_colour(action: str) -> str:
    """Return the colour of an action, the same in every chart."""
    return ACTION_COLOURS.get(action, OTHER_COLOUR)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=PNG_DPI)
    plt.close(fig)
    return buffer.getvalue()


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _date_axis(ax: plt.Axes) -> None:
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.set_xlabel("event time (UTC)")


def activity_chart(hourly: Sequence[tuple[int, float, int]]) -> bytes:
    """Bets per hour and betting players per hour, from `run_facts.hourly_activity`."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True)
    times = [_when(h) for h, _, _ in hourly]
    bets = [b for _, b, _ in hourly]
    players = [p for _, _, p in hourly]
    peak = max(range(len(bets)), key=bets.__getitem__, default=None)
    top.plot(times, bets, color="#2171b5", linewidth=1)
    top.set_ylabel("bets per hour")
    bottom.plot(times, players, color="#6baed6", linewidth=1)
    bottom.set_ylabel("players betting per hour")
    _date_axis(bottom)
    title = "No bets in this run"
    if peak is not None:
        title = (f"{sum(bets):,.0f} bets; busiest hour {times[peak]:%d %b %H:00} "
                 f"with {bets[peak]:,.0f} bets from {players[peak]} players")
    top.set_title(title)
    return _png(fig)


def actions_chart(actions: Sequence[tuple[int, str, str]], start_ms: int, end_ms: int) -> bytes:
    """Actions per day, stacked by action, one panel per kind: `(decided_at_ms, kind, action)`."""
    kinds = ("intervention", "review", "offer")
    fig, axes = plt.subplots(len(kinds), 1, figsize=(10, 7), sharex=True)
    first_day, last_day = start_ms // 86_400_000, max(start_ms, end_ms) // 86_400_000
    days = list(range(first_day, last_day + 1))
    for ax, kind in zip(axes, kinds, strict=True):
        per_action: dict[str, Counter[int]] = {}
        for ts, k, action in actions:
            if k == kind:
                per_action.setdefault(action, Counter())[ts // 86_400_000] += 1
        bottom = [0] * len(days)
        x = [_when(d * 86_400_000) for d in days]
        for action, counts in sorted(per_action.items()):
            heights = [counts.get(d, 0) for d in days]
            ax.bar(x, heights, bottom=bottom, width=0.8, color=action_colour(action),
                   label=f"{action} ({sum(heights)})", align="edge")
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_ylabel(f"{kind}s per day")
        if per_action:
            ax.legend(loc="upper left", fontsize=8, frameon=False)
        else:
            ax.text(0.5, 0.5, f"no {kind}s", transform=ax.transAxes, ha="center", color="grey")
    _date_axis(axes[-1])
    totals = Counter(a for _, _, a in actions)
    title = "No actions were emitted"
    if totals:
        top, n = totals.most_common(1)[0]
        title = f"{len(actions)} actions emitted; most frequent: {top} ({n} of {len(actions)})"
    axes[0].set_title(title)
    return _png(fig)


def score_chart(samples: Mapping[str, Sequence[float]], thresholds: Mapping[str, float]) -> bytes:
    """Histogram of each model's champion scores, log count axis, with its policy threshold."""
    kinds = ("churn", "risk", "fraud")
    fig, axes = plt.subplots(1, len(kinds), figsize=(11, 3.6))
    shares = []
    for ax, kind in zip(axes, kinds, strict=True):
        values = list(samples.get(kind, ()))
        ax.hist(values, bins=40, range=(0.0, 1.0), color=KIND_COLOURS[kind], alpha=0.85)
        ax.set_yscale("log")
        ax.set_xlabel(f"{kind} score (0-1)")
        ax.set_ylabel("scoring points (log scale)")
        threshold = thresholds.get(kind)
        if threshold is not None:
            above = sum(v >= threshold for v in values) / len(values) if values else 0.0
            shares.append(f"{kind} {above:.1%}")
            ax.axvline(threshold, color="black", linestyle="--", linewidth=1)
            ax.text(threshold, ax.get_ylim()[1], f" threshold {threshold:g}", va="top",
                    fontsize=8)
    fig.suptitle("Share of scoring points at or above the policy threshold: " + ", ".join(shares))
    return _png(fig)


def metrics_chart(series: Mapping[str, Mapping[str, Sequence[tuple[int, float, int]]]]) -> bytes:
    """Hourly progressive metrics per model: `{metric: {kind: [(hour_ms, value, n), ...]}}`."""
    metrics = list(series)
    fig, axes = plt.subplots(len(metrics), 1, figsize=(10, 2.8 * max(1, len(metrics))),
                             sharex=True, squeeze=False)
    notes = []
    for ax, metric in zip(axes[:, 0], metrics, strict=True):
        for kind, points in sorted(series[metric].items()):
            # Markers only: hours without labels have no value, and a line would invent one.
            ax.plot([_when(h) for h, _, _ in points], [v for _, v, _ in points], marker=".",
                    linestyle="none", color=KIND_COLOURS.get(kind, OTHER_COLOUR), label=kind)
            labels = sum(n for _, _, n in points)
            if metric == "roc_auc" and labels:
                weighted = sum(v * n for _, v, n in points) / labels
                notes.append(f"{kind} {weighted:.2f}")
        ax.set_ylabel(metric.replace("_", " "))
        if metric == "log_loss":
            ax.set_yscale("symlog", linthresh=1.0)  # confident misses reach ~35
        if series[metric]:
            ax.legend(loc="upper left", fontsize=8, frameon=False)
        else:
            ax.text(0.5, 0.5, "no hour with enough labels yet", transform=ax.transAxes,
                    ha="center", color="grey")
    _date_axis(axes[-1, 0])
    title = "Progressive validation per hour (champions)"
    if notes:
        title = "Label-weighted progressive ROC AUC: " + ", ".join(notes)
    axes[0, 0].set_title(title)
    return _png(fig)


def _barh(counts: Mapping[str, int], xlabel: str, title: str, colour: str) -> bytes:
    items = sorted(counts.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(9, 0.45 * max(3, len(items)) + 1.2))
    if items:
        bars = ax.barh([k for k, _ in items], [v for _, v in items], color=colour)
        ax.bar_label(bars, labels=[f"{v:,}" for _, v in items], padding=3, fontsize=8)
    else:
        ax.text(0.5, 0.5, "none", transform=ax.transAxes, ha="center", color="grey")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return _png(fig)


def suppressions_chart(by_rule: Mapping[str, int]) -> bytes:
    """Decisions held back by the compliance gate, per rule."""
    total = sum(by_rule.values())
    title = "The compliance gate held nothing back"
    if total:
        rule, n = max(by_rule.items(), key=lambda kv: kv[1])
        title = f"{total:,} decisions held back; {rule} accounts for {n / total:.0%}"
    return _barh(by_rule, "suppressed decisions (count)", title, "#737373")


def dead_letters_chart(by_reason: Mapping[str, int], events_in: int) -> bytes:
    """Input messages dead-lettered, per reason (including duplicates and late events)."""
    total = sum(by_reason.values())
    title = "No message was dead-lettered"
    if total:
        reason, n = max(by_reason.items(), key=lambda kv: kv[1])
        share = total / events_in if events_in else 0.0
        title = f"{total:,} messages dead-lettered ({share:.2%} of input); most: {reason} ({n:,})"
    return _barh(by_reason, "dead letters (messages)", title, "#cb181d")


def latency_chart(
    harmed_h: Sequence[float], harmed_missed: int, fraud_h: Sequence[float], fraud_missed: int,
    window_h: int, fraud_before_cashout: int,
) -> bytes:
    """Histograms of hours from harm onset to first RG action, and fraud start to review."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    within = sum(h <= window_h for h in harmed_h)
    left.hist(harmed_h, bins=24, color=KIND_COLOURS["intervention"], alpha=0.85)
    left.axvline(window_h, color="black", linestyle="--", linewidth=1)
    left.set_title("harmed players: harm onset -> first RG action\n"
                   f"{within} of {len(harmed_h) + harmed_missed} within {window_h} h (dashed); "
                   f"{harmed_missed} never", fontsize=10)
    right.hist(fraud_h, bins=24, color=KIND_COLOURS["review"], alpha=0.85)
    right.set_title("fraudsters: fraud start -> first fraud review\n"
                    f"{fraud_before_cashout} reviewed before cash-out; {fraud_missed} never",
                    fontsize=10)
    for ax in (left, right):
        ax.set_xlabel("hours to first action")
        ax.set_ylabel("players")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ordered = sorted(harmed_h)
    median = f"{ordered[len(ordered) // 2]:.0f} h" if ordered else "n/a"
    fig.suptitle(f"Median time from harm onset to first RG action: {median}")
    return _png(fig)


def outcomes_chart(counts: Mapping[str, int], protected_offers: int) -> bytes:
    """Truth-based outcomes: detections, false positives and offers to protected players."""
    title = ("No offer reached a protected player" if protected_offers == 0
             else f"{protected_offers} offers reached protected players (must be 0)")
    colours = {k: ("#cb181d" if "protected" in k and v else "#4292c6") for k, v in counts.items()}
    items = list(counts.items())
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(items) + 1.4))
    bars = ax.barh([k for k, _ in items][::-1], [v for _, v in items][::-1],
                   color=[colours[k] for k, _ in items][::-1])
    ax.bar_label(bars, labels=[f"{v:,}" for _, v in items][::-1], padding=3, fontsize=8)
    ax.set_xlabel("players or offers (count)")
    ax.set_title(title)
    return _png(fig)


def reliability_chart(calibration: Mapping[str, Mapping[str, Any]]) -> bytes:
    """Reliability diagram per model: mean score against share of true positives, per bin."""
    kinds = list(calibration)
    fig, axes = plt.subplots(1, len(kinds), figsize=(4 * len(kinds), 3.8), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        doc = calibration[kind]
        bins = doc["bins"]
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
        ax.plot([b["mean_score"] for b in bins], [b["positive_share"] for b in bins],
                marker="o", color=KIND_COLOURS["review"])
        for b in bins:
            ax.annotate(f"{b['points']:,}", (b["mean_score"], b["positive_share"]),
                        fontsize=6, xytext=(3, -8), textcoords="offset points")
        ece = "n/a" if doc["ece"] is None else f"{doc['ece']:.3f}"
        ax.set_title(f"{kind}: ECE {ece}", fontsize=10)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean score in bin")
        ax.set_ylabel("share positive (truth)")
    fig.suptitle("Calibration against the truth (dashed: perfectly calibrated)")
    return _png(fig)
