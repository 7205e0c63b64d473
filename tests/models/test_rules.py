"""Marker rules: which markers fire, how they combine, and that they stay in [0, 1]."""

import inspect
import pickle
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pitboss.config.models import ChurnRuleSettings, FraudRuleSettings
from pitboss.models.rules import ChurnRule, FraudRule, MarkerRule, RiskRule
from pitboss.operators.feature_schema import FEATURE_NAMES
from pitboss.operators.harm_markers import HARM_MARKERS, MarkerBook
from tests.models.factories import FRAUDSTER, HARMED, RECREATIONAL, features


def test_recreational_player_fires_no_marker_of_harm() -> None:
    assert RiskRule().score(features(RECREATIONAL), "session_end") == (0.0, ())


def test_harmed_player_crosses_the_threshold_and_names_the_markers() -> None:
    value, reasons = RiskRule().score(features(HARMED), "session_end")
    assert value > 0.8
    assert set(reasons) == {"stake_escalation", "loss_chasing", "night_play", "long_sessions",
                            "deposit_frequency"}


def test_one_marker_alone_stays_under_the_default_threshold() -> None:
    value, reasons = RiskRule().score(features(RECREATIONAL, chase_share_24h=0.6), "hourly")
    assert reasons == ("loss_chasing",)
    assert value == pytest.approx(0.4)


def test_reasons_are_ordered_strongest_first() -> None:
    row = features(RECREATIONAL, withdrawals_cancelled_7d=1.0, stake_escalation=2.3)
    value, reasons = RiskRule().score(row, "hourly")
    assert reasons == ("cancelled_withdrawals", "stake_escalation")
    assert value == pytest.approx(1 - (1 - 0.4) * (1 - 0.35 * (2.3 - 1.25) / (2.5 - 1.25)))


def test_chasing_needs_enough_bets() -> None:
    row = features(RECREATIONAL, chase_share_24h=0.6, bets_24h=3.0)
    assert RiskRule().score(row, "hourly") == (0.0, ())


def test_self_exclusion_is_full_risk() -> None:
    assert RiskRule().score(features(self_excluded=1.0), "self_exclusion") == (1.0,
                                                                                ("self_excluded",))


def test_the_risk_rule_reads_the_marker_table_of_the_players_jurisdiction() -> None:
    row = features(RECREATIONAL, chase_share_24h=0.5)
    strict = HARM_MARKERS.overridden({"loss_chasing": {"low": 0.5, "met": 0.6, "high": 0.7}})
    silent = HARM_MARKERS.overridden({"loss_chasing": {"weight": 0.0}})
    rule = RiskRule(MarkerBook(HARM_MARKERS, {"SE": strict, "NL": silent}))
    assert rule.score(row, "hourly")[1] == ("loss_chasing",)
    assert rule.score(row, "hourly", jurisdiction="UK")[1] == ("loss_chasing",)
    assert rule.score(row, "hourly", jurisdiction="SE") == (0.0, ())
    assert rule.score(features(RECREATIONAL, chase_share_24h=0.9), "hourly",
                      jurisdiction="NL") == (0.0, ())
    with pytest.raises(ValueError, match="unknown marker"):
        HARM_MARKERS.overridden({"typo": {"weight": 0.5}})
    with pytest.raises(ValueError, match="below"):
        HARM_MARKERS.overridden({"loss_chasing": {"low": 0.5, "high": 0.1}})
    with pytest.raises(TypeError):
        RiskRule(chase_low=0.5)  # type: ignore[call-arg]


def test_fraud_markers() -> None:
    value, reasons = FraudRule().score(features(FRAUDSTER), "withdrawal")
    assert set(reasons) == {"many_instruments", "many_devices", "bonus_then_fast_withdrawal"}
    assert value > 0.8
    assert FraudRule().score(features(RECREATIONAL), "deposit") == (0.0, ())
    assert FraudRule().score(features(RECREATIONAL), "chargeback")[1] == ("chargeback",)
    assert FraudRule().score(features(RECREATIONAL), "deposit", anomaly=0.95)[1] == (
        "anomalous_wallet_activity",)


def test_bonus_marker_fades_with_real_wagering() -> None:
    heavy_wagering = features(FRAUDSTER, stake_7d=1000.0, instruments_7d=1.0, devices_7d=1.0)
    assert FraudRule().score(heavy_wagering, "withdrawal") == (0.0, ())


