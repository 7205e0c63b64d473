"""Shadow before live: replay one log under two configurations and compare what each decided.

`run_compare(log, (config_a, config_b), out_dir)` replays the log twice, into
`OUT/a` and `OUT/b`, whose rows share one embedded chDB directory (`OUT/clickhouse`,
databases `pitboss_a` and `pitboss_b`: chDB allows one data path per process);
each run directory gets a `store.json` pointing there, so `pitboss report OUT/a`
works as for any run. It then reads both stores and returns a `Comparison`:
a side-by-side table (decisions by kind and action, offers and their value,
suppressions by rule, and with a truth file RG detection rate and latency, false
positives and offers to protected players) and a sample of players whose outcome
differs, with both sides' decisions explained (status, rule, reasons, scores).
`comparison_html` renders it; `OUT/comparison.html` and `OUT/comparison.json`
are written by the command.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from pitboss.config.settings import Settings, load_settings
from pitboss.replay.analysis.evaluation_truth import (
    evaluate,
    load_truth,
    lowest_thresholds,
    policy_of,
)
from pitboss.replay.analysis.run_facts import (
    DecisionRow,
    progressive_auc,
    read_decisions,
    read_scores_above,
)
from pitboss.replay.run_store import StoreLocation, open_store
from pitboss.sinks.clickhouse_client import open_client

AUDIT_ONLY = ("pending_review", "approved", "denied")
SIDES = ("a", "b")


@dataclass(frozen=True)
class Side:
    """One configuration's run: its name, config file, run directory and what it decided."""

    name: str
    config: Path | None
    run_dir: Path
    policy_version: str
    summary: dict[str, Any]
    decisions: list[DecisionRow]
    evaluation: dict[str, Any] | None = None


@dataclass(frozen=True)
class Explanation:
    """Why one side did or did not act on a player: the decision row, or the scores then."""

    status: str
    action: str
    decided_at: str
    reasons: tuple[str, ...]
    scores: dict[str, float]
    offer_value: float = 0.0


@dataclass(frozen=True)
class PlayerDiff:
    """A player whose acted decisions differ between the sides, explained on both."""

    player_id: str
    outcome_a: tuple[str, ...]
    outcome_b: tuple[str, ...]
    a: Explanation
    b: Explanation


@dataclass
class Comparison:
    """The side-by-side table and the sample of players whose outcome differs."""

    names: tuple[str, str]
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    players_differing: int = 0
    sample: list[PlayerDiff] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the comparison as a JSON-ready document."""
        return {
            "names": list(self.names),
            "rows": [list(r) for r in self.rows],
            "players_differing": self.players_differing,
            "sample": [asdict(d) for d in self.sample],
        }


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _counts(side: Side) -> dict[str, Any]:
    acted = [d for d in side.decisions if d.acted]
    offers = [d for d in acted if d.kind == "offer"]
    out: dict[str, Any] = {"policy version": side.policy_version}
    for kind in ("intervention", "review", "offer"):
        out[f"{kind}s acted (emitted or shadow)"] = sum(d.kind == kind for d in acted)
    for (kind, action), n in sorted(Counter((d.kind, d.action) for d in acted).items()):
        out[f"  {kind}: {action}"] = n
    out["offer value (policy currency)"] = round(sum(d.offer_value for d in offers), 2)
    for status, n in sorted(Counter(d.status for d in side.decisions).items()):
        out[f"decision rows: {status}"] = n
    for rule, n in sorted(Counter(
            d.suppressed_by for d in side.decisions if d.status == "suppressed").items()):
        out[f"suppressed by {rule}"] = n
    return out


def _truth_counts(evaluation: dict[str, Any]) -> dict[str, Any]:
    def share(v: dict[str, Any]) -> str:
        return f"{v['count']} of {v['of']}" + ("" if v["share"] is None else f" ({v['share']:.1%})")
    rg, fraud, offers = evaluation["rg"], evaluation["fraud"], evaluation["offers"]
    return {
        f"RG detection: harmed with RG action within {evaluation['window_h']} h":
            share(rg["harmed_intervened_in_window"]),
        "RG latency median (h)": evaluation["latency_h"]["harmed"]["median"],
        "false positives: never-harmed with medium/high RG action":
            share(rg["never_harmed_medium_high"]),
        "fraud: reviewed before cash-out": share(fraud["reviewed_before_withdrawal"]),
        "false positives: non-fraudsters sent to fraud review":
            share(fraud["non_fraudsters_reviewed"]),
        "offers per 1,000 players": offers["per_1000_players"],
        "offers to protected players (must be 0)": offers["to_protected"],
    }


def table_rows(a: Side, b: Side) -> list[tuple[str, str, str]]:
    """Return `(measure, value a, value b)` rows; measures missing on one side show 0."""
    ca, cb = _counts(a), _counts(b)
    if a.evaluation is not None and b.evaluation is not None:
        ca.update(_truth_counts(a.evaluation))
        cb.update(_truth_counts(b.evaluation))
    keys = sorted(dict.fromkeys([*ca, *cb]), key=_row_order([*ca, *cb]))
    return [(k, _fmt(ca.get(k, 0)), _fmt(cb.get(k, 0))) for k in keys]


_SECTIONS = ("policy", "interventions", "reviews", "offers", "  ", "offer value", "decision rows",
             "suppressed by")


def _row_order(seen: list[str]) -> Any:
    """Order rows by section, then first appearance: a side's extra rule joins its section."""
    first = {k: i for i, k in reversed(list(enumerate(seen)))}

    def key(measure: str) -> tuple[int, int]:
        section = next((i for i, s in enumerate(_SECTIONS) if measure.startswith(s)),
                       len(_SECTIONS))
        return section, first[measure]
    return key


