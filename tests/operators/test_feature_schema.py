"""The feature schema stands alone: naming a column loads no engine, and the names fit the panes."""

from __future__ import annotations

import subprocess
import sys

from pitboss.operators.feature_schema import FEATURE_INDEX, FEATURE_NAMES, WINDOW_NAMES
from pitboss.operators.panes import HOUR_MS, LEVELS

UNIT_MS = {"h": HOUR_MS, "d": 24 * HOUR_MS}


def test_importing_the_schema_loads_no_other_module_of_the_package() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, pitboss.operators.feature_schema\n"
         "print(' '.join(sorted(m for m in sys.modules if m.startswith('pitboss'))))"],
        capture_output=True, text=True, check=True).stdout.split()
    assert loaded == ["pitboss", "pitboss.operators", "pitboss.operators.feature_schema"]


def test_each_window_name_says_the_span_of_its_pane_level() -> None:
    spans = [int(name[:-1]) * UNIT_MS[name[-1]] for name in WINDOW_NAMES]
    assert spans == [size * count for size, count in LEVELS]


def test_the_index_gives_each_name_its_column() -> None:
    assert [FEATURE_NAMES[FEATURE_INDEX[name]] for name in FEATURE_NAMES] == list(FEATURE_NAMES)
    assert len(FEATURE_INDEX) == len(FEATURE_NAMES)
