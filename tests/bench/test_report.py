from bench.__main__ import _counted_section
from bench.instructions import Count


def test_the_report_says_why_instructions_were_not_counted() -> None:
    assert "Not counted in this run (`--no-count`)." in _counted_section(None)
    skipped = _counted_section({"skipped": "valgrind is not installed"})
    assert "Not counted: valgrind is not installed." in skipped


def test_the_report_holds_the_count_and_the_comparison() -> None:
    label, value = Count(20_000, 101, 0).row()
    section = "\n".join(_counted_section(
        {"row": {label: value, "against the previous BENCHMARKS.md": "+1.0% against 100"}}))

    assert Count.found_in(section) == Count(20_000, 101, 0)
    assert "+1.0% against 100" in section
