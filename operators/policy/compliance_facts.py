"""Durable compliance facts: what outlives recovery state and topic retention.

A player's self-exclusion, marketing consent, limits and mandatory cool-off live in the
policy shards' state, which is rebuilt from the input topics. Topics keep days, an
exclusion lasts years; so every change of these facts is also emitted as a
`ComplianceChange` (event time, one fact per row), which the outputs write to the
`compliance_state` table, and a worker reads them back at start as a `ComplianceFacts`
snapshot that the `ComplianceGate` consults next to the player's state. An external
self-exclusion register (`pitboss exclusions import`) adds `external_register` facts,
keyed by player id or by the sha256 of it (`sha256:<hex>`), as registers provide.

A fact counts from its event time on (`at_ms`): a decision at an earlier event time
does not see it, so a replay that reads the facts its own log produced decides as it
did without them. Facts are protective: an exclusion or cool-off in force in either
the state or the snapshot holds an offer back; consent comes from the state when the
state has seen a consent event, else from the snapshot.

Example:
    >>> facts = ComplianceFacts.from_changes([
    ...     ComplianceChange("p1", SELF_EXCLUSION, 1.0, INDEFINITE, 1_000, "event", "e1")])
    >>> facts.for_player("p1").excluded_at(2_000), facts.for_player("p1").excluded_at(500)
    (True, False)
    >>> facts.for_player("p2") is NO_FACTS
    True

"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from pitboss.operators.events import Consent, LimitSet, SelfExclusion
from pitboss.operators.pickling import PickledByFields
from pitboss.operators.policy.player_policy_state import (
    INDEFINITE,
    NEVER,
    UNKNOWN_CONSENT,
    PlayerPolicyState,
)

SELF_EXCLUSION = "self_exclusion"
CONSENT = "consent"
COOL_OFF = "cool_off"
EXTERNAL_REGISTER = "external_register"
LIMIT_PREFIX = "limit:"
HASHED_PREFIX = "sha256:"
"""A register's hashed identifier is stored as `sha256:` and 64 lower-case hex digits."""

__all__ = [
    "CONSENT",
    "COOL_OFF",
    "EXTERNAL_REGISTER",
    "HASHED_PREFIX",
    "INDEFINITE",
    "LIMIT_PREFIX",
    "NO_FACTS",
    "SELF_EXCLUSION",
    "ComplianceChange",
    "ComplianceFacts",
    "PlayerFacts",
    "changes_of",
    "hashed_id",
]


