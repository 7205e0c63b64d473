"""What the console reads from ClickHouse: open reviews, a player's story, one decision's rows.

Every query is read-only, bound with server-side parameters (never spliced text:
player ids are arbitrary Unicode from outside) and filters on `player_id` where it
can, since every table is ordered by it. A review is open while it has a
`pending_review` row and no `approved` or `denied` row. Ages are measured against
the store's newest feature snapshot (event time), so a replay of last year reads
the same as it did then.

One `CaseStore` holds one client; queries are serialised by a lock because an
embedded chDB engine is one per process and clickhouse-connect clients are not
meant to be shared by threads running queries at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clickhouse_connect.driver.client import Client

QUEUE_LIMIT = 200
SEARCH_LIMIT = 50
# Columns of the feature timeline charted on the case page (docs/analysts.md).
TIMELINE_FEATURES = ("stake_24h", "net_loss_24h", "deposit_amount_24h", "session_minutes_24h")
_REVIEW_COLUMNS = (
    "decision_id, player_id, action, severity, jurisdiction, decided_at, reasons, "
    "score_risk, score_fraud, score_churn, proposed_action, features"
)
_ANSWERED = ("SELECT decision_id FROM decisions WHERE kind = 'review' "
             "AND status IN ('approved', 'denied')")  # fmt: skip
_QUEUE_SORTS = {"oldest": "decided_at, decision_id", "newest": "decided_at DESC, decision_id"}


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What the specialist narrowed the queue to; empty strings mean any."""

    action: str = ""
    jurisdiction: str = ""
    severity: str = ""
    player: str = ""
    sort: str = "oldest"


@dataclass(frozen=True, slots=True)
class Review:
    """One review case as the queue and the case page show it."""

    decision_id: str
    player_id: str
    action: str
    severity: str
    jurisdiction: str
    decided_at: datetime
    reasons: tuple[str, ...]
    scores: dict[str, float]
    proposed_action: str
    features: dict[str, float] = field(default_factory=dict)

    @property
    def markers(self) -> tuple[str, ...]:
        """The reason codes that name a marker or a model reason (not the `<kind>_score`)."""
        return tuple(r for r in self.reasons if not r.endswith("_score"))


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One row of the audit table: a decision or one of its status changes."""

    values: dict[str, Any]

    def __getitem__(self, column: str) -> Any:
        return self.values[column]


@dataclass(frozen=True, slots=True)
class PlayerStory:
    """Everything the case page shows about one player, from the store."""

    player_id: str
    decisions: tuple[DecisionRow, ...]
    features: tuple[tuple[datetime, dict[str, float]], ...]
    scores: tuple[tuple[datetime, dict[str, float]], ...]
    follow_up: tuple[dict[str, Any], ...]
    latest_features: dict[str, float]


class CaseStore:
    """Read-only queries for the console over one ClickHouse client.

    Args:
        client: an open client on the run's database (the caller keeps it open).

    """

    def __init__(self, client: Client) -> None:
        self._client = client
        self._lock = threading.Lock()

    def _rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            result = self._client.query(sql, parameters=parameters or {},
                                        settings={"readonly": 1})  # fmt: skip
        names = result.column_names
        return [dict(zip(names, row, strict=True)) for row in result.result_rows]

    def newest_event_time(self) -> datetime | None:
        """Return the newest feature snapshot's event time: the store's "now"."""
        rows = self._rows("SELECT max(as_of) AS newest, count() AS n FROM player_features")
        return rows[0]["newest"] if rows and rows[0]["n"] else None

    def open_reviews(self, wanted: QueueFilter, limit: int = QUEUE_LIMIT) -> list[Review]:
        """Return open reviews matching the filter, oldest first (or newest first)."""
        where, parameters = _queue_conditions(wanted)
        order = _QUEUE_SORTS.get(wanted.sort, _QUEUE_SORTS["oldest"])
        sql = (f"SELECT {_REVIEW_COLUMNS} FROM decisions FINAL WHERE kind = 'review' "
               f"AND status = 'pending_review' AND decision_id NOT IN ({_ANSWERED}) {where} "
               f"ORDER BY {order} LIMIT {int(limit)}")  # fmt: skip
        return [_review(row) for row in self._rows(sql, parameters)]

    def review_counts(self) -> dict[str, int]:
        """Return review counts by status: `open`, `approved`, `denied` (and `all`)."""
        rows = self._rows(
            "SELECT countIf(status = 'pending_review') AS all_, "
            "countIf(status = 'approved') AS approved, countIf(status = 'denied') AS denied "
            "FROM decisions FINAL WHERE kind = 'review'"
        )
        row = rows[0]
        counts = {"all": int(row["all_"]), "approved": int(row["approved"]),
                  "denied": int(row["denied"])}  # fmt: skip
        counts["open"] = max(counts["all"] - counts["approved"] - counts["denied"], 0)
        return counts

    def facets(self) -> dict[str, list[str]]:
        """Return the values the queue can be filtered on: review actions, jurisdictions."""
        rows = self._rows(
            "SELECT groupUniqArray(action) AS actions, groupUniqArray(jurisdiction) AS places, "
            "groupUniqArray(severity) AS severities FROM decisions WHERE kind = 'review'"
        )
        return {"action": sorted(rows[0]["actions"]), "jurisdiction": sorted(rows[0]["places"]),
                "severity": sorted(rows[0]["severities"])}  # fmt: skip

    def player_story(self, player_id: str) -> PlayerStory:
        """Return one player's decisions, feature and score timelines and follow-ups."""
        p = {"p": player_id}
        # Sorted here: with FINAL, an ORDER BY made ClickHouse read ten times more.
        decisions = sorted(
            self._rows("SELECT * FROM decisions FINAL WHERE player_id = {p:String}", p),
            key=lambda row: (row["decided_at"], row["decision_id"], row["status"]))
        feature_cols = ", ".join(TIMELINE_FEATURES)
        features = self._rows(
            f"SELECT as_of, {feature_cols} FROM player_features FINAL "
            "WHERE player_id = {p:String} ORDER BY as_of", p)
        scores = self._rows(
            "SELECT scored_at, risk, fraud, churn FROM player_scores FINAL "
            "WHERE player_id = {p:String} ORDER BY scored_at", p)
        return PlayerStory(
            player_id=player_id,
            decisions=tuple(DecisionRow(row) for row in decisions),
            features=tuple((r.pop("as_of"), r) for r in features),
            scores=tuple((r.pop("scored_at"), r) for r in scores),
            follow_up=tuple(self.follow_up(player_id)),
            latest_features=self.latest_features(player_id),
        )

    def latest_features(self, player_id: str) -> dict[str, float]:
        """Return the player's newest feature snapshot, every column."""
        rows = self._rows(
            "SELECT * EXCEPT (player_id, trigger, trigger_event_id, jurisdiction) "
            "FROM player_features WHERE player_id = {p:String} "
            "ORDER BY as_of DESC LIMIT 1", {"p": player_id})
        if not rows:
            return {}
        rows[0].pop("as_of")
        return {name: float(value) for name, value in rows[0].items()}

    def follow_up(self, player_id: str) -> list[dict[str, Any]]:
        """Return the player's rows of `intervention_follow_up` (play 7 days before and after)."""
        return self._rows(
            "SELECT * FROM intervention_follow_up WHERE player_id = {p:String} "
            "ORDER BY decided_at", {"p": player_id})

    def decision_rows(self, decision_id: str) -> list[DecisionRow]:
        """Return every audit row of one decision id, and rows that point to it."""
        # Not by player: a full scan, so without FINAL (six times faster); rows written
        # twice (replay, resume) are identical for one (decision_id, status), kept once.
        rows = self._rows(
            "SELECT * FROM decisions WHERE decision_id = {d:String} "
            "OR review_decision_id = {d:String}", {"d": decision_id})
        distinct = {(row["decision_id"], row["status"]): row for row in rows}
        ordered = sorted(distinct.values(), key=lambda row: (row["decided_at"], row["status"]))
        return [DecisionRow(row) for row in ordered]

    def find_players(self, text: str, limit: int = SEARCH_LIMIT) -> list[str]:
        """Return player ids containing `text` (case-insensitive), exact match first."""
        rows = self._rows(
            "SELECT player_id FROM player_scores "
            "WHERE positionCaseInsensitiveUTF8(player_id, {q:String}) > 0 "
            "GROUP BY player_id ORDER BY player_id != {q:String}, player_id "
            f"LIMIT {int(limit)}", {"q": text})
        return [row["player_id"] for row in rows]


