"""Configuration of the online models: the `[models]` section, frozen and validated once.

One `KindSettings` per model kind (`churn`, `risk`, `fraud`) holds the decision
threshold used for precision and recall, the warm-up rule (`min_labels`,
`min_positives`), how the learned score is combined with the rule score, and the
champion's and the optional challenger's learner. Churn and fraud also hold their
marker rule's thresholds and weights (`[models.<kind>.rule]`, `ChurnRuleSettings`,
`FraudRuleSettings`): the one home of those numbers, which the rules of
`pitboss.models.rules` take as their defaults. The markers of harm (risk) are the
policy file's `[markers]`, so `[models.risk.rule]` is refused.

This module is configuration only: it imports nothing from `pitboss.models`, which
reads it.

Example:
    >>> s = ModelSettings()
    >>> s.risk.threshold, s.risk.champion.model
    (0.5, 'logistic')
    >>> ModelSettings(fraud={"threshold": 0.7}).fraud.min_labels  # fraud's own default kept
    100
    >>> ModelSettings(churn={"rule": {"drop_low": 0.2}}).churn.rule.drop_high
    0.8
    >>> ModelSettings(churn={"rule": {"no_such_threshold": 1.0}})
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for ModelSettings
    churn.rule.no_such_threshold
    ...

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from pitboss.config.section import Section

KINDS: tuple[str, ...] = ("churn", "risk", "fraud")


class RuleSettings(Section):
    """A marker rule's thresholds and weights: each `<ramp>_low` is below its `<ramp>_high`.

    The fields are the rule's constructor arguments, under the same names (its
    `weights` a table of its own); a marker's strength ramps from 0 at `*_low` to 1
    at `*_high` (`pitboss.models.rules.ramp`).
    """

    if TYPE_CHECKING:  # each rule declares its own, last: the weight of each of its markers
        weights: Section

    @model_validator(mode="after")
    def _lows_below_highs(self) -> RuleSettings:
        for name in type(self).model_fields:
            if name.endswith("_low"):
                high = name.removesuffix("_low") + "_high"
                if not getattr(self, name) < getattr(self, high):
                    raise ValueError(f"{name} ({getattr(self, name)}) must be below {high} "
                                     f"({getattr(self, high)})")
        return self


def _weight(default: float, marker: str) -> Any:
    return Field(default, ge=0, le=1,
                 description=f"Weight of `{marker}` in the rule's noisy-OR (0 switches it off).")


class ChurnWeights(Section):
    """The weight of each churn marker."""

    inactivity: float = _weight(0.85, "inactivity")
    falling_frequency: float = _weight(0.45, "falling_frequency")


class ChurnRuleSettings(RuleSettings):
    """The churn rule (`pitboss.models.rules.ChurnRule`): markers against the player's rhythm."""

    quiet_gaps_low: float = Field(
        1.0, description="`inactivity` starts when the player has been quiet this many of "
        "their usual gaps between days of play (`quiet_gaps`).")
    quiet_gaps_high: float = Field(
        3.0, description="`inactivity` is at full strength at this many usual gaps.")
    drop_low: float = Field(
        0.3, description="`falling_frequency` starts when `1 - frequency_trend` (usual gap "
        "over recent gap) reaches this.")
    drop_high: float = Field(
        0.8, description="`falling_frequency` is at full strength at this `1 - frequency_trend`.")
    weights: ChurnWeights = Field(
        ChurnWeights(), description="The weight of each churn marker.")


class FraudWeights(Section):
    """The weight of each fraud and bonus-abuse marker."""

    many_instruments: float = _weight(0.45, "many_instruments")
    many_devices: float = _weight(0.35, "many_devices")
    bonus_then_fast_withdrawal: float = _weight(0.5, "bonus_then_fast_withdrawal")
    declined_deposits: float = _weight(0.3, "declined_deposits")
    chargeback: float = _weight(0.9, "chargeback")
    anomalous_wallet_activity: float = _weight(0.35, "anomalous_wallet_activity")