def test_churn_markers() -> None:
    drifting = features(RECREATIONAL, quiet_gaps=6.0, frequency_trend=0.3)
    value, reasons = ChurnRule().score(drifting, "inactivity")
    assert reasons == ("inactivity", "falling_frequency")
    assert value > 0.8
    assert ChurnRule().score(features(RECREATIONAL), "session_end") == (0.0, ())


def test_churn_reads_quiet_time_against_the_players_own_rhythm() -> None:
    week = 7 * 1440.0
    weekly = features(RECREATIONAL, minutes_since_last_activity=week, visit_gap_days=7.0,
                      quiet_gaps=1.0)
    daily = features(RECREATIONAL, minutes_since_last_activity=week, visit_gap_days=1.0,
                     quiet_gaps=7.0)
    assert ChurnRule().score(weekly, "inactivity") == (0.0, ())
    assert ChurnRule().score(daily, "inactivity") == (pytest.approx(0.85), ("inactivity",))


SET_RULES: list[type[MarkerRule]] = [ChurnRule, FraudRule]


@pytest.mark.parametrize("rule", SET_RULES)
def test_a_rules_arguments_are_its_sections_fields_with_the_sections_defaults(
    rule: type[MarkerRule],
) -> None:
    parameters = inspect.signature(rule).parameters
    section = rule.SETTINGS()
    assert list(parameters) == list(rule.SETTINGS.model_fields)
    thresholds = {name: p.default for name, p in parameters.items() if name != "weights"}
    assert thresholds == section.model_dump(exclude={"weights"})
    assert parameters["weights"].default is None
    assert rule()._w == section.weights.model_dump()


@pytest.mark.parametrize(("rule", "section"), [
    (ChurnRule, ChurnRuleSettings(drop_low=0.2, weights={"inactivity": 0.5})),
    (ChurnRule, ChurnRuleSettings(weights={})),
    (FraudRule, FraudRuleSettings(anomaly_low=0.5)),
])
def test_a_rule_from_its_section_is_the_rule_of_the_same_arguments(
    rule: type[MarkerRule], section: ChurnRuleSettings | FraudRuleSettings,
) -> None:
    given = section.model_dump(exclude_unset=True)
    made = rule.from_settings(section)
    assert made._get_params() == rule(**given)._get_params()  # what the config hash reads
    assert made._w == section.weights.model_dump()


def test_a_rules_arguments_are_checked_by_its_section() -> None:
    with pytest.raises(ValueError, match=re.escape("drop_low (0.9) must be below drop_high")):
        ChurnRule(drop_low=0.9)
    with pytest.raises(ValueError, match=re.escape("weights.typo")):
        FraudRule(weights={"typo": 0.5})
    with pytest.raises(ValueError, match=re.escape("weights.chargeback")):
        FraudRule(weights={"chargeback": 1.5})


def test_a_weight_of_zero_switches_a_marker_off() -> None:
    drifting = features(RECREATIONAL, quiet_gaps=6.0, frequency_trend=0.3)
    assert ChurnRule(weights={"inactivity": 0.0}).score(drifting, "inactivity")[1] == (
        "falling_frequency",)


def test_rules_pickle_and_clone() -> None:
    table = HARM_MARKERS.overridden({"loss_chasing": {"low": 0.05}, "night_play": {"weight": 0.5}})
    rule = RiskRule(MarkerBook(table))
    row = features(HARMED)
    assert pickle.loads(pickle.dumps(rule)).score(row, "x") == rule.score(row, "x")
    assert rule.clone().score(row, "x") == rule.score(row, "x")


@given(st.lists(st.floats(0, 1e7, allow_nan=False), min_size=len(FEATURE_NAMES),
                max_size=len(FEATURE_NAMES)),
       st.sampled_from(["session_end", "chargeback"]), st.floats(0, 1))
def test_scores_stay_in_unit_interval(row: list[float], trigger: str, anomaly: float) -> None:
    for rule in (RiskRule(), FraudRule(), ChurnRule()):
        value, reasons = rule.score(row, trigger, anomaly)
        assert 0.0 <= value <= 1.0
        assert (value > 0.0) == bool(reasons)
