"""Read a run's ClickHouse store into plain rows: the facts reports and evaluations work on.

Every reader here takes an open `clickhouse_connect` client whose default database
is the run's (see `pitboss.replay.run_store`), runs one query against the ReplacingMergeTree
tables with `FINAL` (so rows rewritten by a resume count once) and returns frozen
dataclasses or small dicts. Times come back as epoch milliseconds of event time.
Nothing here knows about charts or truth files: `pitboss.replay.analysis.report`,
`replay.analysis.evaluation_truth` and `replay.analysis.compare` build on these rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client

ACTED_STATUSES = ("emitted", "shadow")
"""Statuses of a decision that reached (or, in shadow mode, would have reached) the player."""


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One row of the `decisions` audit table, the fields reports and evaluations use."""

    decision_id: str
    player_id: str
    kind: str
    action: str
    severity: str
    status: str
    suppressed_by: str
    decided_at_ms: int
    jurisdiction: str
    reasons: tuple[str, ...]
    score_churn: float
    score_risk: float
    score_fraud: float
    offer_type: str
    offer_value: float
    offer_currency: str

    @property
    def acted(self) -> bool:
        """Whether the decision reached the player (or would have, in shadow mode)."""
        return self.status in ACTED_STATUSES


@dataclass(frozen=True, slots=True)
class ScorePoint:
    """A player's three champion scores at one scoring point."""

    player_id: str
    scored_at_ms: int
    jurisdiction: str
    churn: float
    risk: float
    fraud: float


def read_decisions(client: Client) -> list[DecisionRow]:
    """Return every decision row (all statuses), in time order."""
    rows = client.query(
        "SELECT decision_id, player_id, kind, action, severity, status, suppressed_by,"
        " toUnixTimestamp64Milli(decided_at), jurisdiction, reasons, score_churn, score_risk,"
        " score_fraud, offer_type, offer_value, offer_currency"
        " FROM decisions FINAL ORDER BY decided_at, decision_id, status"
    ).result_rows
    return [
        DecisionRow(
            str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]),
            int(r[7]), str(r[8]), tuple(r[9]), float(r[10]), float(r[11]), float(r[12]),
            str(r[13]), float(r[14]), str(r[15]),
        )
        for r in rows
    ]


def read_scores_above(client: Client, risk_min: float, fraud_min: float) -> list[ScorePoint]:
    """Return the scoring points where risk >= `risk_min` or fraud >= `fraud_min`, in time order.

    The callers apply per-jurisdiction thresholds; passing the lowest of them keeps
    the transfer small however many points the run scored.
    """
    rows = client.query(
        "SELECT player_id, toUnixTimestamp64Milli(scored_at), jurisdiction, churn, risk, fraud"
        " FROM player_scores FINAL WHERE risk >= {r:Float64} OR fraud >= {f:Float64}"
        " ORDER BY scored_at, player_id",
        parameters={"r": risk_min, "f": fraud_min},
    ).result_rows
    return [
        ScorePoint(str(r[0]), int(r[1]), str(r[2]), float(r[3]), float(r[4]), float(r[5]))
        for r in rows
    ]


def scored_players(client: Client) -> set[str]:
    """Return the players that have at least one scoring point."""
    rows = client.query("SELECT DISTINCT player_id FROM player_scores").result_rows
    return {str(r[0]) for r in rows}


def marketing_consents(client: Client) -> dict[str, int]:
    """Return when each player who accepts marketing gave their consent (epoch ms).

    From the durable compliance facts (`compliance_state`): the newest `consent` fact of a
    player, kept when it accepts marketing (a later refusal replaces it). These are the
    `consent` events of the run's own input, not a decision of the run.
    """
    rows = client.query(
        "SELECT player_id, toUnixTimestamp64Milli(at) FROM compliance_state FINAL"
        " WHERE fact = 'consent' AND value = 1"
    ).result_rows
    return {str(r[0]): int(r[1]) for r in rows}


def progressive_auc(client: Client) -> dict[str, dict[str, float | int]]:
    """Return each model's progressive ROC AUC, label-weighted over hours.

    Returns:
        `{"churn/champion": {"roc_auc": 0.71, "labels": 204, "hours": 22}, ...}`: the
        mean of the hourly `roc_auc` rows weighted by their label count `n`; only
        hours with both classes have a `roc_auc` row.

    """
    rows = client.query(
        "SELECT model_kind, role, sum(value * n) / sum(n), sum(n), count()"
        " FROM model_metrics FINAL WHERE metric = 'roc_auc' AND n > 0"
        " GROUP BY model_kind, role ORDER BY model_kind, role"
    ).result_rows
    return {
        f"{r[0]}/{r[1]}": {
            "roc_auc": round(float(r[2]), 4), "labels": int(r[3]), "hours": int(r[4])}
        for r in rows
    }


