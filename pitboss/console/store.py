"""What the console reads from ClickHouse: open reviews, a player's story, one decision's rows.

Every query is read-only, bound with server-side parameters (never spliced text:
player ids are arbitrary Unicode from outside) and filters on `player_id` where it
can, since every table is ordered by it. A review is open while it has a
`pending_review` row and no `approved` or `denied` row. Ages are measured against
the store's newest feature snapshot (event time), so a replay of last year reads
the same as it did then.

The tables are ReplacingMergeTree: a replay or a resume writes identical rows again
for the same key until they merge. The console reads without `FINAL` (which merges
every part on the fly and made the queue and case pages several times slower) and
keeps one row per table key itself: `LIMIT 1 BY` in the queue, distinct counts, and
`_distinct` for a player's rows (duplicates are identical, so any one will do).
`tests/pitboss/console/test_store.py` checks every query against its `FINAL` twin.

A page costs few round trips: the queue two (the reviews; counts, filter values and
the store's now in one), a case page five, all by player but the first, which finds
the review's player (`decision_id` is in the sort key, so few granules are read).

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

QUEUE_PAGE = 50
"""Reviews per page of the queue (a specialist works from the oldest; more pages follow)."""
SEARCH_LIMIT = 50
# Columns of the feature timeline charted on the case page (docs/analysts.md).
TIMELINE_FEATURES = ("stake_24h", "net_loss_24h", "deposit_amount_24h", "session_minutes_24h")
# The queue's columns: not the feature snapshot (a map of every feature), which only the
# case page shows and which was most of what the queue's query read.
_REVIEW_COLUMNS = (
    "decision_id, player_id, action, severity, jurisdiction, decided_at, reasons, "
    "score_risk, score_fraud, score_churn, proposed_action"
)
# PREWHERE on kind and status: left to itself, ClickHouse moved `decision_id NOT IN` into
# the PREWHERE too, reading every row's decision id first (twice as slow).
_ANSWERED = ("SELECT decision_id FROM decisions PREWHERE kind = 'review' "
             "AND status IN ('approved', 'denied')")  # fmt: skip
_QUEUE_SORTS = {"oldest": "decided_at, decision_id", "newest": "decided_at DESC, decision_id"}
# The sort keys of the tables (sinks/schema): rows equal on them are one row.
_DECISION_KEY = ("decision_id", "status")
_FEATURE_KEY = ("as_of", "trigger")
_SCORE_KEY = ("scored_at", "trigger", "trigger_event_id")


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
class QueueSummary:
    """What the queue shows besides the reviews: counts by status, filter values, the now."""

    counts: dict[str, int]
    facets: dict[str, list[str]]
    newest: datetime | None


@dataclass(frozen=True, slots=True)
class PlayerStory:
    """Everything the case page shows about one player, from the store."""

    player_id: str
    decisions: tuple[DecisionRow, ...]
    features: tuple[tuple[datetime, dict[str, float]], ...]
    scores: tuple[tuple[datetime, dict[str, float]], ...]
    follow_up: tuple[dict[str, Any], ...]


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

    def open_reviews(self, wanted: QueueFilter, limit: int = QUEUE_PAGE) -> list[Review]:
        """Return the first `limit` open reviews matching the filter, oldest (or newest) first."""
        where, parameters = _queue_conditions(wanted)
        order = _QUEUE_SORTS.get(wanted.sort, _QUEUE_SORTS["oldest"])
        sql = (f"SELECT {_REVIEW_COLUMNS} FROM decisions PREWHERE kind = 'review' "
               f"AND status = 'pending_review' WHERE decision_id NOT IN ({_ANSWERED}) {where} "
               f"ORDER BY {order} LIMIT 1 BY decision_id LIMIT {int(limit)}")  # fmt: skip
        return [_review(row) for row in self._rows(sql, parameters)]

    def queue_summary(self) -> QueueSummary:
        """Return review counts by status, the values to filter on and the store's now.

        Counts: `all` (reviews raised), `approved`, `denied` and `open` (the rest).
        """
        row = self._rows(
            "SELECT uniqExactIf(decision_id, status = 'pending_review') AS all_, "
            "uniqExactIf(decision_id, status = 'approved') AS approved, "
            "uniqExactIf(decision_id, status = 'denied') AS denied, "
            "groupUniqArray(action) AS actions, groupUniqArray(jurisdiction) AS places, "
            "groupUniqArray(severity) AS severities, "
            "(SELECT max(as_of) FROM player_features) AS newest, "
            "(SELECT count() FROM player_features) AS snapshots "
            "FROM decisions PREWHERE kind = 'review'")[0]
        counts = {"all": int(row["all_"]), "approved": int(row["approved"]),
                  "denied": int(row["denied"])}  # fmt: skip
        counts["open"] = max(counts["all"] - counts["approved"] - counts["denied"], 0)
        facets = {"action": sorted(row["actions"]), "jurisdiction": sorted(row["places"]),
                  "severity": sorted(row["severities"])}  # fmt: skip
        return QueueSummary(counts, facets, row["newest"] if row["snapshots"] else None)

    def player_of(self, decision_id: str) -> str | None:
        """Return the player a decision id belongs to, or None if the store has no such id."""
        rows = self._rows("SELECT player_id FROM decisions WHERE decision_id = {d:String} "
                          "LIMIT 1", {"d": decision_id})  # fmt: skip
        return str(rows[0]["player_id"]) if rows else None

    def player_decisions(self, player_id: str) -> list[DecisionRow]:
        """Return every audit row of the player, in decision time (then id, status) order."""
        rows = _distinct(self._rows("SELECT * FROM decisions WHERE player_id = {p:String}",
                                    {"p": player_id}), _DECISION_KEY)  # fmt: skip
        rows.sort(key=lambda row: (row["decided_at"], row["decision_id"], row["status"]))
        return [DecisionRow(row) for row in rows]

    def player_story(self, player_id: str, decisions: list[DecisionRow] | None = None
                     ) -> PlayerStory:
        """Return one player's decisions, feature and score timelines and follow-ups.

        Args:
            player_id: the player.
            decisions: the player's audit rows if the caller read them already.

        """
        p = {"p": player_id}
        feature_cols = ", ".join(TIMELINE_FEATURES)
        features = _distinct(self._rows(
            f"SELECT as_of, trigger, {feature_cols} FROM player_features "
            "WHERE player_id = {p:String} ORDER BY as_of, trigger", p), _FEATURE_KEY)
        scores = _distinct(self._rows(
            "SELECT scored_at, trigger, trigger_event_id, risk, fraud, churn FROM player_scores "
            "WHERE player_id = {p:String} ORDER BY scored_at, trigger, trigger_event_id", p),
            _SCORE_KEY)  # fmt: skip
        rows = decisions if decisions is not None else self.player_decisions(player_id)
        # The follow-up view has a row per intervention or offer that reached the player
        # or was held out (sinks/schema/0009): none among the rows, no query.
        followed = any(r["kind"] in ("intervention", "offer")
                       and r["status"] in ("emitted", "shadow", "holdout") for r in rows)
        return PlayerStory(
            player_id=player_id,
            decisions=tuple(rows),
            features=tuple((r.pop("as_of"), _without(r, "trigger")) for r in features),
            scores=tuple((r.pop("scored_at"), _without(r, "trigger", "trigger_event_id"))
                         for r in scores),
            follow_up=tuple(self.follow_up(player_id)) if followed else (),
        )  # fmt: skip

    def latest_features(self, player_id: str) -> dict[str, float]:
        """Return the player's newest feature snapshot, every column.

        The newest time first (two key columns), then the row at that time: only the
        part holding it is read, instead of all ~150 columns of a granule of every part.
        """
        p = {"p": player_id}
        newest = self._rows("SELECT max(as_of) AS t, count() AS n FROM player_features "
                            "WHERE player_id = {p:String}", p)[0]  # fmt: skip
        if not newest["n"]:
            return {}
        rows = self._rows(
            "SELECT * EXCEPT (player_id, trigger, trigger_event_id, jurisdiction, as_of) "
            "FROM player_features WHERE player_id = {p:String} "
            "AND as_of = fromUnixTimestamp64Milli({t:Int64}, 'UTC') LIMIT 1",
            {**p, "t": round(newest["t"].timestamp() * 1000)})
        return {name: float(value) for name, value in rows[0].items()} if rows else {}

    def follow_up(self, player_id: str) -> list[dict[str, Any]]:
        """Return the player's rows of `intervention_follow_up` (play 7 days before and after)."""
        return self._rows(
            "SELECT * FROM intervention_follow_up WHERE player_id = {p:String} "
            "ORDER BY decided_at", {"p": player_id})

    def decision_rows(self, decision_id: str) -> list[DecisionRow]:
        """Return every audit row of one decision id, and rows that point to it."""
        player = self.player_of(decision_id)
        if player is None:
            return []
        return rows_of(decision_id, self.player_decisions(player))

    def find_players(self, text: str, limit: int = SEARCH_LIMIT) -> list[str]:
        """Return player ids containing `text` (case-insensitive), exact match first."""
        rows = self._rows(
            "SELECT player_id FROM player_scores "
            "WHERE positionCaseInsensitiveUTF8(player_id, {q:String}) > 0 "
            "GROUP BY player_id ORDER BY player_id != {q:String}, player_id "
            f"LIMIT {int(limit)}", {"q": text})
        return [row["player_id"] for row in rows]


def rows_of(decision_id: str, decisions: list[DecisionRow]) -> list[DecisionRow]:
    """Return the rows of `decision_id` among a player's rows, and the rows pointing to it.

    A finalised action points to its review (`review_decision_id`) and belongs to the
    same player, so a player's rows hold every row of the case.
    """
    return [row for row in decisions if decision_id in (row["decision_id"],
                                                         row["review_decision_id"])]


def _distinct(rows: list[dict[str, Any]], key: Sequence[str]) -> list[dict[str, Any]]:
    """Keep the first row of each key (rows written twice are identical), in order."""
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(tuple(row[k] for k in key), row)
    return list(seen.values())


def _without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        row.pop(name, None)
    return row


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
