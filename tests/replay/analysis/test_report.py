"""The HTML report: charts are real PNGs, key numbers match summary.json, it opens offline."""

from __future__ import annotations

import base64
import re
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from pitboss.config.settings import load_settings
from pitboss.replay.analysis import charts
from pitboss.replay.analysis.report import write_report
from tests.replay.replayed import ReplayedRun, replayed_run, simulated_log

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Return (width, height) from a PNG's IHDR chunk."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, chdb_path: Path) -> ReplayedRun:
    return replayed_run(tmp_path_factory.mktemp("report"), chdb_path, "report")


@pytest.fixture(scope="module")
def page(run: ReplayedRun) -> Iterator[str]:
    client = run.client()
    try:
        path = write_report(run.run_dir, run.truth, load_settings(), client)
    finally:
        client.close()
    yield path.read_text(encoding="utf-8")


def embedded_pngs(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)",
                                                     html)]


def test_every_chart_is_an_embedded_non_trivial_png(page: str, run: ReplayedRun) -> None:
    images = embedded_pngs(page)
    files = sorted((run.run_dir / "report").glob("*.png"))
    assert len(images) == len(files) == 9  # 6 run charts + 3 truth charts
    for data in images:
        width, height = png_size(data)
        assert width >= 600 and height >= 250
        assert len(data) > 10_000  # drawn content, not an empty canvas
    assert {f.read_bytes() for f in files} == set(images)


def test_key_numbers_match_the_summary(page: str, run: ReplayedRun) -> None:
    shown = dict(re.findall(r'data-key="([^"]+)">([^<]*)<', page))
    summary = orjson.loads((run.run_dir / "summary.json").read_bytes())
    for key in ("events_in", "events_accepted", "events_rejected", "duplicates_dropped",
                "late_events", "players", "feature_rows", "scored_points"):
        assert shown[key] == f"{summary[key]:,}"
    for kind, count in summary["decisions"].items():
        assert shown[f"decisions.{kind}"] == f"{count:,}"
    assert shown["eval.offers.to_protected"] == "0"
    for key in ("rg_reach.within_2h", "rg_reach.within_24h", "rg_false_positives",
                "winback.churners_covered", "winback.lift", "during_exclusion",
                "calibration.risk.ece", "drift.worst"):
        assert shown[f"eval.operator.{key}"]


def test_the_page_needs_nothing_from_the_network(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page


def test_chart_titles_state_the_finding() -> None:
    png = charts.suppressions_chart({"min_gap": 30, "no_marketing_consent": 10})
    assert png_size(png)[0] > 0
    assert charts.action_colour("rg_message") != charts.action_colour("retention_offer")


def test_report_command_writes_the_page(tmp_path: Path) -> None:
    log, truth = simulated_log(tmp_path / "sim", players=40, days=2)
    out = tmp_path / "run"
    pitboss = [sys.executable, "-c", "from pitboss.cli import app; app()"]
    subprocess.run([*pitboss, "replay", "--input", str(log), "--out", str(out)], check=True,
                   capture_output=True)
    done = subprocess.run([*pitboss, "report", str(out), "--truth", str(truth)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    html = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert len(embedded_pngs(html)) == 9


def test_report_refuses_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "from pitboss.cli import app; app()",
                           "report", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "not a run directory" in " ".join(done.stderr.split())
