"""Turn a replay's run directory into a self-contained HTML report with PNG charts.

`write_report(run_dir)` reads `summary.json` and the run's ClickHouse store (see
`pitboss.replay.run_store`), draws the charts of `pitboss.replay.analysis.charts` and writes
`DIR/report/index.html` with every PNG embedded as base64 (it opens offline and
can be mailed as one file) plus the PNGs beside it for reuse. With a truth file
it adds the truth-based figures of `pitboss.replay.analysis.evaluation_truth`: detection latency,
false positives and offers that reached protected players.

Key numbers carry a `data-key` attribute (`<td data-key="events_in">`), so tests
and scripts can read them back from the HTML.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from pitboss.config.settings import Settings, load_settings
from pitboss.replay.analysis import charts
from pitboss.replay.analysis.evaluation_truth import (
    detection_latencies,
    evaluate,
    load_truth,
    lowest_thresholds,
    policy_of,
    thresholds_for,
)
from pitboss.replay.analysis.operator_metrics import operator_figures
from pitboss.replay.analysis.run_facts import (
    hourly_activity,
    metric_series,
    progressive_auc,
    read_decisions,
    read_scores_above,
    score_samples,
)

REPORT_DIR = "report"
SUMMARY_KEYS = (
    ("events_in", "input messages"),
    ("events_accepted", "events accepted"),
    ("events_rejected", "rejected (dead letters)"),
    ("duplicates_dropped", "duplicates dropped"),
    ("late_events", "late events dropped"),
    ("players", "players"),
    ("feature_rows", "feature rows"),
    ("scored_points", "scoring points"),
)


@dataclass(frozen=True)
class ReportFigure:
    """One chart of the report: a file name, a heading, the PNG and what to read from it."""

    name: str
    heading: str
    png: bytes
    caption: str


def _dead_letters(summary: dict[str, Any]) -> dict[str, int]:
    counts = dict(summary.get("rejected_by_reason", {}))
    counts["duplicate"] = summary.get("duplicates_dropped", 0)
    counts["late"] = summary.get("late_events", 0)
    return {k: int(v) for k, v in counts.items() if v}


def run_figures(client: Any, summary: dict[str, Any], settings: Settings) -> list[ReportFigure]:
    """Return the charts every report has: activity, actions, scores, models, gate, dead letters."""
    decisions = read_decisions(client)
    acted = [(d.decided_at_ms, d.kind, d.action) for d in decisions if d.acted]
    hourly = hourly_activity(client)
    start = hourly[0][0] if hourly else min((a[0] for a in acted), default=0)
    end = hourly[-1][0] if hourly else max((a[0] for a in acted), default=0)
    policy = policy_of(settings)
    base = thresholds_for(policy, settings.contract.default_jurisdiction)
    thresholds = {"risk": base.intervention_risk, "fraud": base.fraud_review,
                  "churn": policy.rules_for(settings.contract.default_jurisdiction)
                  .thresholds.churn_offer}
    suppressed: dict[str, int] = {}
    for d in decisions:
        if d.status == "suppressed":
            suppressed[d.suppressed_by] = suppressed.get(d.suppressed_by, 0) + 1
    metrics = {m: metric_series(client, m) for m in ("roc_auc", "log_loss")}
    return [
        ReportFigure("activity.png", "Activity over time", charts.activity_chart(hourly),
                     "Bets counted from each player's lifetime counter between feature "
                     "snapshots, by hour of event time; players who bet in that hour."),
        ReportFigure("actions.png", "Interventions, reviews and offers over time",
                     charts.actions_chart(acted, start, end),
                     "Actions emitted (or recorded as shadow) per day, by action."),
        ReportFigure("scores.png", "Score distributions per model",
                     charts.score_chart(score_samples(client), thresholds),
                     f"Champion scores at every scoring point; dashed: the policy threshold "
                     f"for {settings.contract.default_jurisdiction} (risk: first ladder rung)."),
        ReportFigure("model_metrics.png", "Model quality over time",
                     charts.metrics_chart(metrics),
                     "Hourly progressive validation from model_metrics: each label is scored "
                     "before it is learned. ROC AUC needs both classes in the hour."),
        ReportFigure("suppressions.png", "Suppressions by gate rule",
                     charts.suppressions_chart(suppressed),
                     "Decisions the compliance gate held back, by the first rule that failed."),
        ReportFigure("dead_letters.png", "Dead letters by reason",
                     charts.dead_letters_chart(_dead_letters(summary),
                                               int(summary.get("events_in", 0))),
                     "Input messages not processed: rejected by the contract, duplicates, late."),
    ]


def truth_figures(
    client: Any, truth_path: Path, summary: dict[str, Any], settings: Settings
) -> tuple[list[ReportFigure], dict[str, Any]]:
    """Return the truth-based charts and the evaluation document they come from."""
    truth = load_truth(truth_path)
    policy = policy_of(settings)
    decisions = read_decisions(client)
    risk_min, fraud_min = lowest_thresholds(
        policy, {p.jurisdiction for p in truth.players.values()})
    crossings = read_scores_above(client, risk_min, fraud_min)
    evaluation = evaluate(truth, decisions, crossings, policy, int(summary.get("players", 0)),
                          progressive_auc(client))
    evaluation["operator"] = operator_figures(client, truth, decisions, policy)
    lat = detection_latencies(truth, decisions)
    rg, fraud, offers = evaluation["rg"], evaluation["fraud"], evaluation["offers"]
    outcome_counts = {
        "harmed players": evaluation["players"]["harmed"],
        f"harmed: RG action within {evaluation['window_h']} h": rg[
            "harmed_intervened_in_window"]["count"],
        "never-harmed: medium/high RG action": rg["never_harmed_medium_high"]["count"],
        "fraudsters with a withdrawal": evaluation["players"]["fraudsters_with_withdrawal"],
        "fraudsters reviewed before cash-out": fraud["reviewed_before_withdrawal"]["count"],
        "non-fraudsters sent to fraud review": fraud["non_fraudsters_reviewed"]["count"],
        "offers to protected players": offers["to_protected"],
    }
    figures = [
        ReportFigure("detection_latency.png", "Detection latency (truth)",
                     charts.latency_chart(lat.harmed_h, lat.harmed_undetected, lat.fraud_h,
                                          lat.fraud_undetected, evaluation["window_h"],
                                          fraud["reviewed_before_withdrawal"]["count"]),
                     "From the truth file: hours from harm onset to the first RG action "
                     "(intervention or RG review), and from fraud start to the first fraud "
                     "review. Dashed: the detection window."),
        ReportFigure("truth_outcomes.png", "Detections, false positives, protected players",
                     charts.outcomes_chart(outcome_counts, offers["to_protected"]),
                     "Protected: self-excluded at the time, refused marketing, or RG-flagged "
                     "(risk at the offer-block threshold, a medium/high intervention, an RG "
                     "review or a confirmed harm within the block period)."),
        ReportFigure("reliability.png", "Calibration of each model (truth)",
                     charts.reliability_chart(evaluation["operator"]["calibration"]),
                     "Champion scores at every scoring point, in ten equal-width bins, against "
                     "the share of points the truth calls positive (risk: harmed after onset; "
                     "fraud: a fraudster; churn: within 7 days of a churner's last activity). "
                     "ECE: the bins' mean distance from the diagonal, weighted by points."),
    ]
    return figures, evaluation


def _numbers_table(summary: dict[str, Any]) -> str:
    rows = [(key, label, summary.get(key, 0)) for key, label in SUMMARY_KEYS]
    decisions = summary.get("decisions", {})
    rows += [(f"decisions.{k}", f"{k}s emitted", v) for k, v in decisions.items()]
    rows += [(f"decisions_by_status.{k}", f"decision rows: {k}", v)
             for k, v in summary.get("decisions_by_status", {}).items()]
    cells = "".join(
        f'<tr><th>{html.escape(label)}</th><td data-key="{html.escape(key)}">{value:,}</td></tr>'
        for key, label, value in rows
    )
    return f"<table class='numbers'>{cells}</table>"


def _evaluation_table(evaluation: dict[str, Any]) -> str:
    rows = []
    for section in ("rg", "fraud", "scores"):
        for name, value in evaluation[section].items():
            share = "n/a" if value["share"] is None else f"{value['share']:.1%}"
            rows.append((f"{section}.{name}", f"{value['count']:,} of {value['of']:,} ({share})"))
    for name, value in evaluation["offers"].items():
        rows.append((f"offers.{name}", "n/a" if value is None else f"{value:,}"))
    auc = evaluation["models"]["churn_progressive_roc_auc"]
    rows.append(("models.churn_progressive_roc_auc", "n/a" if auc is None else f"{auc:.3f}"))
    rows += operator_rows(evaluation.get("operator"))
    cells = "".join(f'<tr><th>{html.escape(k)}</th><td data-key="eval.{html.escape(k)}">'
                    f"{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table class='numbers'>{cells}</table>"


def operator_rows(operator: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Return the operator figures (`replay.analysis.operator_metrics`) as (key, text) rows."""
    if not operator:
        return []

    def share(v: dict[str, Any]) -> str:
        pct = "n/a" if v["share"] is None else f"{v['share']:.1%}"
        return f"{v['count']:,} of {v['of']:,} ({pct})"

    reach, win = operator["rg_reach"], operator["winback"]
    rows = [(f"operator.rg_reach.{k}", share(reach[k]))
            for k in ("within_first_session", "within_2h", "within_24h")]
    hours = reach["hours"]
    rows.append(("operator.rg_reach.hours", f"median {hours['median']}, p75 {hours['p75']}, "
                 f"p90 {hours['p90']}, max {hours['max']}, never {hours['buckets']['never']}"))
    rows.append(("operator.rg_false_positives", share(operator["rg_false_positives"])))
    rows += [(f"operator.winback.{k}", share(win[k]))
             for k in ("churners_covered", "churners_offered", "steady_offered",
                       "offers_to_not_drifting")]
    rows.append(("operator.winback.lift", "n/a" if win["lift"] is None else f"{win['lift']:.2f}"))
    if "all_churners_covered" in win:  # evaluations written before they were measured lack them
        rows.append(("operator.winback.all_churners_covered", share(win["all_churners_covered"])))
        rows.append(("operator.winback.all_lift",
                     "n/a" if win["all_lift"] is None else f"{win['all_lift']:.2f}"))
    ex = operator["during_exclusion"]
    rows.append(("operator.during_exclusion", f"{ex['interventions']} interventions, "
                 f"{ex['reviews']} reviews"))
    for kind, doc in operator["calibration"].items():
        rows.append((f"operator.calibration.{kind}.ece",
                     "n/a" if doc["ece"] is None else f"{doc['ece']:.3f}"))
    drift = operator["drift"]
    rows.append(("operator.drift.worst", "n/a" if drift["worst"] is None else
                 f"{drift['worst']:.3f} (after {drift['warmup_days']} days' warm-up)"))
    return rows


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table.numbers { border-collapse: collapse; margin-bottom: 1.5em; }
table.numbers th { text-align: left; font-weight: normal; padding: 2px 12px 2px 0; }
table.numbers td { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 2em 0; } figcaption { color: #555; font-size: 0.9em; }
img { max-width: 100%; }
"""


def render_html(
    run_dir: Path,
    summary: dict[str, Any],
    figures: list[ReportFigure],
    evaluation: dict[str, Any] | None = None,
) -> str:
    """Return the report page, with every figure embedded as a base64 PNG."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Pitboss run report: {html.escape(run_dir.name)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Pitboss run report: {html.escape(str(run_dir))}</h1>",
        "<h2>Key numbers (summary.json)</h2>",
        _numbers_table(summary),
    ]
    if evaluation is not None:
        parts += ["<h2>Against the truth file</h2>", _evaluation_table(evaluation)]
    for fig in figures:
        data = base64.b64encode(fig.png).decode("ascii")
        parts.append(
            f"<figure id='{html.escape(fig.name)}'><h2>{html.escape(fig.heading)}</h2>"
            f"<img alt='{html.escape(fig.heading)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(fig.caption)}</figcaption></figure>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    run_dir: Path,
    truth_path: Path | None = None,
    settings: Settings | None = None,
    client: Any = None,
    dsn: str | None = None,
) -> Path:
    """Write `run_dir/report/index.html` (and the PNGs beside it); return the page's path.

    Args:
        run_dir: a replay's output directory.
        truth_path: the simulator's truth file, for the truth-based figures.
        settings: the configuration the run used (policy thresholds); defaults if None.
        client: an open client on the run's store; None opens the run's own store.
        dsn: a ClickHouse server DSN holding the run's rows, when it was not embedded.

    """
    from pitboss.replay.run_store import StoreLocation, open_store

    settings = settings or load_settings()
    summary: dict[str, Any] = orjson.loads((run_dir / "summary.json").read_bytes())
    own = client is None
    if own:
        client = open_store(
            StoreLocation.of_run(run_dir, dsn, settings.clickhouse.database))
    try:
        figures = run_figures(client, summary, settings)
        evaluation = None
        if truth_path is not None:
            extra, evaluation = truth_figures(client, truth_path, summary, settings)
            figures += extra
    finally:
        if own:
            client.close()
    out = run_dir / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    for fig in figures:
        (out / fig.name).write_bytes(fig.png)
    page = out / "index.html"
    page.write_text(render_html(run_dir, summary, figures, evaluation), encoding="utf-8")
    return page
