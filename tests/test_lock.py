"""The lock files pin every dependency of pyproject.toml, exactly and with hashes.

`make venv` installs requirements-dev.lock and the Docker image requirements.lock,
each with `--require-hashes`, then the project with `--no-deps`: a dependency added
to pyproject.toml without `make lock` would be missing at run time. These tests
catch that, and a pin that no longer satisfies pyproject's range.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\$", re.MULTILINE)


def _pins(lock: str) -> dict[str, list[tuple[str, str]]]:
    """Each locked name with its (version, environment marker) pins."""
    text = (ROOT / lock).read_text(encoding="utf-8")
    pins: dict[str, list[tuple[str, str]]] = {}
    for name, version, marker in _PIN.findall(text):
        pins.setdefault(canonicalize_name(name), []).append((version, marker.strip()))
    return pins


def _requirements(extra: str | None = None) -> list[Requirement]:
    lines = PROJECT["dependencies"] if extra is None else PROJECT["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize(("lock", "extra"), [("requirements.lock", None),
                                             ("requirements-dev.lock", "dev")])
def test_every_dependency_is_pinned_within_its_range(lock: str, extra: str | None) -> None:
    pins = _pins(lock)
    wanted = _requirements() + (_requirements(extra) if extra else [])
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in {lock}: run `make lock`"
        for version, _ in pins[name]:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{lock} pins {name}=={version}, outside pyproject's {requirement}")


def test_every_pin_carries_hashes() -> None:
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / lock).read_text(encoding="utf-8")
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
        for entry in entries:
            assert "--hash=sha256:" in entry, f"{lock}: no hash for {entry.splitlines()[0]}"


def test_the_dev_lock_installs_the_runtime_lock_unchanged() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
