"""The markers of harm: one table read by the risk rule, the intervention ladder, the reasons.

Each row (`HarmMarker`) says which feature a marker reads, the linear ramp that turns
the feature into a strength in [0, 1] (0 at or below `low`, 1 at or above `high`),
the marker's weight in the risk rule's noisy-OR (`pitboss.models.rules.RiskRule`), and `met`:
the level from which the policy counts the marker as met, so that it becomes an
intervention's reason code (`marker:<name>`) and more markers met than at the last
intervention is growth on the ladder (`pitboss.operators.policy.ladder`). A `gate` makes a
share mean something only over enough bets.

The thresholds follow the behavioural markers of the responsible-gambling literature
and regulators' guidance (UK Gambling Commission customer-interaction guidance: time
and spend, patterns of play, payment behaviour; the behavioural-marker studies of
Braverman and Shaffer 2010, Gainsbury 2020 and Ukhov et al. 2021), not any simulated
population. Relative markers compare a player with their own history (EWMA baselines,
`pitboss.operators.baselines`). `config/policy.toml [markers.<name>]` overrides any field of
a row, per jurisdiction too (`[jurisdictions.<CODE>.markers.<name>]`).

Example:
    >>> from pitboss.operators.feature_schema import FEATURE_INDEX, FEATURE_NAMES
    >>> row = [0.0] * len(FEATURE_NAMES)
    >>> row[FEATURE_INDEX["withdrawals_cancelled_7d"]] = 1.0
    >>> HARM_MARKERS.strengths(row)
    [(-0.4, 'cancelled_withdrawals')]
    >>> HARM_MARKERS.met(row)
    ['cancelled_withdrawals']

"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace

from pitboss.operators.feature_schema import FEATURE_INDEX

MIN_PART = 1e-9
"""A weighted strength below this is no marker (it would not move the score in floats)."""


@dataclass(frozen=True, slots=True)
class HarmMarker:
    """One marker of harm: feature, ramp, weight, and the level the policy counts as met.

    Attributes:
        name: the reason code (`marker:<name>` in decisions).
        feature: the feature read (a name in `FEATURE_NAMES`).
        low: strength 0 at or below this.
        high: strength 1 at or above this.
        weight: the marker's weight in the risk rule (0 switches it off).
        met: the policy counts the marker as met at or above this (between low and high).
        gate: a feature that must reach `gate_min` for the marker to count at all.
        gate_min: see `gate`.
        why: one line on why these levels (documentation).

    """

    name: str
    feature: str
    low: float
    high: float
    weight: float
    met: float
    gate: str | None = None
    gate_min: float = 0.0
    why: str = ""

    def __post_init__(self) -> None:
        for name in (self.feature, self.gate):
            if name is not None and name not in FEATURE_INDEX:
                raise ValueError(f"{self.name}: unknown feature {name!r}")
        if not self.low < self.high:
            raise ValueError(f"{self.name}: low ({self.low}) must be below high ({self.high})")
        if not self.low < self.met <= self.high:
            raise ValueError(f"{self.name}: met ({self.met}) must be above low ({self.low}) "
                             f"and at most high ({self.high})")
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"{self.name}: weight must be in [0, 1], got {self.weight}")


OVERRIDABLE = ("low", "high", "weight", "met", "gate_min")
"""The fields of a row that `config/policy.toml [markers.<name>]` may override."""


class MarkerTable:
    """The markers of harm in force: strengths for the risk rule, markers met for the policy.

    Args:
        markers: the rows, in reporting order.

    """

    __slots__ = ("_met", "_plan", "markers")

    def __init__(self, markers: Iterable[HarmMarker]) -> None:
        self.markers = tuple(markers)
        names = [m.name for m in self.markers]
        if len(set(names)) != len(names):
            raise ValueError(f"marker names must be distinct: {names}")
        self._plan = tuple(
            (FEATURE_INDEX[m.feature], m.low, m.high, m.weight, m.name,
             FEATURE_INDEX[m.gate] if m.gate else -1, m.gate_min)
            for m in self.markers if m.weight > 0.0)
        self._met = tuple(
            (FEATURE_INDEX[m.feature], m.met, m.name, FEATURE_INDEX[m.gate] if m.gate else -1,
             m.gate_min)
            for m in self.markers)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MarkerTable) and self.markers == other.markers

    def __hash__(self) -> int:
        return hash(self.markers)

    def __repr__(self) -> str:
        return f"MarkerTable({self.describe()!r})"

    def __reduce__(self) -> tuple[type[MarkerTable], tuple[tuple[HarmMarker, ...]]]:
        return MarkerTable, (self.markers,)

    @property
    def names(self) -> tuple[str, ...]:
        """The marker names, in table order."""
        return tuple(m.name for m in self.markers)

    @property
    def features(self) -> tuple[str, ...]:
        """Every feature a marker reads, gates included, in table order without repeats."""
        names = [n for m in self.markers for n in (m.feature, m.gate) if n is not None]
        return tuple(dict.fromkeys(names))

    def strengths(self, features: Sequence[float]) -> list[tuple[float, str]]:
        """Return `(-weight x strength, name)` of every marker with a strength, in table order."""
        fired: list[tuple[float, str]] = []
        for index, low, high, weight, name, gate, gate_min in self._plan:
            v = features[index]
            if v <= low or (gate >= 0 and features[gate] < gate_min):
                continue
            part = weight if v >= high else weight * (v - low) / (high - low)
            if part >= MIN_PART:
                fired.append((-part, name))
        return fired

    def met(self, features: Sequence[float]) -> list[str]:
        """Return the markers met by a row in `FEATURE_NAMES` order (short rows read 0)."""
        count = len(features)
        out = []
        for index, level, name, gate, gate_min in self._met:
            if index >= count or features[index] < level:
                continue
            if gate >= 0 and (gate >= count or features[gate] < gate_min):
                continue
            out.append(name)
        return out

    def met_by_name(self, features: Mapping[str, float]) -> list[str]:
        """Return the markers met by features given by name (missing ones read 0)."""
        row = [0.0] * len(FEATURE_INDEX)
        for name, value in features.items():
            index = FEATURE_INDEX.get(name)
            if index is not None:
                row[index] = value
        return self.met(row)

    def overridden(self, overrides: Mapping[str, Mapping[str, float]]) -> MarkerTable:
        """Return the table with fields of some rows replaced (`{name: {field: value}}`).

        Raises:
            ValueError: an unknown marker or field, or a row left inconsistent.

        """
        by_name = {m.name: m for m in self.markers}
        for name, changes in overrides.items():
            if name not in by_name:
                raise ValueError(f"unknown marker {name!r}; known: {sorted(by_name)}")
            unknown = sorted(set(changes) - set(OVERRIDABLE))
            if unknown:
                raise ValueError(f"{name}: cannot override {unknown}; overridable: "
                                 f"{list(OVERRIDABLE)}")
            by_name[name] = replace(by_name[name], **dict(changes))  # type: ignore[arg-type]
        return MarkerTable(by_name[m.name] for m in self.markers)

    def describe(self) -> list[dict[str, object]]:
        """Return the rows as plain dicts (configuration hashes, documentation)."""
        return [{f.name: getattr(m, f.name) for f in fields(m) if f.name != "why"}
                for m in self.markers]


HARM_MARKERS = MarkerTable((
    HarmMarker(
        "self_excluded", "self_excluded", 0.5, 1.0, 1.0, 1.0,
        why="The player excluded themselves: the score is 1."),
    HarmMarker(
        "stake_escalation", "stake_escalation", 1.25, 2.5, 0.35, 2.0,
        why="The last 24 hours' mean stake against the player's earlier mean: a doubling of the "
        "usual stake is the common flag of escalating spend."),
    HarmMarker(
        "stake_shift", "stake_shift", 7.2, 14.4, 0.35, 14.4,
        why="A sustained rise of the player's stakes beyond their own spread: Page's CUSUM of "
        "their log-stakes (reference 0.25 spread, for a rise of half a spread; decision "
        "interval 14.4 spreads: an in-control run of about 19,000 bets) is met when the chart "
        "signals and rises from half the interval."),
    HarmMarker(
        "loss_chasing", "chase_share_24h", 0.1, 0.35, 0.4, 0.2, "bets_24h", 10.0,
        why="Share of the day's bets that raise the stake after a loss by more than the "
        "player's ordinary stake variation: one chase in ten bets is already unusual, one in "
        "five a pattern."),
    HarmMarker(
        "night_play", "night_share_7d", 0.35, 0.65, 0.3, 0.5, "bets_7d", 10.0,
        why="Share of the week's bets at local night (a quarter of the clock): most of a "
        "player's play at night is the time-of-day marker."),
    HarmMarker(
        "long_sessions", "session_minutes_24h", 120.0, 300.0, 0.3, 180.0,
        why="Time on site in 24 hours: reality checks usually start at two hours, three hours "
        "is the usual long-session flag, five hours full strength."),
    HarmMarker(
        "longer_sessions_than_usual", "session_minutes_vs_usual", 2.0, 4.0, 0.2, 3.0,
        "baseline_sessions", 5.0,
        why="The session (open or last) against the player's usual session length: three times "
        "their habit once five sessions make a habit."),
    HarmMarker(
        "deposit_frequency", "deposits_24h", 2.0, 5.0, 0.3, 3.0,
        why="Approved deposits in 24 hours: three or more a day is the common repeated-deposit "
        "flag."),
    HarmMarker(
        "more_deposits_than_usual", "session_deposits_vs_usual", 1.5, 3.0, 0.25, 2.0,
        "baseline_sessions", 5.0,
        why="Deposits in the session against the player's usual deposits per session (with a "
        "prior of one): twice their habit."),
    HarmMarker(
        "declined_deposits", "declined_deposits_24h", 1.0, 4.0, 0.3, 2.0,
        why="Declined deposits in 24 hours: one is ordinary (an expired card), repeated "
        "attempts after declines are the payment marker."),
    HarmMarker(
        "cancelled_withdrawals", "withdrawals_cancelled_7d", 0.0, 1.0, 0.4, 1.0,
        why="A withdrawal reversed in 7 days: money taken back to keep gambling."),
    HarmMarker(
        "limit_reached", "at_limit", 0.5, 1.0, 0.3, 1.0,
        why="A deposit, loss or wager limit the player set is used up."),
))
"""The default markers of harm (docs/models.md, 'Markers of harm')."""


@dataclass(frozen=True)
class MarkerBook:
    """The marker table of every jurisdiction: the base table and the jurisdictions' own.

    Attributes:
        base: the table of jurisdictions without an override.
        jurisdictions: jurisdiction code to its table (only codes with an override).

    """

    base: MarkerTable = HARM_MARKERS
    jurisdictions: Mapping[str, MarkerTable] = field(default_factory=dict)

    def table(self, jurisdiction: str) -> MarkerTable:
        """Return the table in force for players of `jurisdiction`."""
        return self.jurisdictions.get(jurisdiction, self.base)

    def describe(self) -> dict[str, object]:
        """Return the book as plain data (configuration hashes)."""
        return {"base": self.base.describe(),
                "jurisdictions": {code: self.jurisdictions[code].describe()
                                  for code in sorted(self.jurisdictions)}}