class FraudRuleSettings(RuleSettings):
    """The fraud rule (`pitboss.models.rules.FraudRule`): payment-fraud and bonus-abuse markers."""

    instruments_low: float = Field(
        1.0, description="`many_instruments` starts above this many payment instruments in "
        "7 days (`instruments_7d`).")
    instruments_high: float = Field(
        3.0, description="`many_instruments` is at full strength at this many instruments.")
    devices_low: float = Field(
        2.0, description="`many_devices` starts above this many devices in 7 days "
        "(`devices_7d`).")
    devices_high: float = Field(
        4.0, description="`many_devices` is at full strength at this many devices.")
    wagering_low: float = Field(
        1.0, description="`bonus_then_fast_withdrawal` is at full strength when the 7 days' "
        "stakes are at most this many times the deposits.")
    wagering_high: float = Field(
        5.0, description="`bonus_then_fast_withdrawal` has faded out when the stakes reach "
        "this many times the deposits.")
    declined_low: float = Field(
        0.0, description="`declined_deposits` starts above this many declined deposits in "
        "24 hours.")
    declined_high: float = Field(
        3.0, description="`declined_deposits` is at full strength at this many.")
    anomaly_low: float = Field(
        0.6, description="`anomalous_wallet_activity` starts above this wallet anomaly score.")
    anomaly_high: float = Field(
        0.9, description="`anomalous_wallet_activity` is at full strength at this score.")
    weights: FraudWeights = Field(
        FraudWeights(), description="The weight of each fraud and bonus-abuse marker.")


class LearnerSettings(Section):
    """One learned model: `StandardScaler | LogisticRegression`, or a Hoeffding adaptive tree.

    `logistic` is scored through a plain-Python fast path (see `pitboss.models.linear`);
    `tree` (`tree.HoeffdingAdaptiveTreeClassifier`) goes through River and is
    several times slower to score.
    """

    model: Literal["logistic", "tree"] = Field(
        "logistic", description="`logistic` (scaled logistic regression, fast path) or `tree` "
        "(Hoeffding adaptive tree, several times slower to score).")
    optimizer: Literal["sgd", "adagrad", "adam"] = Field(
        "sgd", description="Logistic only: the optimizer of the weights.")
    learning_rate: float = Field(
        0.05, gt=0, description="Logistic only: the optimizer's learning rate.")
    l2: float = Field(1e-4, ge=0, description="Logistic only: L2 regularisation of the weights.")
    intercept_lr: float = Field(
        0.05, ge=0, description="Logistic only: learning rate of the intercept.")
    schedule: Literal["constant", "inverse_scaling"] = Field(
        "constant",
        description="Logistic only: `constant` learning rates, or `inverse_scaling`: both "
        "rates divided by (t + 1)^`power` after t labels (`river.optim.schedulers."
        "InverseScaling`), so that late, noisy labels nudge a settled model instead of "
        "swinging it.")
    power: float = Field(
        0.5, gt=0, le=1, description="Logistic with `inverse_scaling` only: the exponent.")
    grace_period: int = Field(
        200, gt=0, description="Tree only: labels a leaf sees between split attempts.")


class KindSettings(Section):
    """One model kind: threshold, warm-up, blending and learners.

    The risk model is a `KindSettings`; churn and fraud add their rule (`ChurnSettings`,
    `FraudSettings`).
    """

    threshold: float = Field(
        0.5, gt=0, lt=1,
        description="Decision threshold: a score at or above it is a positive for precision "
        "and recall.")
    min_labels: int = Field(
        200, ge=0, description="Labels a learner must have seen before it is trusted (warm).")
    min_positives: int = Field(
        20, ge=0, description="Positive labels a learner must have seen before it is trusted.")
    min_negatives: int = Field(
        100, ge=0,
        description="Negative labels a learner must have seen before it is trusted: outcome "
        "labels arrive unevenly (risk positives come first, negatives only after the negative "
        "horizon), and a model that has seen one class mostly is badly calibrated.")
    learned_weight: float = Field(
        1.0, ge=0, le=1,
        description="Churn and fraud once warm: w x learned + (1 - w) x rule. Risk is "
        "max(rule, learned): the rule is always a floor.")
    rule_floor: bool = Field(
        False,
        description="Churn and fraud: the rule's score is also a floor of the final score "
        "(max(rule, blend)), so a transparent marker at full strength is never talked down "
        "by a model that has not yet seen labels like it (risk always has its rule as a "
        "floor).")
    trust_labels: int = Field(
        0, ge=0,
        description="Churn and fraud: once warm, the learned part's weight grows from 0 to "
        "`learned_weight` over this many more labels (0: at once), so a model that has only "
        "just warmed up does not take over from the rule in one step.")
    champion: LearnerSettings = Field(
        LearnerSettings(), description="The learner whose score decides.")
    challenger: LearnerSettings | None = Field(
        LearnerSettings(optimizer="adagrad", learning_rate=0.1),
        description="A learner run in shadow beside the champion (recorded, never decides).")


class ChurnSettings(KindSettings):
    """The churn model: `KindSettings`, and the thresholds and weights of its rule."""

    rule: ChurnRuleSettings = Field(
        ChurnRuleSettings(), description="The churn rule: the cold-start score, and the "
        "floor of the final score with `rule_floor`. Each marker's strength ramps from 0 at "
        "its `*_low` to 1 at its `*_high`, which must be above it.")


