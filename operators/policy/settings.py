"""The policy configuration: thresholds, caps, escalation steps and rollout, per jurisdiction.

`load_policy` reads `config/policy.toml` (or another file of the same layout) and
validates it once. The top-level sections are the base rules; a
`[jurisdictions.<CODE>...]` table overrides any subset of them for players of that
jurisdiction, and each effective rule set is validated at load time, so a bad
override fails at start-up naming the file and the dotted field. `policy_version`
is the declared `version` plus a short hash of the whole effective configuration:
two runs with the same version string but different numbers never share a version.

Example:
    >>> policy = load_policy()
    >>> policy.rules_for("UK").thresholds.fraud_review
    0.7
    >>> policy.policy_version.startswith(policy.version + "+")
    True

"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import Field, PrivateAttr, ValidationError, model_validator

import pitboss.config as config
from pitboss.config.section import Section
from pitboss.config.settings import ConfigError
from pitboss.config.toml_file import deep_merge, read_toml
from pitboss.operators.harm_markers import HARM_MARKERS, MarkerBook, MarkerTable

DEFAULT_POLICY_FILE = Path(config.__file__).with_name("policy.toml")

Severity = Literal["low", "medium", "high"]
LadderAction = Literal[
    "rg_message", "reality_check", "deposit_limit_suggestion", "cool_off_suggestion"
]
OfferType = Literal["free_spins", "deposit_match", "cashback"]


class RolloutSettings(Section):
    """How decisions reach players: `live` emits, `shadow` only audits; the offer holdout."""

    mode: Literal["live", "shadow"] = Field(
        "live", description="`live` emits; `shadow` decides and audits, emits nothing.")
    holdout_share: float = Field(
        0.05, ge=0.0, le=1.0,
        description="Share of players who never receive offers (the uplift control group).")
    holdout_salt: str = Field(
        "pitboss-holdout-1", min_length=1,
        description="Salt of the holdout draw; change it to draw a new holdout group.")


class ThresholdSettings(Section):
    """Score thresholds in [0, 1] that start reviews and offers, or block offers."""

    rg_review: float = Field(
        0.9, ge=0.0, le=1.0,
        description="Risk at which a human is asked to approve a mandatory cool-off.")
    fraud_review: float = Field(
        0.7, ge=0.0, le=1.0,
        description="Fraud score at which a human is asked to hold withdrawals and bonuses.")
    churn_offer: float = Field(
        0.6, ge=0.0, le=1.0,
        description="Churn score, rising to at least this, that earns a retention offer.")
    reactivation_churn: float = Field(
        0.3, ge=0.0, le=1.0,
        description="Churn score that earns a re-activation offer on an inactivity timer.")
    reactivation_quiet_spreads: float = Field(
        3.0, ge=0.0,
        description="A re-activation offer also needs the player out of their own rhythm: "
        "quiet for their usual gap between days of play plus at least this many spreads "
        "of their gaps (`quiet_spreads`), a control chart's limit. Drifting away, not a "
        "steady player who is seldom seen or who comes and goes: a regular player is out "
        "of rhythm soon after their usual gap, an irregular one only after a long spell. "
        "The player shards score a quiet player at that point too (at their "
        "jurisdiction's), when it falls between the first and the last `[labels] "
        "inactivity_checkpoints_s`, so that the offer can come there. 0 switches off the "
        "check and that scoring point.")
    reactivation_quiet_gaps: float = Field(
        0.0, ge=0.0,
        description="A re-activation offer also needs the player quiet for at least this many "
        "of their usual gaps between days of play (`quiet_gaps`); 0 (the default) leaves "
        "it to `reactivation_quiet_spreads`, which reads the spread of the gaps too. A "
        "player who returns at random with their usual gap is quiet r gaps or more in "
        "about e^-r of their spells.")
    offer_block_risk: float = Field(
        0.45, ge=0.0, le=1.0,
        description="Risk at or above this blocks offers for `gaps.rg_offer_block_days`.")
    min_risk_increase: float = Field(
        0.05, ge=0.0, le=1.0,
        description="Rise in risk since the last intervention that counts as growth.")
    first_rung_markers: int = Field(
        0, ge=0,
        description="Markers of harm met (each at its `met` level of the marker table) that "
        "reach the ladder's first rung whatever the risk: one indicator at the level the "
        "policy counts as met calls for the lightest, proportionate touch (a "
        "safer-gambling message), before the risk score sums several. Only the first, "
        "low rung: medium and high rungs still need their `min_risk`. 0 (the default) switches "
        "it off: on the sweep's populations one marker met reaches about two harmed players "
        "in three within 2 h of their first harmful play, but nudges up to half of the "
        "players never harmed (docs/evaluation.md).")


class EscalationStep(Section):
    """One rung of the intervention ladder: reached at `min_risk`, one rung at a time."""

    action: LadderAction = Field(description="The intervention of this rung.")
    severity: Severity = Field(description="Its severity, as the action record carries it.")
    min_risk: float = Field(ge=0.0, le=1.0, description="Risk from which the rung is reached.")


class GapSettings(Section):
    """Minimum gaps and lifetimes, all in event time."""

    min_intervention_gap_hours: float = Field(
        24.0, ge=0.0, description="Least time between two RG interventions of a player.")
    ladder_reset_days: float = Field(
        30.0, gt=0.0, description="No intervention for this long: the ladder starts over.")
    rg_offer_block_days: float = Field(
        30.0, ge=0.0, description="No offers this long after a medium or high intervention.")
    review_min_gap_days: float = Field(
        7.0, ge=0.0, description="Least time between two reviews of the same kind for a player.")
    review_expiry_days: float = Field(
        14.0, gt=0.0, description="An unanswered review stops blocking a new one after this.")
    offer_validity_days: float = Field(
        7.0, ge=0.0, description="An offer is pending (no second of its kind) this long.")
    mandatory_cool_off_days: float = Field(
        7.0, gt=0.0, description="Length of an approved mandatory cool-off.")
    fraud_hold_days: float = Field(
        30.0, gt=0.0, description="Length of an approved withdrawal and bonus hold.")


class CapSettings(Section):
    """Fatigue caps on offers."""

    max_offers_per_7d: int = Field(
        2, ge=0, description="Most offers a player receives in any 7 days.")


class OfferTypeSettings(Section):
    """One offer type: whether it may be sent, from what worth, and its value bounds.

    The value is `worth_multiplier` x the player's average daily theoretical win,
    clamped to [`min_value`, `max_value`] in the policy currency.
    """

    enabled: bool = Field(True, description="Whether this offer type may be sent.")
    min_adt: float = Field(
        0.0, ge=0.0,
        description="Worth (average daily theoretical win) from which the type is chosen.")
    worth_multiplier: float = Field(
        1.0, gt=0.0, description="Offer value = this x the player's average daily theoretical "
        "win, within [min_value, max_value].")
    min_value: float = Field(0.0, ge=0.0, description="Smallest value, in the policy currency.")
    max_value: float = Field(gt=0.0, description="Largest value, in the policy currency.")

    @model_validator(mode="after")
    def _bounds_in_order(self) -> OfferTypeSettings:
        if self.min_value > self.max_value:
            raise ValueError("min_value must not exceed max_value")
        return self


class OfferSettings(Section):
    """Offer eligibility and types; the type chosen is the highest `min_adt` reached."""

    default_consent: bool = Field(
        False, description="Whether players never seen consenting may get offers.")
    types: dict[OfferType, OfferTypeSettings] = Field(
        min_length=1, description="The offer types (`free_spins`, `deposit_match`, "
        "`cashback`), one table each.")


class MarkerOverride(Section):
    """Changes to one row of the marker table (`operators.harm_markers`); unset fields keep it."""

    low: float | None = Field(None, description="Strength 0 at or below this.")
    high: float | None = Field(None, description="Strength 1 at or above this.")
    met: float | None = Field(
        None, description="The policy counts the marker as met at or above this (its reason "
        "code, and growth on the ladder); between `low` and `high`.")
    weight: float | None = Field(
        None, ge=0.0, le=1.0, description="Weight in the risk rule (0 switches the marker off).")
    gate_min: float | None = Field(
        None, ge=0.0, description="The marker's gate feature must reach this (e.g. bets in the "
        "window for a share of bets).")


class PolicyRules(Section):
    """The rules in force for one jurisdiction (the base rules merged with its override)."""

    rollout: RolloutSettings = Field(
        RolloutSettings(), description="How decisions reach players, and the offer holdout.")
    thresholds: ThresholdSettings = Field(
        ThresholdSettings(), description="Score thresholds that start reviews and offers.")
    escalation: tuple[EscalationStep, ...] = Field(
        min_length=1, description="The intervention ladder, weakest rung first (`[[escalation]]` "
        "tables): a player's next intervention is at most one rung above the last.")
    gaps: GapSettings = Field(
        GapSettings(), description="Minimum gaps and lifetimes, in event time.")
    caps: CapSettings = Field(CapSettings(), description="Fatigue caps on offers.")
    offers: OfferSettings = Field(description="Offer eligibility and types.")
    markers: dict[str, MarkerOverride] = Field(
        default_factory=dict,
        description="Overrides of the markers of harm (`[markers.<name>]`, the table in "
        "`operators.harm_markers`, docs/models.md): the one table the risk rule, the ladder "
        "and the reason codes read. Markers met are reason codes of interventions; more met "
        "than at the last intervention is growth.")
    _harm_markers: MarkerTable = PrivateAttr(HARM_MARKERS)

    @model_validator(mode="after")
    def _ladder_rises(self) -> PolicyRules:
        risks = [step.min_risk for step in self.escalation]
        if risks != sorted(risks):
            raise ValueError("escalation steps must be in order of rising min_risk")
        if len({step.action for step in self.escalation}) != len(self.escalation):
            raise ValueError("escalation steps must name distinct actions")
        return self

    @model_validator(mode="after")
    def _build_marker_table(self) -> PolicyRules:
        changes = {name: o.model_dump(exclude_none=True) for name, o in self.markers.items()}
        self._harm_markers = HARM_MARKERS.overridden(changes)
        return self

    @property
    def harm_markers(self) -> MarkerTable:
        """The markers of harm in force: the default table with `[markers]` applied."""
        table: MarkerTable = self.__pydantic_private__["_harm_markers"]  # type: ignore[index]
        return table


class PolicySettings(PolicyRules):
    """The whole policy file: base rules, a declared version and per-jurisdiction overrides.

    Use `rules_for(jurisdiction)` for the effective rules and `policy_version` to stamp
    decisions. Overrides are validated when the settings are built.
    """

    version: str = Field(
        min_length=1, description="Yours to bump; decisions carry `policy_version` = version + "
        "a short hash of the effective policy.")
    currency: str = Field(
        "EUR", pattern=r"^[A-Z]{3}$",
        description="Currency of offer values; keep it equal to `[contract] base_currency`.")
    jurisdictions: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="`[jurisdictions.<CODE>...]` overrides any subset of the sections above "
        "for players of that jurisdiction (deep-merged; lists are replaced).")
    _effective: dict[str, PolicyRules] = PrivateAttr(default_factory=dict)
    _version: str = PrivateAttr("")

    @model_validator(mode="after")
    def _resolve_jurisdictions(self) -> PolicySettings:
        """Validate every jurisdiction's effective rules and fix the policy version."""
        base = self.model_dump(include=set(PolicyRules.model_fields))
        for code, override in self.jurisdictions.items():
            try:
                self._effective[code] = PolicyRules(**deep_merge(base, override))
            except ValidationError as exc:
                raise ValueError(_problems(exc, prefix=f"jurisdictions.{code}.")) from exc
        canonical = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        self._version = f"{self.version}+{hashlib.sha256(canonical).hexdigest()[:8]}"
        return self

    @property
    def policy_version(self) -> str:
        """The declared version plus a short hash of the effective configuration."""
        return self._version

    def marker_book(self) -> MarkerBook:
        """Return the markers of harm of every jurisdiction, for the risk rule."""
        base = self.harm_markers
        own = {code: rules.harm_markers for code in sorted(self.jurisdictions)
               if (rules := self.rules_for(code)).harm_markers != base}
        return MarkerBook(base, own)

    def rules_for(self, jurisdiction: str) -> PolicyRules:
        """Return the rules in force for `jurisdiction` (the base rules if it has no override)."""
        # Read the private attribute from pydantic's documented store: `self._effective`
        # goes through `BaseModel.__getattr__` (~5 us), and the compliance gate asks
        # for the rules of every candidate action.
        effective: dict[str, PolicyRules] = self.__pydantic_private__["_effective"]  # type: ignore[index]
        return effective.get(jurisdiction, self)


def _problems(exc: ValidationError, prefix: str = "") -> str:
    return "; ".join(
        f"{prefix}{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )


def load_policy(path: Path | None = None) -> PolicySettings:
    """Load and validate a policy file.

    Args:
        path: the TOML file; `config/policy.toml` when None.

    Returns:
        The frozen, validated `PolicySettings`.

    Raises:
        ConfigError: naming the file and the dotted field that failed.

    """
    source = path or DEFAULT_POLICY_FILE
    data = read_toml(source, "policy", ConfigError)
    try:
        return PolicySettings(**data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid policy: {_problems(exc)}") from exc
