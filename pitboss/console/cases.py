"""One view of review cases over the store and the live feed, whichever the console has.

The store (ClickHouse) knows everything the worker wrote: reviews, their `approved`
or `denied` rows, every decision and the player's timeline. The live feed (Kafka)
knows what happened since: new reviews, verdicts on the outcomes topic (from this
console or elsewhere) and the actions the worker finalised. `CaseBook` merges them:
a review is open when neither source has an answer for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pitboss.console.feed import LiveFeed, SeenVerdict
from pitboss.console.store import (
    QUEUE_PAGE,
    CaseStore,
    DecisionRow,
    PlayerStory,
    QueueFilter,
    Review,
    rows_of,
)

_ANSWER_STATUSES = ("approved", "denied")


@dataclass(frozen=True, slots=True)
class Queue:
    """The queue page's content: a page of open reviews, counts by status, filter values, now."""

    reviews: tuple[Review, ...]
    counts: dict[str, int]
    facets: dict[str, list[str]]
    as_of: datetime | None
    page: int = 0
    has_next: bool = False

    @property
    def first_number(self) -> int:
        """The position in the queue of the page's first review (1 for the oldest)."""
        return self.page * QUEUE_PAGE + 1


@dataclass(frozen=True, slots=True)
class Case:
    """What a case page shows: the review, where it stands, the player's story (if stored)."""

    review: Review
    state: CaseState
    story: PlayerStory | None


@dataclass(frozen=True, slots=True)
class CaseState:
    """Where one review stands: open, answered (and by whom), and what the worker finalised."""

    status: str
    reviewer: str
    verdict_seen: SeenVerdict | None
    finalised: tuple[dict[str, Any], ...]
    rows: tuple[DecisionRow, ...]

    @property
    def is_open(self) -> bool:
        """True while no verdict is known for the review from either source."""
        return self.status == "open"


