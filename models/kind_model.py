"""One model kind (`churn`, `risk` or `fraud`): its rule, its champion and its challenger.

A `Contender` is one learned model in one role with its warm-up counters, its
version and its progressive validation. `KindModel` combines a contender's
learned score with the kind's marker rule:

- cold (fewer than `min_labels` labels, `min_positives` positives or `min_negatives`
  negatives learned): the rule score alone, version `...-rules`;
- warm risk: `max(rule, learned)`: the markers of harm are always a floor;
- warm churn and fraud: `w * learned + (1 - w) * rule`, where w grows from 0 at warm-up
  to `learned_weight` over `trust_labels` more labels (a model that has only just
  warmed up does not take over in one step); with `rule_floor` (churn) the rule's score
  is also a floor: max(rule, blend).

Reasons interleave the two parts, the one that weighs most leading: rule markers,
and the learned model's inputs with the largest positive contributions; without
repeats, at most `max_reasons`. The challenger is combined the same way
with the same rule, so champion and challenger differ only in their learner; it
is scored and validated but never drives a decision.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from pitboss.config.models import KindSettings, LearnerSettings, ModelSettings
from pitboss.models.inputs import INPUTS
from pitboss.models.linear import Learner, learn_pair
from pitboss.models.rules import RULES, MarkerRule, RiskRule
from pitboss.models.validation import HourlyValidation, MetricRow
from pitboss.models.versioning import config_hash, version_string
from pitboss.operators.harm_markers import MarkerBook
from pitboss.operators.outputs import LabelledExample, Score

CHAMPION, CHALLENGER = "champion", "challenger"


class LearnedStateMismatchError(RuntimeError):
    """Learned models resumed from recovery state were trained under settings since changed."""


class Contender:
    """A learned model of one kind in one role: learner, label counts, version, validation.

    Args:
        kind: the model kind.
        role: `champion` or `challenger`.
        learner: the learner's settings.
        settings: all model settings (for the kind's warm-up and the seed).
        digest: the configuration hash that goes into the version.

    """

    def __init__(self, kind: str, role: str, learner: LearnerSettings, settings: ModelSettings,
                 digest: str) -> None:
        ks = settings.kind(kind)
        self.kind = kind
        self.role = role
        self.digest = digest
        self.min_labels = ks.min_labels
        self.min_positives = ks.min_positives
        self.min_negatives = ks.min_negatives
        self.learner = Learner(INPUTS[kind].names, learner, settings.seed)
        self.positives = 0
        self.validation = HourlyValidation(kind, role, ks.threshold, settings.drift_delta)
        self.version = self._version()

    @property
    def n_learned(self) -> int:
        """Labels learned so far."""
        return self.learner.n_learned

    @property
    def warm(self) -> bool:
        """Whether the learned model has seen enough labels of each class to be used."""
        n = self.learner.n_learned
        return (
            n >= self.min_labels
            and self.positives >= self.min_positives
            and n - self.positives >= self.min_negatives
        )

    def _version(self) -> str:
        return version_string(self.kind, self.role, self.digest, self.warm, self.n_learned)

    def frozen(self) -> Contender:
        """Return a copy for scoring only: the learner as it is now, no validation."""
        twin = copy.copy(self)
        twin.learner = self.learner.frozen()
        twin.validation = None  # type: ignore[assignment]  # scoring never reads it
        return twin

    def adopt(self, other: Contender) -> None:
        """Take over the learned state of `other` (same configuration), e.g. from an export."""
        self.learner = other.learner
        self.positives = other.positives
        self.version = self._version()

    def configured_as(self, digest: str) -> None:
        """Take a new configuration hash (the rule changed, the learned state fits) and version."""
        self.digest = digest
        self.version = self._version()

    def learn(self, values: Sequence[float], label: int) -> None:
        """Learn one label and refresh the version."""
        self.learner.learn(values, label)
        self.learned(label)

    def learned(self, label: int) -> None:
        """Count a label the learner has just learned and refresh the version."""
        self.positives += 1 if label else 0
        self.version = self._version()


class KindModel:
    """The rule, champion and optional challenger of one model kind.

    Args:
        kind: `churn`, `risk` or `fraud`.
        settings: all model settings.
        markers: the markers of harm per jurisdiction (risk only); the default table
            when None.

    """

    def __init__(self, kind: str, settings: ModelSettings,
                 markers: MarkerBook | None = None) -> None:
        ks = settings.kind(kind)
        self.kind = kind
        self.inputs = INPUTS[kind]
        self.rule = make_rule(kind, settings, markers)
        self.learned_weight = ks.learned_weight
        self.trust_labels = ks.trust_labels
        self.rule_floor = ks.rule_floor
        self.max_reasons = settings.max_reasons
        self.champion = Contender(kind, CHAMPION, ks.champion, settings,
                                  kind_config_hash(kind, settings, ks.champion, self.rule))
        self.challenger: Contender | None = None
        if settings.challengers and ks.challenger is not None:
            self.challenger = Contender(kind, CHALLENGER, ks.challenger, settings,
                                        kind_config_hash(kind, settings, ks.challenger,
                                                         self.rule))

    def follow(self, settings: ModelSettings, markers: MarkerBook | None = None) -> None:
        """Take the current configuration's rule; keep the learned state it still fits.

        A model resumed from recovery state carries the rule it was pickled with. The
        rule (thresholds, weights, the marker table) holds no learned state, so it is
        rebuilt from the current configuration, and each contender's version follows
        it. The learned part is kept when its own settings (learner, warm-up, blend,
        seed, anomaly detector) are unchanged; a challenger switched on starts fresh,
        one switched off is dropped. With nothing changed the model is exactly as
        resumed.

        Raises:
            LearnedStateMismatchError: a contender's own settings changed: its learned
                state no longer matches them.

        """
        rule = make_rule(self.kind, settings, markers)
        ks = settings.kind(self.kind)
        for contender in self.contenders():
            learner = ks.champion if contender.role == CHAMPION else ks.challenger
            if learner is None:
                continue
            if kind_config_hash(self.kind, settings, learner, self.rule) != contender.digest:
                raise LearnedStateMismatchError(
                    f"[models.{self.kind}] settings of the {contender.role} (learner, warm-up, "
                    "blend, seed or anomaly detector) changed since the recovery state was "
                    f"written ({contender.digest[:8]} then): restore them, or start the "
                    "worker on an empty recovery directory to learn afresh")
            contender.configured_as(kind_config_hash(self.kind, settings, learner, rule))
        self.rule = rule
        self.max_reasons = settings.max_reasons
        if not settings.challengers or ks.challenger is None:
            self.challenger = None
        elif self.challenger is None:
            self.challenger = Contender(self.kind, CHALLENGER, ks.challenger, settings,
                                        kind_config_hash(self.kind, settings, ks.challenger,
                                                         rule))

    def frozen(self) -> KindModel:
        """Return a copy that scores as this model does now, unchanged by later learning."""
        twin = copy.copy(self)
        twin.champion = self.champion.frozen()
        twin.challenger = None if self.challenger is None else self.challenger.frozen()
        return twin

    def contenders(self) -> list[Contender]:
        """Return the champion, then the challenger if there is one."""
        return [self.champion] if self.challenger is None else [self.champion, self.challenger]

    def score(self, features: Sequence[float], trigger: str,
              anomaly: float = 0.0, jurisdiction: str = "") -> tuple[Score, Score | None]:
        """Return the champion's score and the challenger's (or None); changes nothing.

        The inputs are extracted only once, and only for a warm contender: a cold one
        scores by the rule alone (the rule of the player's `jurisdiction`).
        """
        rule = self.rule.score(features, trigger, anomaly, jurisdiction)
        values: list[float] | None = None
        scores: list[Score] = []
        for contender in self.contenders():
            if not contender.warm:
                scores.append(self._rule_only(contender, rule))
                continue
            if values is None:
                values = self.inputs.extract(features)
            scores.append(self._blend(contender, rule, values)[0])
        return scores[0], scores[1] if len(scores) > 1 else None

    def learn(self, example: LabelledExample, hour_ms: int, anomaly: float) -> list[MetricRow]:
        """Score the example with each contender as it is, record that, then learn it.

        Contenders are independent, so all are scored before any learns; champion and
        challenger then learn together (`pitboss.models.linear.learn_pair`), sharing the scaling.
        """
        rule = self.rule.score(example.features, "", anomaly)
        values = self.inputs.extract(example.features)
        rows: list[MetricRow] = []
        contenders = self.contenders()
        for contender in contenders:
            score, learned = self._final(contender, rule, values)
            rows += contender.validation.add(hour_ms, example.label, score.value, learned,
                                             contender.version)
        if self.challenger is None:
            self.champion.learn(values, example.label)
        else:
            learn_pair(self.champion.learner, self.challenger.learner, values, example.label)
            for contender in contenders:
                contender.learned(example.label)
        return rows

    def close_hour(self) -> list[MetricRow]:
        """Return the metric rows of the open hour of every contender."""
        rows: list[MetricRow] = []
        for contender in self.contenders():
            rows += contender.validation.close(contender.version)
        return rows

    def _final(self, contender: Contender, rule: tuple[float, tuple[str, ...]],
               values: list[float]) -> tuple[Score, float]:
        """Return the contender's final score and its learned part alone (for validation)."""
        if not contender.warm:
            return self._rule_only(contender, rule), contender.learner.predict(values, 1)[0]
        return self._blend(contender, rule, values)

    def _trust(self, contender: Contender) -> float:
        """Return the share of `learned_weight` a warm contender has earned so far."""
        return _trust_share(contender.n_learned, contender.min_labels, self.trust_labels)

    def _rule_only(self, contender: Contender, rule: tuple[float, tuple[str, ...]]) -> Score:
        """Return a cold contender's score: the rule's, under the contender's version."""
        return Score(rule[0], contender.version, rule[1][:self.max_reasons])

    def _blend(self, contender: Contender, rule: tuple[float, tuple[str, ...]],
               values: list[float]) -> tuple[Score, float]:
        """Return a warm contender's score, the rule and learned parts combined, and the latter."""
        rule_value, rule_reasons = rule
        learned, learned_reasons = contender.learner.predict(values, self.max_reasons)
        if self.kind == "risk":
            value = max(rule_value, learned)
            learned_first = learned > rule_value
        else:
            w = self.learned_weight * self._trust(contender)
            value = w * learned + (1.0 - w) * rule_value
            learned_first = w * learned >= (1.0 - w) * rule_value
            if self.rule_floor and rule_value > value:
                value, learned_first = rule_value, False
        first, second = ((learned_reasons, rule_reasons) if learned_first
                         else (rule_reasons, learned_reasons))
        return Score(value, contender.version, _merge(first, second, self.max_reasons)), learned


def _trust_share(n_learned: int, min_labels: int, trust_labels: int) -> float:
    """Return how far a warm model is trusted: 0 at warm-up, 1 after `trust_labels` more.

    >>> _trust_share(200, 200, 1000), _trust_share(700, 200, 1000), _trust_share(5000, 200, 0)
    (0.0, 0.5, 1.0)
    """
    if trust_labels <= 0:
        return 1.0
    return min(1.0, max(0.0, (n_learned - min_labels) / trust_labels))


def _merge(first: tuple[str, ...], second: tuple[str, ...], limit: int) -> tuple[str, ...]:
    """Interleave two reason lists, `first` leading, without repeats, at most `limit`.

    >>> _merge(("a", "b", "c"), ("x", "a"), 3)
    ('a', 'x', 'b')
    """
    if not second:
        return first[:limit]
    out: list[str] = []
    for i in range(max(len(first), len(second))):
        for reasons in (first, second):
            if i < len(reasons) and reasons[i] not in out:
                out.append(reasons[i])
                if len(out) == limit:
                    return tuple(out)
    return tuple(out)


def make_rule(kind: str, settings: ModelSettings, markers: MarkerBook | None = None) -> MarkerRule:
    """Return the marker rule of `kind`: risk reads the marker table, the others `[models]`."""
    if kind == "risk":
        return RiskRule(markers)
    return RULES[kind].from_settings(settings.rule(kind))


def kind_config_hash(kind: str, settings: ModelSettings, learner: LearnerSettings,
                     rule: MarkerRule | None = None) -> str:
    """Return the configuration hash of one contender (see `pitboss.models.versioning`)."""
    ks: KindSettings = settings.kind(kind)
    config: dict[str, object] = {
        "kind": kind,
        "inputs": INPUTS[kind].describe(),
        "rule": (rule if rule is not None else make_rule(kind, settings))._get_params(),
        "learner": learner.model_dump(),
        "min_labels": ks.min_labels,
        "min_positives": ks.min_positives,
        "min_negatives": ks.min_negatives,
        "learned_weight": ks.learned_weight,
        "trust_labels": ks.trust_labels,
        "rule_floor": ks.rule_floor,
        "seed": settings.seed,
    }
    if kind == "fraud":
        config["anomaly"] = [settings.anomaly_trees, settings.anomaly_height,
                             settings.anomaly_window, list(settings.anomaly_triggers)]
    return config_hash(config)
