"""A simulated population as data: who the players are and how their archetypes behave.

The simulator (`pitboss.replay.simulator.simulate`) used to hard-code its archetypes' shapes. They
are now a `Population`, read from a TOML file (`replay/simulator/populations/*.toml`,
docs/simulator.md), so that decision quality can be measured on many populations
rather than the one the models were tuned on (`pitboss.replay.analysis.sweep`). Every field has a
default, and the default population reproduces the simulator's historic output
byte for byte: a field only changes the random draws when it leaves its default.

A file may set any subset of the fields; `load_population` merges it over the
defaults (or over a given base) and validates it, naming the file and the field of
a mistake.

Example:
    >>> default = Population()
    >>> default.harm.amplitude, default.harm.onset, default.stakes.noise
    (1.0, 'abrupt', 0.3)
    >>> Population.merged({"harm": {"amplitude": 0.5}}).harm.amplitude
    0.5

"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from pitboss.config.section import Section
from pitboss.config.toml_file import deep_merge, read_toml

DEFAULT_FILE = Path(__file__).with_name("populations") / "default.toml"

Range = tuple[float, float]


class ArchetypeShares(Section):
    """Share of players of each archetype (drawn in this order; the shares sum to about 1)."""

    recreational: float = Field(0.76, ge=0)
    vip: float = Field(0.03, ge=0)
    harmed: float = Field(0.06, ge=0)
    churner: float = Field(0.10, ge=0)
    fraudster: float = Field(0.03, ge=0)
    self_excluder: float = Field(0.02, ge=0)

    def pairs(self) -> tuple[tuple[str, float], ...]:
        """Return `(archetype, share)` pairs in the draw order."""
        return tuple((name, float(getattr(self, name))) for name in type(self).model_fields)


class JurisdictionMix(Section):
    """Share of players licensed in each jurisdiction (relative weights)."""

    UK: float = Field(0.40, ge=0)
    MT: float = Field(0.15, ge=0)
    SE: float = Field(0.15, ge=0)
    US_NJ: float = Field(0.15, ge=0, alias="US-NJ")
    CA_ON: float = Field(0.15, ge=0, alias="CA-ON")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def share(self, code: str) -> float:
        """Return the weight of jurisdiction `code` (e.g. "US-NJ")."""
        return float(getattr(self, code.replace("-", "_")))


class Stakes(Section):
    """How much players stake (in EUR)."""

    median_eur: dict[str, float] = Field(
        default_factory=lambda: {"vip": 40.0, "harmed": 1.5, "fraudster": 2.0},
        description="Median typical stake per archetype; archetypes not named use `other_eur`.")
    other_eur: float = Field(1.0, gt=0)
    scale: float = Field(1.0, gt=0, description="Multiplies every median (a richer market).")
    spread: float = Field(0.6, ge=0, description="Sigma of the log-normal typical stake.")
    noise: float = Field(0.3, ge=0, description="Sigma of the log-normal bet-to-bet noise.")

    def median(self, archetype: str) -> float:
        """Return the median typical stake of `archetype`, scaled."""
        return self.median_eur.get(archetype, self.other_eur) * self.scale


class Frequency(Section):
    """How often players play."""

    activity: dict[str, Range] = Field(
        default_factory=lambda: {"vip": (0.6, 0.9), "harmed": (0.35, 0.6), "churner": (0.5, 0.8)},
        description="Range of the daily chance of playing per archetype (drawn uniformly).")
    other: Range = (0.15, 0.55)
    scale: float = Field(1.0, gt=0, description="Multiplies every player's daily chance.")
    daily_jitter: float = Field(
        0.0, ge=0, description="Sigma of a log-normal factor on the chance, drawn each day "
        "(0: none); the variance of play frequency within a player.")

    def range_of(self, archetype: str) -> Range:
        """Return the range of the daily chance of playing for `archetype`."""
        return self.activity.get(archetype, self.other)


class Harm(Section):
    """How harm sets in for harmed players (the markers' strength over time)."""

    amplitude: float = Field(1.0, gt=0, le=1, description="Strength of the markers at full harm.")
    onset: Literal["abrupt", "gradual"] = Field(
        "abrupt", description="abrupt: markers start at `onset_strength` and ramp up; gradual: "
        "they start at 0 and ramp up over `ramp_days`.")
    onset_strength: float = Field(0.3, ge=0, le=1)
    ramp_days: float = Field(5.0, gt=0)
    onset_window: Range = Field((0.25, 0.55), description="Onset as a share of the window.")
    play_chance: float = Field(0.9, ge=0, le=1, description="Daily chance of playing at full harm.")
    night_boost: float = Field(16.0, ge=1, description="Night-start weight factor on harm days.")
    self_exclude_share: float = Field(0.25, ge=0, le=1)
    self_exclude_after_days: Range = (4.0, 10.0)


class Churn(Section):
    """How churners fade out before they stop."""

    window: Range = Field((0.2, 0.8), description="Moment of churn as a share of the window.")
    fade_days: float = Field(
        0.0, ge=0, description="Days over which the daily chance falls to 0 before churn "
        "(0: from the start of the window).")
    fade_power: float = Field(1.0, gt=0, description="Shape of the fade: >1 thins out early.")


class Labels(Section):
    """Share and delay of the outcome labels the back office sends."""

    harm_confirmed_share: float = Field(0.5, ge=0, le=1)
    harm_confirmed_delay_days: Range = (3.0, 10.0)
    fraud_confirmed_share: float = Field(0.6, ge=0, le=1)
    fraud_confirmed_delay_days: Range = (2.0, 12.0)
    no_concern_share: float = Field(0.02, ge=0, le=1)
    vip_no_concern_share: float = Field(0.15, ge=0, le=1)
    fraud_cleared_share: float = Field(0.015, ge=0, le=1)
    vip_fraud_cleared_share: float = Field(0.05, ge=0, le=1)


class Population(Section):
    """Everything that shapes a simulated population; defaults give the historic simulator."""

    name: str = "default"
    description: str = "The project's own simulator: the population its thresholds were tuned on."
    players: int = Field(500, ge=1)
    days: int = Field(21, ge=1)
    seed: int = 2026
    refuses_marketing_share: float = Field(0.15, ge=0, le=1)
    archetypes: ArchetypeShares = ArchetypeShares()
    jurisdictions: JurisdictionMix = JurisdictionMix()
    stakes: Stakes = Stakes()
    frequency: Frequency = Frequency()
    harm: Harm = Harm()
    churn: Churn = Churn()
    labels: Labels = Labels()

    @model_validator(mode="after")
    def _some_players(self) -> Population:
        if sum(share for _, share in self.archetypes.pairs()) <= 0:
            raise ValueError("archetypes: the shares sum to 0")
        return self

    @classmethod
    def merged(cls, *layers: dict[str, Any]) -> Population:
        """Validate the deep merge of `layers` (later ones win) over the defaults."""
        data: dict[str, Any] = {}
        for layer in layers:
            data = deep_merge(data, layer)
        return cls.model_validate(data)

    def to_toml_dict(self) -> dict[str, Any]:
        """Return the population as plain data (for a sweep's record of what ran)."""
        return self.model_dump(mode="json", by_alias=True)


DEFAULT = Population()


class PopulationError(ValueError):
    """A population or sweep file is not valid; the message names the file and the field."""


def validated(path: Path, *layers: dict[str, Any]) -> Population:
    """Validate merged `layers`, naming `path` and the first bad field on error."""
    try:
        return Population.merged(*layers)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        raise PopulationError(f"{path}: {where}: {error['msg']}") from exc


def load_population(path: Path, base: dict[str, Any] | None = None) -> Population:
    """Read a population file, merged over `base` (default: the default population).

    Raises:
        PopulationError: the file cannot be read or a field is not valid.

    """
    return validated(path, base or {}, read_toml(path, "population", PopulationError))
