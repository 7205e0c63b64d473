"""Every settings file is read by one helper: one line naming the file, layered one way."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pitboss.config.settings import ConfigError, load_settings
from pitboss.config.toml_file import deep_merge, read_toml
from pitboss.operators.policy.settings import load_policy
from pitboss.replay.analysis.sweep import load_sweep
from pitboss.replay.simulator.population import PopulationError, load_population

LOADERS: list[tuple[str, Callable[[Path], object], type[Exception]]] = [
    ("configuration", load_settings, ConfigError),
    ("policy", load_policy, ConfigError),
    ("population", load_population, PopulationError),
    ("sweep", load_sweep, PopulationError),
]


@pytest.mark.parametrize(("what", "load", "error"), LOADERS)
def test_a_missing_file_is_one_line_naming_it(
    tmp_path: Path, what: str, load: Callable[[Path], object], error: type[Exception]
) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(error) as caught:
        load(path)
    assert str(caught.value) == f"{path}: cannot read {what}: No such file or directory"


@pytest.mark.parametrize(("what", "load", "error"), LOADERS)
def test_a_file_that_is_not_toml_is_one_line_naming_it(
    tmp_path: Path, what: str, load: Callable[[Path], object], error: type[Exception]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[section\nkey = 1\n", encoding="utf-8")
    with pytest.raises(error) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not valid TOML: ") and "\n" not in message


@pytest.mark.parametrize(("what", "load", "error"), LOADERS)
def test_a_file_that_is_not_utf8_is_one_line_naming_it(
    tmp_path: Path, what: str, load: Callable[[Path], object], error: type[Exception]
) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes("name = 'café'\n".encode("latin-1"))
    with pytest.raises(error) as caught:
        load(path)
    assert str(caught.value) == f"{path}: not valid TOML: not UTF-8 text (byte 11)"


def test_read_toml_reads_tables_and_values(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text('top = 1\n[a]\nx = "y"\n', encoding="utf-8")
    assert read_toml(path, "test", ValueError) == {"top": 1, "a": {"x": "y"}}


_keys = st.sampled_from("abc")
_tables = st.recursive(
    st.integers(0, 3), lambda inner: st.dictionaries(_keys, inner, max_size=3), max_leaves=6
).filter(lambda value: isinstance(value, dict))


def _leaves(table: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    out: dict[tuple[str, ...], Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):  # an empty table sets nothing
            out |= _leaves(value, (*prefix, key))
        else:
            out[(*prefix, key)] = value
    return out


@given(_tables, _tables)
def test_deep_merge_keeps_every_value_of_top_and_changes_neither_input(
    base: dict[str, Any], top: dict[str, Any]
) -> None:
    before = copy.deepcopy((base, top))

    merged = deep_merge(base, top)

    assert (base, top) == before
    merged_leaves = _leaves(merged)
    for path, value in _leaves(top).items():
        assert merged_leaves[path] == value
    assert deep_merge(merged, top) == merged  # laying the same file twice changes nothing


def test_deep_merge_merges_tables_and_replaces_everything_else() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "b": {"z": 1}, "c": 1}
    top = {"a": {"y": [3]}, "b": 2, "c": {"w": 1}}
    assert deep_merge(base, top) == {"a": {"x": 1, "y": [3]}, "b": 2, "c": {"w": 1}}