class CaseBook:
    """Reviews and stories from the store and/or the live feed (at least one of them).

    Args:
        store: the ClickHouse store, or None for a console on the live topics only.
        feed: the live feed, or None for a read-only console over a replay's store.

    """

    def __init__(self, store: CaseStore | None, feed: LiveFeed | None) -> None:
        if store is None and feed is None:
            raise ValueError("a console needs a store, a live feed or both")
        self.store = store
        self.feed = feed

    def queue(self, wanted: QueueFilter, page: int = 0) -> Queue:
        """Return a page of open reviews (filtered), counts by status, facets and the now.

        Args:
            wanted: the filter and order.
            page: which page of `QUEUE_PAGE` reviews (0: the first).

        """
        reviews: dict[str, Review] = {}
        counts = {"open": 0, "approved": 0, "denied": 0, "all": 0}
        facets: dict[str, list[str]] = {"action": [], "jurisdiction": [], "severity": []}
        as_of = None
        answered = self.feed.answered() if self.feed is not None else set()
        end = (page + 1) * QUEUE_PAGE
        if self.store is not None:
            # One more than the page, and as many as the feed may have answered since.
            wanted_rows = end + 1 + len(answered)
            reviews = {r.decision_id: r for r in self.store.open_reviews(wanted, wanted_rows)}
            summary = self.store.queue_summary()
            counts, facets, as_of = summary.counts, summary.facets, summary.newest
        if self.feed is not None:
            from_feed = self.feed.open_reviews()
            reviews.update((r.decision_id, r) for r in from_feed if _matches(r, wanted))
            reviews = {k: r for k, r in reviews.items() if k not in answered}
            for review in from_feed:
                for name in ("action", "jurisdiction", "severity"):
                    value = getattr(review, name)
                    if value not in facets[name]:
                        facets[name] = sorted([*facets[name], value])
            if self.store is None:
                counts = self.feed.counts()
        ordered = sorted(reviews.values(), key=lambda r: r.decision_id)
        ordered.sort(key=lambda r: r.decided_at, reverse=wanted.sort == "newest")
        return Queue(tuple(ordered[page * QUEUE_PAGE:end]), counts, facets, as_of, page,
                     has_next=len(ordered) > end)

    def case(self, decision_id: str) -> Case | None:
        """Return the review, where it stands and the player's story; None if unknown.

        With a store, the player's audit rows are read once and serve all three.
        """
        if self.store is None:
            review = self.review(decision_id)
            return None if review is None else Case(review, self.state(decision_id), None)
        player = self.store.player_of(decision_id)
        decisions = self.store.player_decisions(player) if player is not None else []
        rows = rows_of(decision_id, decisions)
        review = _review_in(decision_id, rows) or (
            self.feed.review(decision_id) if self.feed is not None else None)
        if review is None:
            return None
        story = self.store.player_story(review.player_id,
                                        decisions if player == review.player_id else None)
        return Case(review, self._state(decision_id, tuple(rows)), story)

    def review(self, decision_id: str) -> Review | None:
        """Return the review with this decision id, from the store or the feed."""
        if self.store is not None:
            review = _review_in(decision_id, self.store.decision_rows(decision_id))
            if review is not None:
                return review
        return self.feed.review(decision_id) if self.feed is not None else None

    def state(self, decision_id: str) -> CaseState:
        """Return where the review stands, from the store's rows and the feed."""
        rows = tuple(self.store.decision_rows(decision_id)) if self.store is not None else ()
        return self._state(decision_id, rows)

    def _state(self, decision_id: str, rows: tuple[DecisionRow, ...]) -> CaseState:
        answer = next((r for r in rows if r["decision_id"] == decision_id
                       and r["status"] in _ANSWER_STATUSES), None)  # fmt: skip
        seen = self.feed.verdict_for(decision_id) if self.feed is not None else None
        finalised = tuple(self.feed.finalised_for(decision_id)) if self.feed is not None else ()
        if answer is not None:
            return CaseState(answer["status"], answer["reviewer"], seen, finalised, rows)
        if finalised:
            return CaseState("approved", seen.reviewer if seen else "", seen, finalised, rows)
        if seen is not None:
            status = "approve sent" if seen.verdict == "approve" else "deny sent"
            return CaseState(status, seen.reviewer, seen, finalised, rows)
        return CaseState("open", "", None, finalised, rows)

    def story(self, player_id: str) -> PlayerStory | None:
        """Return the player's story from the store (None on a console without one)."""
        return self.store.player_story(player_id) if self.store is not None else None

    def live_actions(self, player_id: str) -> list[dict[str, Any]]:
        """Return the player's action records read off the topics (empty without a feed)."""
        return self.feed.player_actions(player_id) if self.feed is not None else []


def _review_in(decision_id: str, rows: list[DecisionRow]) -> Review | None:
    """Return the review among a case's rows (its `pending_review` or `emitted` row)."""
    for row in rows:
        if row["kind"] == "review" and row["decision_id"] == decision_id \
                and row["status"] in ("pending_review", "emitted"):
            return _review_of_row(row)
    return None


def _matches(review: Review, wanted: QueueFilter) -> bool:
    if wanted.player and wanted.player.casefold() not in review.player_id.casefold():
        return False
    return all(not getattr(wanted, name) or getattr(wanted, name) == getattr(review, name)
               for name in ("action", "jurisdiction", "severity"))  # fmt: skip


def _review_of_row(row: DecisionRow) -> Review:
    return Review(
        decision_id=row["decision_id"], player_id=row["player_id"], action=row["action"],
        severity=row["severity"], jurisdiction=row["jurisdiction"],
        decided_at=row["decided_at"], reasons=tuple(row["reasons"]),
        scores={"risk": row["score_risk"], "fraud": row["score_fraud"],
                "churn": row["score_churn"]},
        proposed_action=row["proposed_action"], features=dict(row["features"]),
    )  # fmt: skip
