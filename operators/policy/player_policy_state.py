"""What the policy remembers about one player between scoring points.

It lives in the player's shard state, so it is small and picklable: a few ints and
floats plus two short lists (offers of the last days, open reviews). Times are epoch
milliseconds of event time; `NEVER` marks "not yet". The engine updates it; the
compliance gate only reads it.

Example:
    >>> state = PlayerPolicyState("p1")
    >>> state.excluded_at(0), state.rg_level
    (False, -1)

"""

from __future__ import annotations

from dataclasses import dataclass, field

from pitboss.operators.pickling import PickledByFields

NEVER = -(2**62)
INDEFINITE = 2**62
UNKNOWN_CONSENT = -1


@dataclass(slots=True)
class OpenReview(PickledByFields):
    """A review sent to humans and not yet answered."""

    decision_id: str
    action: str
    raised_ms: int


@dataclass(slots=True)
class PlayerPolicyState(PickledByFields):
    """A player's policy memory: compliance facts, the ladder position, offers, reviews.

    Attributes:
        consent: latest marketing consent seen in an event: 1, 0 or -1 (never seen).
        excluded_until_ms: self-excluded until then (`INDEFINITE` for ever, `NEVER` none).
        rg_level: ladder rung of the last intervention, -1 before any.
        rg_last_ms: event time of the last intervention.
        rg_last_risk: risk score at the last intervention.
        rg_last_markers: markers met at the last intervention.
        offer_block_until_ms: offers blocked until then (RG flag).
        churn_last: churn score at the previous point (to see churn rising).
        offers: (event time, action) of offers issued within the last days.
        reviews: open reviews, at most one per review action.
        rg_review_last_ms: when the last `rg_review` was raised.
        fraud_review_last_ms: when the last `fraud_review` was raised.
        cool_off_until_ms: an approved mandatory cool-off runs until then.
        hold_until_ms: an approved withdrawal and bonus hold runs until then.

    """

    player_id: str
    consent: int = UNKNOWN_CONSENT
    excluded_until_ms: int = NEVER
    rg_level: int = -1
    rg_last_ms: int = NEVER
    rg_last_risk: float = 0.0
    rg_last_markers: int = 0
    offer_block_until_ms: int = NEVER
    churn_last: float = 0.0
    offers: list[tuple[int, str]] = field(default_factory=list)
    reviews: list[OpenReview] = field(default_factory=list)
    rg_review_last_ms: int = NEVER
    fraud_review_last_ms: int = NEVER
    cool_off_until_ms: int = NEVER
    hold_until_ms: int = NEVER

    def excluded_at(self, ts_ms: int) -> bool:
        """Return whether a self-exclusion is in force at `ts_ms`."""
        return self.excluded_until_ms > ts_ms

    def open_review(self, action: str, ts_ms: int, expiry_ms: int) -> OpenReview | None:
        """Return the unanswered, unexpired review of `action` at `ts_ms`, if any."""
        for review in self.reviews:
            if review.action == action and ts_ms - review.raised_ms < expiry_ms:
                return review
        return None

    def review_by_id(self, decision_id: str) -> OpenReview | None:
        """Return the open review with this decision id, if any."""
        for review in self.reviews:
            if review.decision_id == decision_id:
                return review
        return None

    def offers_since(self, since_ms: int, action: str | None = None) -> int:
        """Count offers issued after `since_ms`, of `action` only when given."""
        return sum(1 for ts, act in self.offers if ts > since_ms and action in (None, act))
