"""The model set: pure scoring, cold start, reasons, challengers, pickling, determinism."""

import pickle

import pytest

from pitboss.config.models import KINDS, ModelSettings
from pitboss.models.kind_model import Contender, LearnedStateMismatchError
from pitboss.models.model_set import ModelSet
from pitboss.operators.harm_markers import HARM_MARKERS, MarkerBook
from pitboss.operators.outputs import Score, ScoredPoint
from tests.factories import HOUR, MINUTE, T0
from tests.models.factories import (
    FRAUDSTER,
    HARMED,
    RECREATIONAL,
    example,
    features,
    point,
    separable,
)

QUICK = {"min_labels": 20, "min_positives": 5, "min_negatives": 5}


def quick_settings(**extra: object) -> ModelSettings:
    """Return settings whose models warm up after 20 labels; `extra` overrides anything."""
    base: dict[str, object] = {kind: dict(QUICK) for kind in KINDS}
    base.update({"anomaly_window": 20})
    base.update(extra)
    return ModelSettings(**base)


def points() -> list:
    rows = [features(RECREATIONAL), features(HARMED), features(FRAUDSTER),
            features(RECREATIONAL, minutes_since_last_activity=20_000.0)]
    triggers = ["session_end", "deposit", "withdrawal", "inactivity"]
    return [point(rows[i % 4], T0 + i * MINUTE, triggers[i % 4], f"p{i % 7}") for i in range(40)]


def trained(settings: ModelSettings) -> ModelSet:
    models = ModelSet(settings)
    for p in points():
        models.score(p)
        models.observe(p)
    for kind in KINDS:
        for ex in separable(kind, 60):
            models.learn(ex)
    return models


def as_values(scored: ScoredPoint) -> tuple:
    def flat(scores: dict) -> tuple:
        return tuple((k, s.value, s.model_version, s.reasons) for k, s in sorted(scores.items()))
    return flat(scored.scores), flat(scored.challengers)


def test_scoring_never_changes_the_models() -> None:
    for challenger in ("logistic", "tree"):
        models = trained(quick_settings(**{k: {**QUICK, "challenger": {"model": challenger}}
                                           for k in KINDS}))
        before = pickle.dumps(models)
        first = [as_values(models.score(p)) for p in points()]
        second = [as_values(models.score(p)) for p in points()]
        assert first == second
        assert pickle.dumps(models) == before


def test_scaling_means_unchanged_by_scoring() -> None:
    models = trained(quick_settings())
    scaling = models.models["risk"].champion.learner.scaling
    assert scaling is not None
    means = list(scaling.means)
    for p in points():
        models.score(p)
    assert scaling.means == means


def test_cold_start_uses_the_rules_and_says_so() -> None:
    scored = ModelSet(ModelSettings()).score(point(features(HARMED)))
    risk = scored.scores["risk"]
    assert risk.model_version.startswith("risk-") and risk.model_version.endswith("-rules")
    assert "loss_chasing" in risk.reasons and risk.value > 0.5
    assert all(s.model_version.endswith("-rules") for s in scored.scores.values())


def test_warm_models_change_version_and_keep_the_risk_floor() -> None:
    models = trained(quick_settings())
    harmed = models.score(point(features(HARMED))).scores["risk"]
    assert harmed.model_version.endswith("-n32")  # 60 labels learned: power-of-two bucket
    rule_value = models.models["risk"].rule.score(features(HARMED), "session_end")[0]
    assert harmed.value >= rule_value


def test_reason_codes_name_markers_and_learned_inputs() -> None:
    models = trained(quick_settings())
    scored = models.score(point(features(FRAUDSTER), trigger="withdrawal"))
    fraud = scored.scores["fraud"]
    assert fraud.value > 0.5
    markers = {"many_instruments", "many_devices", "bonus_then_fast_withdrawal"}
    learned_inputs = set(models.models["fraud"].inputs.names)
    assert set(fraud.reasons) <= markers | learned_inputs
    assert set(fraud.reasons) & markers


def test_challenger_never_changes_champion_scores() -> None:
    with_challenger = trained(quick_settings())
    without = trained(quick_settings(challengers=False))
    for p in points():
        a, b = with_challenger.score(p), without.score(p)
        assert as_values(a)[0] == as_values(b)[0]
        assert set(a.challengers) == set(KINDS) and b.challengers == {}
        assert all("challenger" in s.model_version for s in a.challengers.values())


def test_warm_champion_with_a_fresh_challenger_scores_each_by_its_own_state() -> None:
    models = trained(quick_settings())
    risk = models.models["risk"]
    before = [models.score(p).scores["risk"] for p in points()]
    assert risk.challenger is not None
    risk.challenger = Contender("risk", "challenger", risk.challenger.learner.settings,
                                models.settings, risk.challenger.digest)
    for p, champion in zip(points(), before, strict=True):
        scored = models.score(p)
        assert scored.scores["risk"] == champion and "-rules" not in champion.model_version
        rule_value, reasons = risk.rule.score(p.features, p.trigger)
        assert scored.challengers["risk"] == Score(rule_value, risk.challenger.version,
                                                   reasons[:models.settings.max_reasons])


