"""The collector's settings while a dataflow runs."""

import gc

import pytest

from pitboss.flows.gc_tuning import pipeline_gc


def test_thresholds_are_restored_when_the_run_fails() -> None:
    before = gc.get_threshold()

    with pytest.raises(RuntimeError), pipeline_gc(12_345):
        assert gc.get_threshold() == (12_345, *before[1:])
        raise RuntimeError("the flow stopped")

    assert gc.get_threshold() == before
