"""Configuration of the online models: the `[models]` section, frozen and validated once.

One `KindSettings` per model kind (`churn`, `risk`, `fraud`) holds the decision
threshold used for precision and recall, the warm-up rule (`min_labels`,
`min_positives`), how the learned score is combined with the rule score, the
champion's and the optional challenger's learner, and overrides of the rule's
marker thresholds (keyword arguments of the classes in `pitboss.models.rules`).

Example:
    >>> s = ModelSettings()
    >>> s.risk.threshold, s.risk.champion.model
    (0.5, 'logistic')
    >>> ModelSettings(fraud={"threshold": 0.7}).fraud.min_labels  # fraud's own default kept
    100
    >>> ModelSettings(churn={"rule": {"no_such_threshold": 1.0}})
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for ModelSettings
    ...

"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from pitboss.config.section import Section
from pitboss.models.rules import RULES

KINDS: tuple[str, ...] = ("churn", "risk", "fraud")
DAY_S = 86_400



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
    """One model kind: threshold, warm-up, blending, learners and rule overrides."""

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
    rule: dict[str, float | dict[str, float]] = Field(
        default_factory=dict,
        description="Churn and fraud: overrides of the rule's constructor arguments "
        "(thresholds, and a `weights` table); see `models.rules`. The markers of harm (risk) "
        "are set in the policy file's `[markers]`.")


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

    churn: KindSettings = Field(
        KindSettings(**KIND_DEFAULTS["churn"]), description="The churn model (retention offers).")
    risk: KindSettings = Field(
        KindSettings(**KIND_DEFAULTS["risk"]),
        description="The gambling-harm risk model (interventions).")
    fraud: KindSettings = Field(
        KindSettings(**KIND_DEFAULTS["fraud"]), description="The fraud model (reviews).")
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

    def kind(self, kind: str) -> KindSettings:
        """Return the settings of model kind `kind` (`churn`, `risk` or `fraud`)."""
        if kind not in KINDS:
            raise KeyError(f"unknown model kind {kind!r}")
        settings: KindSettings = getattr(self, kind)
        return settings

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

    @model_validator(mode="after")
    def _rule_overrides_exist(self) -> ModelSettings:
        for kind in KINDS:
            overrides = self.kind(kind).rule
            if kind == "risk" and overrides:
                raise ValueError("risk.rule: the markers of harm are set in one place, the "
                                 "policy file's [markers.<name>] tables (docs/models.md)")
            try:
                RULES[kind](**overrides)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{kind}.rule: {exc}") from exc
        return self
