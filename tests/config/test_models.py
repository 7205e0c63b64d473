"""The `[models]` section: per-kind defaults, and the churn and fraud rules' typed sections."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from pitboss.config.models import (
    KINDS,
    ChurnRuleSettings,
    FraudRuleSettings,
    ModelSettings,
    RuleSettings,
)
from pitboss.config.settings import ConfigError, load_settings

RULE_SECTIONS: list[type[RuleSettings]] = [ChurnRuleSettings, FraudRuleSettings]


def load(tmp_path: Path, toml: str) -> ModelSettings:
    path = tmp_path / "pitboss.toml"
    path.write_text(toml, encoding="utf-8")
    return load_settings(path).models


def test_a_rule_threshold_and_a_weight_are_set_in_the_kinds_rule_table(tmp_path: Path) -> None:
    models = load(tmp_path, "[models.churn.rule]\ndrop_low = 0.2\n\n"
                            "[models.fraud.rule.weights]\nchargeback = 1.0\n")
    assert models.churn.rule == ChurnRuleSettings(drop_low=0.2)
    assert models.fraud.rule.weights.chargeback == 1.0
    assert models.fraud.rule.weights.many_devices == FraudRuleSettings().weights.many_devices
    assert models.churn.learned_weight == 0.8  # the kind's other defaults are kept


@pytest.mark.parametrize(("toml", "message"), [
    ("[models.churn.rule]\ndrop_lo = 0.2\n",
     "models.churn.rule.drop_lo: Extra inputs are not permitted (did you mean 'drop_low'?)"),
    ("[models.fraud.rule.weights]\nchargebak = 0.5\n",
     "models.fraud.rule.weights.chargebak: Extra inputs are not permitted "
     "(did you mean 'chargeback'?)"),
    ("[models.fraud.rule.weights]\nchargeback = 1.5\n",
     "models.fraud.rule.weights.chargeback: Input should be less than or equal to 1"),
    ("[models.churn.rule]\ndrop_low = 0.9\n",
     "models.churn.rule: Value error, drop_low (0.9) must be below drop_high (0.8)"),
    ("[models.fraud.rule]\nanomaly_high = 0.5\n",
     "models.fraud.rule: Value error, anomaly_low (0.6) must be below anomaly_high (0.5)"),
    ("[models.risk.rule]\nchase_low = 0.2\n",
     "models: Value error, risk.rule: the markers of harm are set in one place, the policy "
     "file's [markers.<name>] tables (docs/models.md)"),
])
def test_a_bad_rule_setting_is_one_line_naming_the_file_and_the_field(
    tmp_path: Path, toml: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, toml)
    assert str(caught.value) == f"{tmp_path / 'pitboss.toml'}: invalid configuration: {message}"


@pytest.mark.parametrize("section", RULE_SECTIONS)
def test_every_low_has_a_high(section: type[RuleSettings]) -> None:
    lows = [name for name in section.model_fields if name.endswith("_low")]
    highs = [name for name in section.model_fields if name.endswith("_high")]
    assert lows and [low.removesuffix("_low") for low in lows] == [
        high.removesuffix("_high") for high in highs]


@pytest.mark.parametrize("section", RULE_SECTIONS)
@given(low=st.floats(-10, 10), high=st.floats(-10, 10))
def test_a_ramp_is_accepted_exactly_when_its_low_is_below_its_high(
    section: type[RuleSettings], low: float, high: float
) -> None:
    for name in (n for n in section.model_fields if n.endswith("_low")):
        ramp = {name: low, name.removesuffix("_low") + "_high": high}
        if low < high:
            assert section(**ramp).model_dump(include=set(ramp)) == ramp
        else:
            with pytest.raises(ValidationError, match=f"{name} .* must be below"):
                section(**ramp)


def test_each_kind_keeps_its_own_defaults_under_a_partial_table() -> None:
    given = ModelSettings(**{kind: {"threshold": 0.7} for kind in KINDS})
    assert all(given.kind(kind).threshold == 0.7 for kind in KINDS)
    assert given.model_dump(exclude={kind: {"threshold"} for kind in KINDS}) == (
        ModelSettings().model_dump(exclude={kind: {"threshold"} for kind in KINDS}))


def test_the_rule_of_a_kind() -> None:
    settings = ModelSettings(fraud={"rule": {"devices_high": 6.0}})
    assert settings.rule("churn") == ChurnRuleSettings()
    assert settings.rule("fraud") == FraudRuleSettings(devices_high=6.0)
    with pytest.raises(KeyError, match=re.escape("no [models.risk.rule]")):
        settings.rule("risk")
