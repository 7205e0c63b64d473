"""The policy file: defaults, per-jurisdiction overrides, validation errors and versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from pitboss.config.settings import ConfigError
from pitboss.operators.policy.settings import DEFAULT_POLICY_FILE, load_policy


def test_the_packaged_policy_loads_with_overrides_per_jurisdiction() -> None:
    policy = load_policy()
    assert policy.rules_for("UK").thresholds.offer_block_risk == 0.4
    assert policy.rules_for("UK").gaps.rg_offer_block_days == 60.0
    assert policy.rules_for("MT").gaps.rg_offer_block_days == 30.0
    assert not policy.rules_for("NL").offers.types["cashback"].enabled
    assert policy.rules_for("NL").offers.types["free_spins"].enabled
    assert [s.action for s in policy.rules_for("UK").escalation] == [
        "rg_message", "reality_check", "deposit_limit_suggestion", "cool_off_suggestion"]


def _write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(DEFAULT_POLICY_FILE.read_text() + "\n" + extra)
    return path


def test_a_bad_override_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = _write(tmp_path, "[jurisdictions.SE.thresholds]\nchurn_offer = 1.5\n")
    with pytest.raises(ConfigError, match=r"policy\.toml.*jurisdictions\.SE\.thresholds\."
                                          r"churn_offer"):
        load_policy(path)


def test_an_unknown_marker_feature_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "[jurisdictions.SE.markers]\nnot_a_feature = 1.0\n")
    with pytest.raises(ConfigError, match="not_a_feature"):
        load_policy(path)


def test_a_ladder_out_of_order_is_refused(tmp_path: Path) -> None:
    text = DEFAULT_POLICY_FILE.read_text().replace("min_risk = 0.6", "min_risk = 0.95")
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="rising min_risk"):
        load_policy(path)


def test_unreadable_and_malformed_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("version = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_policy(bad)


def test_the_version_changes_with_any_setting_even_without_a_bump(tmp_path: Path) -> None:
    default = load_policy()
    tweaked = load_policy(_write(tmp_path, "[jurisdictions.SE.caps]\nmax_offers_per_7d = 1\n"))
    assert default.version == tweaked.version
    assert default.policy_version != tweaked.policy_version
    assert load_policy().policy_version == default.policy_version
