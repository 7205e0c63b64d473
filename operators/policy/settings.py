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
import tomllib
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

import config
from config.settings import ConfigError
from operators.features import FEATURE_INDEX

DEFAULT_POLICY_FILE = Path(config.__file__).with_name("policy.toml")

Severity = Literal["low", "medium", "high"]
LadderAction = Literal[
    "rg_message", "reality_check", "deposit_limit_suggestion", "cool_off_suggestion"
]
OfferType = Literal["free_spins", "deposit_match", "cashback"]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RolloutSettings(_Section):
    """How decisions reach players: `live` emits, `shadow` only audits; the offer holdout."""

    mode: Literal["live", "shadow"] = "live"
    holdout_share: float = Field(0.05, ge=0.0, le=1.0)
    holdout_salt: str = Field("pitboss-holdout-1", min_length=1)


class ThresholdSettings(_Section):
    """Score thresholds in [0, 1] that start reviews and offers, or block offers."""

    rg_review: float = Field(0.9, ge=0.0, le=1.0)
    fraud_review: float = Field(0.7, ge=0.0, le=1.0)
    churn_offer: float = Field(0.6, ge=0.0, le=1.0)
    reactivation_churn: float = Field(0.3, ge=0.0, le=1.0)
    offer_block_risk: float = Field(0.45, ge=0.0, le=1.0)
    min_risk_increase: float = Field(0.05, ge=0.0, le=1.0)


class EscalationStep(_Section):
    """One rung of the intervention ladder: reached at `min_risk`, one rung at a time."""

    action: LadderAction
    severity: Severity
    min_risk: float = Field(ge=0.0, le=1.0)


class GapSettings(_Section):
    """Minimum gaps and lifetimes, all in event time."""

    min_intervention_gap_hours: float = Field(24.0, ge=0.0)
    ladder_reset_days: float = Field(30.0, gt=0.0)
    rg_offer_block_days: float = Field(30.0, ge=0.0)
    review_min_gap_days: float = Field(7.0, ge=0.0)
    review_expiry_days: float = Field(14.0, gt=0.0)
    offer_validity_days: float = Field(7.0, ge=0.0)
    mandatory_cool_off_days: float = Field(7.0, gt=0.0)
    fraud_hold_days: float = Field(30.0, gt=0.0)


class CapSettings(_Section):
    """Fatigue caps on offers."""

    max_offers_per_7d: int = Field(2, ge=0)


class OfferTypeSettings(_Section):
    """One offer type: whether it may be sent, from what worth, and its value bounds.

    The value is `worth_multiplier` x the player's average daily theoretical win,
    clamped to [`min_value`, `max_value`] in the policy currency.
    """

    enabled: bool = True
    min_adt: float = Field(0.0, ge=0.0)
    worth_multiplier: float = Field(1.0, gt=0.0)
    min_value: float = Field(0.0, ge=0.0)
    max_value: float = Field(gt=0.0)

    @model_validator(mode="after")
    def _bounds_in_order(self) -> OfferTypeSettings:
        if self.min_value > self.max_value:
            raise ValueError("min_value must not exceed max_value")
        return self


class OfferSettings(_Section):
    """Offer eligibility and types; the type chosen is the highest `min_adt` reached."""

    default_consent: bool = False
    types: dict[OfferType, OfferTypeSettings] = Field(min_length=1)


class PolicyRules(_Section):
    """The rules in force for one jurisdiction (the base rules merged with its override)."""

    rollout: RolloutSettings = RolloutSettings()
    thresholds: ThresholdSettings = ThresholdSettings()
    escalation: tuple[EscalationStep, ...] = Field(min_length=1)
    gaps: GapSettings = GapSettings()
    caps: CapSettings = CapSettings()
    offers: OfferSettings
    markers: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ladder_rises(self) -> PolicyRules:
        risks = [step.min_risk for step in self.escalation]
        if risks != sorted(risks):
            raise ValueError("escalation steps must be in order of rising min_risk")
        if len({step.action for step in self.escalation}) != len(self.escalation):
            raise ValueError("escalation steps must name distinct actions")
        return self

    @model_validator(mode="after")
    def _markers_are_features(self) -> PolicyRules:
        unknown = sorted(set(self.markers) - set(FEATURE_INDEX))
        if unknown:
            raise ValueError(f"markers name unknown features: {', '.join(unknown)}")
        return self


class PolicySettings(PolicyRules):
    """The whole policy file: base rules, a declared version and per-jurisdiction overrides.

    Use `rules_for(jurisdiction)` for the effective rules and `policy_version` to stamp
    decisions. Overrides are validated when the settings are built.
    """

    version: str = Field(min_length=1)
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    jurisdictions: dict[str, dict[str, Any]] = Field(default_factory=dict)
    _effective: dict[str, PolicyRules] = PrivateAttr(default_factory=dict)
    _version: str = PrivateAttr("")

    @model_validator(mode="after")
    def _resolve_jurisdictions(self) -> PolicySettings:
        """Validate every jurisdiction's effective rules and fix the policy version."""
        base = self.model_dump(include=set(PolicyRules.model_fields))
        for code, override in self.jurisdictions.items():
            try:
                self._effective[code] = PolicyRules(**_deep_merge(base, override))
            except ValidationError as exc:
                raise ValueError(_problems(exc, prefix=f"jurisdictions.{code}.")) from exc
        canonical = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        self._version = f"{self.version}+{hashlib.sha256(canonical).hexdigest()[:8]}"
        return self

    @property
    def policy_version(self) -> str:
        """The declared version plus a short hash of the effective configuration."""
        return self._version

    def rules_for(self, jurisdiction: str) -> PolicyRules:
        """Return the rules in force for `jurisdiction` (the base rules if it has no override)."""
        # Read the private attribute from pydantic's documented store: `self._effective`
        # goes through `BaseModel.__getattr__` (~5 us), and the compliance gate asks
        # for the rules of every candidate action.
        effective: dict[str, PolicyRules] = self.__pydantic_private__["_effective"]  # type: ignore[index]
        return effective.get(jurisdiction, self)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


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
    try:
        with source.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read policy: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return PolicySettings(**data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid policy: {_problems(exc)}") from exc
