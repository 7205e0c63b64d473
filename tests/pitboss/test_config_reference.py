"""docs/configuration.md is generated from the settings models and must be current."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from pitboss.config.settings import Settings
from pitboss.config_reference import DOC_FILE, main, render
from pitboss.operators.policy.settings import PolicySettings


def test_the_checked_in_reference_is_current() -> None:
    assert DOC_FILE.read_text(encoding="utf-8") == render(), (
        "docs/configuration.md is out of date: run `python -m pitboss.config_reference` "
        "(make docs)")
    assert main(["--check"]) == 0


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    names = []
    for name, info in model.model_fields.items():
        names.append(f"{prefix}{name}")
        section = info.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            names += _fields(section, f"{prefix}{name}.")
    return names


def test_every_field_has_a_row_and_a_description() -> None:
    text = render()
    for model in (Settings, PolicySettings):
        for dotted in _fields(model):
            owner, _, name = dotted.rpartition(".")
            assert f"| `{name}` |" in text or f"[{dotted}]" in text, dotted
            if owner:
                assert f"`[{owner}]`" in text, owner


def test_a_default_changed_in_defaults_toml_shows_in_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pitboss.config_reference as config_reference

    defaults = tmp_path / "defaults.toml"
    defaults.write_text(config_reference.DEFAULTS_FILE.read_text(encoding="utf-8").replace(
        "shards = 16", "shards = 64", 1), encoding="utf-8")
    monkeypatch.setattr(config_reference, "DEFAULTS_FILE", defaults)

    assert "| `shards` | integer (>= 1, <= 4096) | `64` |" in render()
    assert main(["--check"]) == 1