def _queue_conditions(wanted: QueueFilter) -> tuple[str, dict[str, Any]]:
    conditions, parameters = [], {}
    for column in ("action", "jurisdiction", "severity"):
        value = getattr(wanted, column)
        if value:
            conditions.append(f"AND {column} = {{{column}:String}}")
            parameters[column] = value
    if wanted.player:
        conditions.append("AND positionCaseInsensitiveUTF8(player_id, {player:String}) > 0")
        parameters["player"] = wanted.player
    return " ".join(conditions), parameters


def _review(row: dict[str, Any]) -> Review:
    return Review(
        decision_id=row["decision_id"], player_id=row["player_id"], action=row["action"],
        severity=row["severity"], jurisdiction=row["jurisdiction"],
        decided_at=row["decided_at"], reasons=tuple(row["reasons"]),
        scores={"risk": row["score_risk"], "fraud": row["score_fraud"],
                "churn": row["score_churn"]},
        proposed_action=row["proposed_action"], features=dict(row.get("features") or {}),
    )  # fmt: skip


def review_from_record(record: dict[str, Any], decided_at: datetime) -> Review:
    """Build a `Review` from an action record read off `actions.reviews` (contract JSON)."""
    scores: dict[str, Any] = record.get("scores") or {}
    reasons: Sequence[str] = record.get("reasons") or ()
    return Review(
        decision_id=str(record["decision_id"]), player_id=str(record["player_id"]),
        action=str(record.get("action", "")), severity=str(record.get("severity", "")),
        jurisdiction=str(record.get("jurisdiction", "")), decided_at=decided_at,
        reasons=tuple(str(r) for r in reasons),
        scores={k: float(scores.get(k, 0.0)) for k in ("risk", "fraud", "churn")},
        proposed_action=str(record.get("proposed_action", "")),
    )  # fmt: skip