class FraudSettings(KindSettings):
    """The fraud model: `KindSettings`, and the thresholds and weights of its rule."""

    rule: FraudRuleSettings = Field(
        FraudRuleSettings(), description="The fraud rule: the cold-start score, blended "
        "with the learned one once warm. Each marker's strength ramps from 0 at its `*_low` "
        "to 1 at its `*_high`, which must be above it (bonus abuse the other way round: full "
        "at `wagering_low`, none at `wagering_high`).")


KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "churn": {
        "learned_weight": 0.8, "trust_labels": 1000, "rule_floor": True,
        # Churn labels are plentiful but late (a week) and noisy (a steady player's long
        # spell is a positive): a decaying rate and more regularisation keep scores steady.
        "champion": {"schedule": "inverse_scaling", "learning_rate": 0.1,
                     "intercept_lr": 0.1, "l2": 1e-3},
    },
    "risk": {"min_negatives": 1000},
    "fraud": {"min_labels": 100, "min_positives": 10, "min_negatives": 500,
              "learned_weight": 0.6},
}
"""Where a kind's defaults differ from `KindSettings`'; a partial `[models.<kind>]` keeps them."""


class ModelSettings(Section):
    """The `[models]` section: per-kind settings, seed, anomaly detector, drift.

    Label horizons are in `[labels]` (`pitboss.config.settings.LabelSettings`).
    """

    churn: ChurnSettings = Field(
        ChurnSettings(**KIND_DEFAULTS["churn"]), description="The churn model (retention offers).")
    risk: KindSettings = Field(
        KindSettings(**KIND_DEFAULTS["risk"]),
        description="The gambling-harm risk model (interventions). Its rule is the markers "
        "of harm, set in the policy file's `[markers]`: there is no `[models.risk.rule]`.")
    fraud: FraudSettings = Field(
        FraudSettings(**KIND_DEFAULTS["fraud"]), description="The fraud model (reviews).")
    challengers: bool = Field(
        True, description="Run each kind's challenger in shadow (recorded, never decides); "
        "off: no challenger anywhere.")
    seed: int = Field(42, description="Seed of every random choice of the models.")
    max_reasons: int = Field(
        3, ge=1, le=10, description="Reason codes kept with each score, strongest first.")
    anomaly_trees: int = Field(
        10, ge=1, description="Trees of the wallet anomaly detector (HalfSpaceTrees, fraud).")
    anomaly_height: int = Field(8, ge=1, le=16, description="Height of each anomaly tree.")
    anomaly_window: int = Field(
        250, ge=2, description="Points in the anomaly detector's reference window.")
    anomaly_triggers: tuple[str, ...] = Field(
        ("deposit", "withdrawal", "bonus_claim"),
        description="Triggers of the points the wallet anomaly detector learns from "
        "(`ModelSet.observe`).")
    drift_delta: float = Field(
        0.002, gt=0, lt=1,
        description="ADWIN's confidence on each model's error stream: smaller detects fewer, "
        "surer drifts.")
    release_every_s: int = Field(
        900, ge=1, le=86_400,
        description="Event time between model releases: a point is scored with the models "
        "as learned before the last multiple of this time at or before it "
        "(`pitboss.models.release`), whatever the worker or process count.")

    def kind(self, kind: str) -> KindSettings:
        """Return the settings of model kind `kind` (`churn`, `risk` or `fraud`)."""
        if kind not in KINDS:
            raise KeyError(f"unknown model kind {kind!r}")
        settings: KindSettings = getattr(self, kind)
        return settings

    def rule(self, kind: str) -> RuleSettings:
        """Return the rule section of model kind `churn` or `fraud` (risk's is the policy's)."""
        settings = self.kind(kind)
        if not isinstance(settings, ChurnSettings | FraudSettings):
            raise KeyError(f"model kind {kind!r} has no [models.{kind}.rule]")
        return settings.rule

    @model_validator(mode="before")
    @classmethod
    def _no_risk_rule(cls, data: Any) -> Any:
        risk = data.get("risk") if isinstance(data, dict) else None
        if isinstance(risk, dict) and "rule" in risk:
            raise ValueError("risk.rule: the markers of harm are set in one place, the "
                             "policy file's [markers.<name>] tables (docs/models.md)")
        return data

    @model_validator(mode="before")
    @classmethod
    def _kind_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for kind, defaults in KIND_DEFAULTS.items():
            given = merged.get(kind)
            if isinstance(given, dict):
                merged[kind] = {**defaults, **given}
        return merged