def _outcomes(side: Side) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for d in side.decisions:
        if d.acted:
            out.setdefault(d.player_id, set()).add(f"{d.kind}:{d.action}")
    return out


def _scores_at(client: Client, player_id: str, ts_ms: int) -> dict[str, float]:
    rows = client.query(
        "SELECT churn, risk, fraud FROM player_scores FINAL WHERE player_id = {p:String}"
        " AND toUnixTimestamp64Milli(scored_at) <= {t:Int64} ORDER BY scored_at DESC LIMIT 1",
        parameters={"p": player_id, "t": ts_ms},
    ).result_rows
    return dict(zip(("churn", "risk", "fraud"), map(float, rows[0]), strict=True)) if rows else {}


def _explain(side: Side, client: Client, player_id: str, key: str, at_ms: int) -> Explanation:
    """Explain `side`'s handling of `key` (kind:action) for a player, around `at_ms`."""
    from pitboss.operators.policy.actions import rfc3339_ms

    rows = [d for d in side.decisions if d.player_id == player_id
            and f"{d.kind}:{d.action}" == key and d.status not in AUDIT_ONLY]
    if rows:
        d = min(rows, key=lambda r: (not r.acted, abs(r.decided_at_ms - at_ms)))
        status = d.status + (f" by {d.suppressed_by}" if d.suppressed_by else "")
        return Explanation(status, d.action, rfc3339_ms(d.decided_at_ms), d.reasons,
                           {"churn": d.score_churn, "risk": d.score_risk,
                            "fraud": d.score_fraud}, d.offer_value)
    return Explanation("no such decision (scores at the time shown)", key.split(":")[1],
                       rfc3339_ms(at_ms), (), _scores_at(client, player_id, at_ms))


def differing_players(
    a: Side, b: Side, client_a: Client, client_b: Client, sample: int = 10
) -> tuple[int, list[PlayerDiff]]:
    """Return how many players' acted decisions differ, and up to `sample` of them explained.

    The sample takes players in turn from each differing (kind, action), so one
    frequent difference does not hide the others; within one, by player id.
    """
    oa, ob = _outcomes(a), _outcomes(b)
    by_key: dict[str, list[str]] = {}
    players = sorted(set(oa) | set(ob))
    differing = [p for p in players if oa.get(p, set()) != ob.get(p, set())]
    for p in differing:
        key = sorted(oa.get(p, set()) ^ ob.get(p, set()))[0]
        by_key.setdefault(key, []).append(p)
    chosen: list[tuple[str, str]] = []
    queues = [list(v) for _, v in sorted(by_key.items())]
    keys = sorted(by_key)
    while len(chosen) < sample and any(queues):
        for key, queue in zip(keys, queues, strict=True):
            if queue and len(chosen) < sample:
                chosen.append((queue.pop(0), key))
    diffs = []
    for player, key in chosen:
        at = min(d.decided_at_ms for d in (*a.decisions, *b.decisions)
                 if d.player_id == player and d.acted and f"{d.kind}:{d.action}" == key)
        diffs.append(PlayerDiff(
            player, tuple(sorted(oa.get(player, set()))), tuple(sorted(ob.get(player, set()))),
            _explain(a, client_a, player, key, at), _explain(b, client_b, player, key, at)))
    return len(differing), diffs


