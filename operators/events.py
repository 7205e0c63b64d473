"""Typed, validated events of contract v1 (docs/event-contract.md).

`operators.contract.EventParser.parse` turns raw message bytes into one of these classes or a
`DeadLetter`. Times are integer epoch milliseconds (UTC) of event time; money is
converted to the configured base currency (`*_base` fields) and also kept as sent.
Every class is a slotted dataclass: small, fast to build, and picklable, so it can
sit in recovery state and cross Bytewax worker boundaries.

Example:
    >>> bet = Bet(event_id="e1", event_type="bet", player_id="p1", ts_ms=0,
    ...           jurisdiction="UK", channel=None, stake=2.0, currency="EUR",
    ...           stake_base=2.0, game_id="g", game_type="slot", session_id=None,
    ...           payout_base=0.0, bonus_stake_base=0.0, bet_id=None)
    >>> bet.topic
    'bets'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from pitboss.operators.pickling import PickledByFields

GAME_TYPES = frozenset({"slot", "live_casino", "table", "sports", "crash", "poker", "other"})
CHANNELS = frozenset({"web", "mobile", "retail"})
DEPOSIT_METHODS = frozenset({"card", "ewallet", "bank_transfer", "crypto", "voucher"})
DEPOSIT_STATUSES = frozenset({"approved", "declined"})
WITHDRAWAL_STATUSES = frozenset({"requested", "completed", "cancelled"})
BONUS_TYPES = frozenset({"deposit_match", "free_spins", "cashback", "other"})
LIMIT_TYPES = frozenset({"deposit", "loss", "wager", "time"})
LIMIT_PERIODS = frozenset({"day", "week", "month"})
RG_OUTCOMES = frozenset({"harm_confirmed", "no_concern"})
VERDICTS = frozenset({"approve", "deny"})

# Limits of the contract's fields (docs/event-contract.md), checked by `pitboss.operators.contract`
# and by its typed bet path `pitboss.operators.bet_decoder`.
MAX_EVENT_ID_CHARS = 128
MAX_PLAYER_ID_CHARS = 64
MAX_TEXT_CHARS = 256
"""Upper bound for every other string field, so one message cannot bloat player state."""
MAX_JURISDICTION_CHARS = 16
# The range RFC 3339 strings can express (years 0001..9999), applied to integer ts too.
MIN_TS_MS = -62_135_596_800_000
MAX_TS_MS = 253_402_300_799_999


@dataclass(slots=True)
class Event(PickledByFields):
    """Fields common to every event of contract v1."""

    topic: ClassVar[str] = ""
    event_id: str
    event_type: str
    player_id: str
    ts_ms: int
    jurisdiction: str
    channel: str | None
    # Where the raw message came from, set by ingestion so that a later dead letter
    # (duplicate, late) can still point at its input position and raw bytes.
    source: str = field(default="", kw_only=True, repr=False, compare=False)
    position: int = field(default=-1, kw_only=True, repr=False, compare=False)
    raw: bytes = field(default=b"", kw_only=True, repr=False, compare=False)


@dataclass(slots=True)
class Bet(Event):
    """A wager; `payout_base` is None while unsettled (then `bet_id` is set)."""

    topic: ClassVar[str] = "bets"
    stake: float
    currency: str
    stake_base: float
    game_id: str
    game_type: str
    session_id: str | None
    payout_base: float | None
    bonus_stake_base: float
    bet_id: str | None


@dataclass(slots=True)
class BetSettled(Event):
    """The late settlement of an earlier unsettled bet."""

    topic: ClassVar[str] = "bets"
    bet_id: str
    payout: float
    currency: str | None
    payout_base: float


@dataclass(slots=True)
class Deposit(Event):
    """A deposit attempt into the wallet, approved or declined."""

    topic: ClassVar[str] = "deposits"
    amount: float
    currency: str
    amount_base: float
    method: str
    status: str
    instrument_id: str | None
    device_id: str | None


@dataclass(slots=True)
class Withdrawal(Event):
    """A withdrawal request, its completion, or its cancellation by the player."""

    topic: ClassVar[str] = "deposits"
    amount: float
    currency: str
    amount_base: float
    status: str


@dataclass(slots=True)
class BonusClaim(Event):
    """A bonus taken up by the player."""

    topic: ClassVar[str] = "deposits"
    bonus_id: str
    amount: float
    amount_base: float
    bonus_type: str


@dataclass(slots=True)
class SessionStart(Event):
    """A login or the start of a play session."""

    topic: ClassVar[str] = "sessions"
    session_id: str
    device_id: str | None
    ip_hash: str | None


@dataclass(slots=True)
class SessionEnd(Event):
    """A logout or the end of a play session."""

    topic: ClassVar[str] = "sessions"
    session_id: str


@dataclass(slots=True)
class LimitSet(Event):
    """A responsible-gambling limit set by the player (`amount` is minutes for `time`)."""

    topic: ClassVar[str] = "sessions"
    limit_type: str
    period: str
    amount: float


@dataclass(slots=True)
class SelfExclusion(Event):
    """A self-exclusion until `until_ms`, or indefinite when it is None."""

    topic: ClassVar[str] = "sessions"
    until_ms: int | None


@dataclass(slots=True)
class Consent(Event):
    """The player's latest choice about marketing and offers."""

    topic: ClassVar[str] = "sessions"
    marketing: bool


@dataclass(slots=True)
class Chargeback(Event):
    """A card chargeback, usually days after the deposit it reverses."""

    topic: ClassVar[str] = "outcomes"
    amount: float
    currency: str
    amount_base: float
    reference: str | None


@dataclass(slots=True)
class FraudVerdict(Event):
    """`fraud_confirmed` or `fraud_cleared` from the fraud team."""

    topic: ClassVar[str] = "outcomes"
    case_id: str | None


@dataclass(slots=True)
class RgAssessment(Event):
    """A responsible-gambling specialist's assessment of the player."""

    topic: ClassVar[str] = "outcomes"
    outcome: str


@dataclass(slots=True)
class ReviewDecision(Event):
    """A human verdict on a pending review decision."""

    topic: ClassVar[str] = "outcomes"
    decision_id: str
    verdict: str
    reviewer: str | None


EVENT_CLASSES: dict[str, type[Event]] = {
    "bet": Bet,
    "bet_settled": BetSettled,
    "deposit": Deposit,
    "withdrawal": Withdrawal,
    "bonus_claim": BonusClaim,
    "session_start": SessionStart,
    "session_end": SessionEnd,
    "limit_set": LimitSet,
    "self_exclusion": SelfExclusion,
    "consent": Consent,
    "chargeback": Chargeback,
    "fraud_confirmed": FraudVerdict,
    "fraud_cleared": FraudVerdict,
    "rg_assessment": RgAssessment,
    "review_decision": ReviewDecision,
}

TOPICS: dict[str, str] = {name: cls.topic for name, cls in EVENT_CLASSES.items()}


@dataclass(slots=True)
class DeadLetter(PickledByFields):
    """A message that was not processed, kept with a machine-readable reason.

    `reason` is a code such as `malformed_json`, `missing_field`, `duplicate` or
    `late`; `field` names the offending field where there is one. `source` and
    `position` say where the raw message came from (file and line, or topic,
    partition and offset), and `excerpt` keeps its first bytes, decoded leniently.
    """

    reason: str
    field: str | None
    event_id: str | None
    player_id: str | None
    source: str
    position: int
    excerpt: str
    detail: str = ""