def hashed_id(player_id: str) -> str:
    """Return the register key of a player id: `sha256:` and the hex digest of its UTF-8 bytes.

    Example:
        >>> hashed_id("p1")[:15]
        'sha256:f64551fc'

    """
    return HASHED_PREFIX + hashlib.sha256(player_id.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ComplianceChange(PickledByFields):
    """One compliance fact of one player as of an event time: a `compliance_state` row.

    Attributes:
        player_id: the player id, or `sha256:<hex>` for a hashed register entry.
        fact: `self_exclusion`, `consent`, `cool_off`, `external_register` or
            `limit:<type>:<period>`.
        value: consent 1 or 0, a limit's amount; 1 for the others.
        until_ms: an exclusion's or cool-off's end (`INDEFINITE` for ever); 0 otherwise.
        at_ms: event time from which the fact holds (the version of the row).
        source: `event`, `intervention` or `register`.
        reference: the event id, decision id or register file that set it.

    """

    player_id: str
    fact: str
    value: float
    until_ms: int
    at_ms: int
    source: str
    reference: str


def changes_of(event: object, player_id: str, ts_ms: int, event_id: str) -> list[ComplianceChange]:
    """Return the fact a compliance event states (self-exclusion, consent, limit), if any."""
    if isinstance(event, SelfExclusion):
        until = INDEFINITE if event.until_ms is None else event.until_ms
        return [ComplianceChange(player_id, SELF_EXCLUSION, 1.0, until, ts_ms, "event", event_id)]
    if isinstance(event, Consent):
        value = 1.0 if event.marketing else 0.0
        return [ComplianceChange(player_id, CONSENT, value, 0, ts_ms, "event", event_id)]
    if isinstance(event, LimitSet):
        fact = f"{LIMIT_PREFIX}{event.limit_type}:{event.period}"
        return [ComplianceChange(player_id, fact, event.amount, 0, ts_ms, "event", event_id)]
    return []


def cool_off_change(state: PlayerPolicyState, before_ms: int, ts_ms: int,
                    decision_id: str) -> list[ComplianceChange]:
    """Return the cool-off fact if a decision moved the state's cool-off end past `before_ms`."""
    if state.cool_off_until_ms == before_ms:
        return []
    return [ComplianceChange(state.player_id, COOL_OFF, 1.0, state.cool_off_until_ms, ts_ms,
                             "intervention", decision_id)]


@dataclass(frozen=True, slots=True)
class PlayerFacts:
    """One player's durable facts, each as `(at_ms, value)`; read only by the gate.

    Attributes:
        excluded: `(at, until)` of the latest self-exclusion, or None.
        consent: `(at, 1 or 0)` of the latest consent, or None.
        cool_off: `(at, until)` of the latest cool-off, or None.
        registered_at: since when the player is on an external register, or None.
        limits: `limit:<type>:<period>` -> `(at, amount)`.

    """

    excluded: tuple[int, int] | None = None
    consent: tuple[int, int] | None = None
    cool_off: tuple[int, int] | None = None
    registered_at: int | None = None
    limits: Mapping[str, tuple[int, float]] = field(default_factory=dict)

    def excluded_at(self, ts_ms: int) -> bool:
        """Return whether a durable self-exclusion is in force at `ts_ms`."""
        return self.excluded is not None and self.excluded[0] <= ts_ms < self.excluded[1]

    def consent_at(self, ts_ms: int) -> int:
        """Return the durable consent known at `ts_ms`: 1, 0, or -1 (none)."""
        if self.consent is None or self.consent[0] > ts_ms:
            return UNKNOWN_CONSENT
        return self.consent[1]

    def cool_off_until(self, ts_ms: int) -> int:
        """Return the end of a cool-off known at `ts_ms` (`NEVER` if none)."""
        if self.cool_off is None or self.cool_off[0] > ts_ms:
            return NEVER
        return self.cool_off[1]

    def registered(self, ts_ms: int) -> bool:
        """Return whether the player is on an external self-exclusion register at `ts_ms`."""
        return self.registered_at is not None and self.registered_at <= ts_ms


NO_FACTS = PlayerFacts()
"""The facts of a player the store knows nothing about."""


def _player_facts(rows: dict[str, ComplianceChange]) -> PlayerFacts:
    """Fold one player's latest row per fact into `PlayerFacts`."""
    def until(fact: str) -> tuple[int, int] | None:
        row = rows.get(fact)
        return None if row is None else (row.at_ms, row.until_ms)

    consent = rows.get(CONSENT)
    register = rows.get(EXTERNAL_REGISTER)
    limits = {fact: (row.at_ms, row.value) for fact, row in rows.items()
              if fact.startswith(LIMIT_PREFIX)}  # fmt: skip
    return PlayerFacts(
        excluded=until(SELF_EXCLUSION),
        consent=None if consent is None else (consent.at_ms, int(consent.value >= 1.0)),
        cool_off=until(COOL_OFF),
        registered_at=None if register is None else register.at_ms,
        limits=limits,
    )


class ComplianceFacts:
    """A snapshot of the durable facts, keyed by player id (or hashed id), read at start.

    Args:
        players: each player's (or hashed id's) facts.

    """

    def __init__(self, players: Mapping[str, PlayerFacts] | None = None) -> None:
        self.players: dict[str, PlayerFacts] = dict(players or {})
        self._hashed = any(key.startswith(HASHED_PREFIX) for key in self.players)

    @classmethod
    def from_changes(cls, changes: Iterable[ComplianceChange]) -> ComplianceFacts:
        """Return the snapshot of the latest change per player and fact (by event time).

        Of two changes with the same event time, the later in `changes` wins, as in a
        `ReplacingMergeTree` read with `FINAL`.
        """
        latest: dict[str, dict[str, ComplianceChange]] = {}
        for change in changes:
            facts = latest.setdefault(change.player_id, {})
            known = facts.get(change.fact)
            if known is None or change.at_ms >= known.at_ms:
                facts[change.fact] = change
        return cls({player: _player_facts(rows) for player, rows in latest.items()})

    def __len__(self) -> int:
        """Return how many players (or hashed ids) have facts."""
        return len(self.players)

    def for_player(self, player_id: str) -> PlayerFacts:
        """Return the player's facts, with a hashed register entry of the id folded in."""
        facts = self.players.get(player_id, NO_FACTS)
        if not self._hashed or facts.registered_at is not None:
            return facts
        hashed = self.players.get(hashed_id(player_id))
        if hashed is None or hashed.registered_at is None:
            return facts
        return PlayerFacts(facts.excluded, facts.consent, facts.cool_off, hashed.registered_at,
                           facts.limits)

    def __reduce__(self) -> tuple[type[ComplianceFacts], tuple[dict[str, PlayerFacts]]]:
        return (ComplianceFacts, (self.players,))


EMPTY_FACTS = ComplianceFacts()
"""No durable facts: what a run sees when its store holds none."""


class DeferredFacts(ComplianceFacts):
    """Compliance facts read on first use, by `load`, instead of when the flow is built.

    Processes other than the first of a cluster use it: the first reads the store
    (and brings its tables up to date) before it joins the cluster, and no process
    decides anything before the cluster has formed, so a read at first use sees what
    the first process saw.

    Args:
        load: returns the snapshot; called once, at the first lookup.

    Example:
        >>> calls = []
        >>> facts = DeferredFacts(lambda: calls.append(1) or ComplianceFacts())
        >>> calls
        []
        >>> len(facts), len(facts), calls
        (0, 0, [1])

    """

    def __init__(self, load: Callable[[], ComplianceFacts]) -> None:
        self._load: Callable[[], ComplianceFacts] | None = load
        self._loading = threading.Lock()  # worker threads of one process share it

    def __getattr__(self, name: str) -> object:
        """Load the snapshot the first time its contents are looked at."""
        if name not in ("players", "_hashed") or "_loading" not in self.__dict__:
            raise AttributeError(name)
        with self._loading:
            if self._load is not None:
                loaded = self._load()
                self.players, self._hashed, self._load = loaded.players, loaded._hashed, None
        return self.__dict__[name]
