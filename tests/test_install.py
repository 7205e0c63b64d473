"""`pip install .` outside the checkout: one top-level name, every file, a working command.

The distribution installs all of Pitboss under the one name `pitboss` (the top-level
folders through setuptools' `package-dir`), so nothing it installs shadows, or is
shadowed by, a package a data engineer commonly has (`config`, `models`, `operators`,
...). These tests build the wheel from a copy of the folders pyproject.toml names (the
checkout gets no build/ or egg-info), install it with `--no-deps` into a fresh virtual
environment that borrows this interpreter's dependencies through a `.pth` file (nothing
is downloaded but the build backend, which pip fetches as it does for `make venv`), and
run `pitboss simulate`, `replay` and `report` there from another directory, with no
PYTHONPATH, so only the installed files can answer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
FOLDERS = PYPROJECT["tool"]["setuptools"]["package-dir"]  # {"pitboss.config": "config", ...}
SETUPTOOLS_WARNING = "is absent from the `packages` configuration"


@dataclass(frozen=True)
class Installed:
    """A wheel built from the sources and the fresh environment it is installed in."""

    wheel: Path
    build_log: str
    venv: Path
    site_packages: Path
    sources: Path

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        """Run `args[0]` from the environment's bin/ in `cwd`, without PYTHONPATH."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "PYTHONHOME") and not k.startswith("PITBOSS_")}
        done = subprocess.run([str(self.venv / "bin" / args[0]), *args[1:]], cwd=cwd, env=env,
                              capture_output=True, text=True, check=False, timeout=600)
        assert done.returncode == 0, f"{' '.join(args)}:\n{done.stderr[-3000:]}"
        return done


def copy_sources(to: Path) -> Path:
    """Copy what a build reads (pyproject.toml, the readme, the package folders) into `to`."""
    for name in ("pyproject.toml", PYPROJECT["project"]["readme"]):
        shutil.copy2(ROOT / name, to / name)
    for folder in ("pitboss", *FOLDERS.values()):
        shutil.copytree(ROOT / folder, to / folder, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return to


def source_files(sources: Path) -> set[str]:
    """Return where each file of the package folders must land in the wheel."""
    homes = {"pitboss": "pitboss", **{folder: name.replace(".", "/")
                                      for name, folder in FOLDERS.items()}}
    files = set()
    for folder, home in homes.items():
        for path in (sources / folder).rglob("*"):  # does not enter the links pitboss/<folder>
            if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts:
                files.add(f"{home}/{path.relative_to(sources / folder).as_posix()}")
    return files


def top_level_names(paths: list[str]) -> set[str]:
    """Return the importable names (and .pth hooks) that installed `paths` put at the top."""
    names = set()
    for path in paths:
        first = path.split("/")[0]
        if first == ".." or first.endswith((".dist-info", ".data")):
            continue  # the console script, the distribution's metadata
        names.add(first.removesuffix(".py"))
    return names


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    sources = copy_sources(tmp_path_factory.mktemp("sources"))
    wheels = tmp_path_factory.mktemp("wheels")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--wheel-dir", str(wheels),
         str(sources)], capture_output=True, text=True, check=False, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = wheels.glob("pitboss-*.whl")
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site_packages = Path(subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True).stdout.strip())
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site_packages / "dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "--quiet", "--no-deps", "--no-index", str(wheel)], check=True)
    return Installed(wheel, built.stdout + built.stderr, venv, site_packages, sources)


def test_the_build_warns_of_no_missing_package(installed: Installed) -> None:
    assert SETUPTOOLS_WARNING not in installed.build_log


def test_the_wheel_holds_every_file_of_the_package_folders_under_pitboss(
        installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        record = wheel.read(next(n for n in wheel.namelist() if n.endswith(".dist-info/RECORD")))
        top_level = wheel.read(next(n for n in wheel.namelist()
                                    if n.endswith(".dist-info/top_level.txt")))
        packaged = {n for n in wheel.namelist() if ".dist-info/" not in n}
    assert packaged == source_files(installed.sources)
    recorded = [line.split(",")[0] for line in record.decode().splitlines() if line]
    assert top_level_names(recorded) == {"pitboss"}
    assert top_level.decode().split() == ["pitboss"]


def test_the_installed_distribution_puts_only_pitboss_at_the_top(installed: Installed) -> None:
    """No `config`, `models`, `flows`, ... to clash with other packages."""
    (dist_info,) = installed.site_packages.glob("pitboss-*.dist-info")
    recorded = [line.split(",")[0] for line in
                (dist_info / "RECORD").read_text(encoding="utf-8").splitlines() if line]
    assert top_level_names(recorded) == {"pitboss"}
    ours = {p.name for p in installed.site_packages.iterdir()} - {"dependencies.pth"}
    assert {name for name in ours if not name.endswith(".dist-info")} == {"pitboss"}


def test_simulate_replay_and_report_run_from_another_directory(
        installed: Installed, tmp_path: Path) -> None:
    where = installed.run("python", "-c", "import pitboss.operators.features as features; "
                          "print(features.__file__)", cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(installed.site_packages)
    installed.run("pitboss", "simulate", "--out", "log.jsonl", "--players", "40", "--days", "2",
                  "--truth", "truth.json", cwd=tmp_path)
    installed.run("pitboss", "replay", "--input", "log.jsonl", "--out", "run", cwd=tmp_path)
    installed.run("pitboss", "report", "run", "--truth", "truth.json", cwd=tmp_path)
    summary = orjson.loads((tmp_path / "run" / "summary.json").read_bytes())
    assert summary["events_in"] > 0
    assert summary["feature_rows"] > 0
    assert sum(summary["decisions"].values()) > 0
    assert (tmp_path / "run" / "models" / "manifest.json").is_file()
    assert "<html" in (tmp_path / "run" / "report" / "index.html").read_text(encoding="utf-8")