def metric_series(client: Client, metric: str, role: str = "champion") -> dict[str, list[Any]]:
    """Return one metric's hourly values per model kind: `{kind: [(hour_ms, value, n), ...]}`."""
    rows = client.query(
        "SELECT model_kind, toUnixTimestamp(hour) * 1000, value, n FROM model_metrics FINAL"
        " WHERE metric = {m:String} AND role = {r:String} ORDER BY model_kind, hour",
        parameters={"m": metric, "r": role},
    ).result_rows
    series: dict[str, list[Any]] = {}
    for kind, hour_ms, value, n in rows:
        series.setdefault(str(kind), []).append((int(hour_ms), float(value), int(n)))
    return series


def hourly_activity(client: Client) -> list[tuple[int, float, int]]:
    """Return `(hour_ms, bets, betting_players)` per hour of event time, from feature rows.

    Bets in an hour are the rise of each player's `lifetime_bets` between their last
    snapshots, attributed to the hour of the snapshot that first counted them (rows
    come at session end and at least hourly while a player is active).
    """
    rows = client.query(
        "SELECT toUnixTimestamp(hour) * 1000, sum(bets), countIf(bets > 0) FROM ("
        "  SELECT player_id, toStartOfHour(as_of) AS hour,"
        "   max(lifetime_bets) - min(prev) AS bets FROM ("
        "    SELECT player_id, as_of, lifetime_bets, lagInFrame(lifetime_bets, 1, 0) OVER"
        "     (PARTITION BY player_id ORDER BY as_of"
        "      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS prev"
        "    FROM player_features FINAL ORDER BY player_id, as_of)"
        "  GROUP BY player_id, hour)"
        " GROUP BY hour ORDER BY hour"
    ).result_rows
    return [(int(r[0]), float(r[1]), int(r[2])) for r in rows]


def score_samples(client: Client, per_kind: int = 20_000) -> dict[str, list[float]]:
    """Return up to `per_kind` champion scores of each kind, sampled evenly by row order."""
    total = int(client.query("SELECT count() FROM player_scores").result_rows[0][0])
    step = max(1, total // per_kind)
    rows = client.query(
        "SELECT churn, risk, fraud FROM player_scores"
        " WHERE cityHash64(player_id, scored_at) % {s:UInt64} = 0",
        parameters={"s": step},
    ).result_rows
    return {
        "churn": [float(r[0]) for r in rows],
        "risk": [float(r[1]) for r in rows],
        "fraud": [float(r[2]) for r in rows],
    }


def score_rows(client: Client, limit: int = 300_000) -> list[ScorePoint]:
    """Return champion scoring points, all of them or an even sample of about `limit`.

    The sample is by a hash of (player, time), so it is the same on every read.
    """
    total = int(client.query("SELECT count() FROM player_scores FINAL").result_rows[0][0])
    step = max(1, -(-total // limit))
    rows = client.query(
        "SELECT player_id, toUnixTimestamp64Milli(scored_at), jurisdiction, churn, risk, fraud"
        " FROM player_scores FINAL WHERE cityHash64(player_id, scored_at) % {s:UInt64} = 0"
        " ORDER BY scored_at, player_id",
        parameters={"s": step},
    ).result_rows
    return [
        ScorePoint(str(r[0]), int(r[1]), str(r[2]), float(r[3]), float(r[4]), float(r[5]))
        for r in rows
    ]


def daily_mean_scores(
    client: Client, players: list[str]
) -> list[tuple[int, int, dict[str, float]]]:
    """Return `(day_ms, points, {"churn", "risk", "fraud"} means)` of `players`' scoring points.

    Days are UTC days of event time; only days on which one of `players` was scored.
    """
    rows = client.query(
        "SELECT toUnixTimestamp(toStartOfDay(scored_at)) * 1000, count(),"
        " avg(churn), avg(risk), avg(fraud) FROM player_scores FINAL"
        " WHERE has({p:Array(String)}, player_id) GROUP BY 1 ORDER BY 1",
        parameters={"p": players},
    ).result_rows
    return [(int(r[0]), int(r[1]), {"churn": float(r[2]), "risk": float(r[3]),
                                     "fraud": float(r[4])}) for r in rows]