def read_side(
    name: str, config: Path | None, run_dir: Path, client: Client, settings: Settings,
    summary: dict[str, Any], truth_path: Path | None,
) -> Side:
    """Read one side's decisions (and, with a truth file, its evaluation) from its store."""
    policy = policy_of(settings)
    decisions = read_decisions(client)
    evaluation = None
    if truth_path is not None:
        truth = load_truth(truth_path)
        risk_min, fraud_min = lowest_thresholds(
            policy, {p.jurisdiction for p in truth.players.values()})
        evaluation = evaluate(truth, decisions, read_scores_above(client, risk_min, fraud_min),
                              policy, int(summary.get("players", 0)), progressive_auc(client))
    return Side(name, config, run_dir, policy.policy_version, summary, decisions, evaluation)


def run_compare(
    log: Path,
    configs: tuple[Path | None, Path | None],
    out_dir: Path,
    truth_path: Path | None = None,
    embedded_path: Path | None = None,
    databases: tuple[str, str] = ("pitboss_a", "pitboss_b"),
    sample: int = 10,
    workers: int = 1,
) -> Comparison:
    """Replay `log` under each configuration and compare the two runs.

    Args:
        log: the recorded log to replay.
        configs: the two TOML files (None: the defaults).
        out_dir: where `a/`, `b/` and the shared chDB directory go.
        truth_path: the simulator's truth file, for detection and false-positive rows.
        embedded_path: the chDB directory both runs write to; default `out_dir/clickhouse`
            (give the process's own path when it already uses chDB).
        databases: the two database names; they are dropped and rewritten.
        sample: how many differing players to explain.
        workers: Bytewax worker threads per replay.

    """
    from pitboss.replay.runner import ClickHouseTarget, run_replay

    path = embedded_path or out_dir / "clickhouse"
    sides = []
    for name, config, database in zip(SIDES, configs, databases, strict=True):
        settings = load_settings(config)
        run_dir = out_dir / name
        location = StoreLocation(None, path, database)
        _drop(location)
        summary = run_replay([log], run_dir, settings, ClickHouseTarget(None, path, database),
                             workers)
        location.write(run_dir)
        client = open_store(location)
        sides.append((read_side(name, config, run_dir, client, settings, summary, truth_path),
                      client))
    (a, client_a), (b, client_b) = sides
    try:
        count, diffs = differing_players(a, b, client_a, client_b, sample)
    finally:
        client_a.close()
        client_b.close()
    names = (_label(a), _label(b))
    return Comparison(names, table_rows(a, b), count, diffs)


def _label(side: Side) -> str:
    return f"{side.name}: {side.config.name if side.config else 'defaults'}"


def _drop(location: StoreLocation) -> None:
    """Drop a comparison side's database, so rows of an earlier comparison cannot linger."""
    client = open_client(location.dsn, location.embedded_path, location.database)
    try:
        client.command(f"DROP DATABASE IF EXISTS {location.database}")
    finally:
        client.close()


def _explanation_html(e: Explanation) -> str:
    scores = ", ".join(f"{k} {v:.2f}" for k, v in e.scores.items()) or "no score yet"
    value = f"; offer value {e.offer_value:.2f}" if e.offer_value else ""
    return (f"<b>{html.escape(e.status)}</b> {html.escape(e.action)} at {html.escape(e.decided_at)}"
            f"<br>reasons: {html.escape(', '.join(e.reasons) or '-')}<br>scores: {scores}{value}")


def _outcome_html(outcome: tuple[str, ...]) -> str:
    return html.escape(", ".join(outcome) or "none")


def comparison_html(comparison: Comparison) -> str:
    """Return the comparison as a self-contained HTML page."""
    na, nb = (html.escape(n) for n in comparison.names)
    rows = "".join(
        f"<tr{' class=diff' if va != vb else ''}><th>{html.escape(k)}</th>"
        f"<td>{html.escape(va)}</td><td>{html.escape(vb)}</td></tr>"
        for k, va, vb in comparison.rows)
    sample = "".join(
        f"<tr><th>{html.escape(d.player_id)}</th>"
        f"<td>{_explanation_html(d.a)}<br>all actions: {_outcome_html(d.outcome_a)}</td>"
        f"<td>{_explanation_html(d.b)}<br>all actions: {_outcome_html(d.outcome_b)}</td></tr>"
        for d in comparison.sample)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Pitboss comparison</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px}"
        "table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;"
        "text-align:left;vertical-align:top}tr.diff td{background:#fff3cd}</style></head><body>"
        f"<h1>Comparison: {na} vs {nb}</h1>"
        f"<table><tr><th>measure</th><th>{na}</th><th>{nb}</th></tr>{rows}</table>"
        f"<h2>{comparison.players_differing:,} players with a different outcome; "
        f"{len(comparison.sample)} explained</h2>"
        f"<table><tr><th>player</th><th>{na}</th><th>{nb}</th></tr>{sample}</table>"
        "</body></html>"
    )