def test_pickle_round_trip_scores_identically() -> None:
    models = trained(quick_settings())
    copy = pickle.loads(pickle.dumps(models))
    assert [as_values(models.score(p)) for p in points()] == [
        as_values(copy.score(p)) for p in points()]
    follow_up = separable("risk", 30, start=T0 + 3 * HOUR)
    assert [models.learn(e) for e in follow_up] == [copy.learn(e) for e in follow_up]
    assert models.close() == copy.close()


def test_identical_sequences_give_identical_floats() -> None:
    def run() -> tuple[list, list]:
        models = ModelSet(quick_settings())
        scored, rows = [], []
        for i, p in enumerate(points() * 3):
            scored.append(as_values(models.score(p)))
            models.observe(p)
            kind = KINDS[i % 3]
            rows += models.learn(example(kind, p.features, int(p.features[0] > 0), p.ts_ms + i))
        return scored, rows + models.close()

    assert run() == run()


def test_observe_learns_only_from_wallet_events() -> None:
    models = ModelSet(ModelSettings())
    models.observe(point(features(RECREATIONAL), trigger="session_end"))
    assert models.anomaly.n_learned == 0
    models.observe(point(features(RECREATIONAL), trigger="deposit"))
    assert models.anomaly.n_learned == 1


def test_anomalous_wallet_activity_reaches_the_fraud_reasons() -> None:
    models = ModelSet(quick_settings())
    for i in range(200):
        models.observe(point(features(RECREATIONAL, deposit_amount_24h=20.0 + i % 5),
                             trigger="deposit"))
    odd = features(RECREATIONAL, deposits_24h=15.0, deposit_amount_24h=15_000.0,
                   declined_deposits_24h=6.0, withdrawals_requested_24h=5.0,
                   withdrawal_amount_24h=9000.0, bonus_claims_7d=6.0)
    assert models.anomaly_score(odd) > 0.9 > models.anomaly_score(features(RECREATIONAL))
    assert "anomalous_wallet_activity" in models.score(point(odd, trigger="deposit")
                                                      ).scores["fraud"].reasons


def test_bad_input_is_rejected_with_a_reason() -> None:
    models = ModelSet(ModelSettings())
    with pytest.raises(ValueError, match="features"):
        models.score(point((1.0, 2.0)))
    with pytest.raises(ValueError, match="unknown kind"):
        models.learn(example("vip", features(), 1))


def resumed(models: ModelSet) -> ModelSet:
    """Return `models` as a restart reads them from recovery state."""
    copy: ModelSet = pickle.loads(pickle.dumps(models))
    return copy


def test_a_resumed_model_set_with_the_same_configuration_is_unchanged() -> None:
    settings = quick_settings(challengers=True)
    models = trained(settings)
    copy = resumed(models)
    copy.follow(settings)
    assert copy.versions() == models.versions()
    assert [as_values(models.score(p)) for p in points()] == [
        as_values(copy.score(p)) for p in points()]
    follow_up = separable("risk", 30, start=T0 + 3 * HOUR)
    assert [models.learn(e) for e in follow_up] == [copy.learn(e) for e in follow_up]
    assert models.close() == copy.close()


def test_a_resumed_risk_rule_reads_the_marker_table_configured_now() -> None:
    settings = quick_settings()
    models = trained(settings)
    copy = resumed(models)
    silent = MarkerBook(HARM_MARKERS.overridden({"loss_chasing": {"weight": 0.0}}))
    copy.follow(settings, silent)
    chasing = point(features(RECREATIONAL, chase_share_24h=0.6), T0, "hourly", "p1")
    assert copy.models["risk"].rule.score(chasing.features, "hourly") == (0.0, ())
    assert models.models["risk"].rule.score(chasing.features, "hourly")[1] == ("loss_chasing",)
    old, new = models.models["risk"].champion, copy.models["risk"].champion
    assert new.n_learned == old.n_learned and new.warm == old.warm  # learned state kept
    assert new.version != old.version  # the version names the rule it scores with
    assert new.digest == ModelSet(settings, silent).models["risk"].champion.digest
    assert copy.models["churn"].champion.version == models.models["churn"].champion.version


def test_a_resumed_model_whose_learner_settings_changed_is_refused_by_name() -> None:
    models = trained(quick_settings())
    changed = quick_settings(risk={**QUICK, "min_labels": 21})
    with pytest.raises(LearnedStateMismatchError, match=r"\[models.risk\] settings of the champ"):
        resumed(models).follow(changed)


def test_a_challenger_switched_on_after_a_resume_starts_fresh() -> None:
    models = trained(quick_settings(challengers=False))
    copy = resumed(models)
    copy.follow(quick_settings(challengers=True))
    risk = copy.models["risk"]
    assert risk.challenger is not None and risk.challenger.n_learned == 0
    assert risk.champion.version == models.models["risk"].champion.version
    copy.follow(quick_settings(challengers=False))
    assert copy.models["risk"].challenger is None
