"""Every example query in docs/analysts.md passes the guard, runs on a replay's store, returns rows.

Each returns the same columns and rows as its own text run unguarded (readonly=1), so
running the engine's canonical text instead of the analyst's changes no result.

Also checks the analyst views against the run's own accounting: the daily KPIs add up
to the decisions and bets the run recorded.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pitboss.replay.analysis.query import run_query
from tests.replay.replayed import ReplayedRun, replayed_run

DOC = Path(__file__).parents[2] / "docs" / "analysts.md"
EXAMPLES = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, chdb_path: Path) -> ReplayedRun:
    return replayed_run(tmp_path_factory.mktemp("analysts"), chdb_path, "analysts")


def test_the_document_has_at_least_ten_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("number", range(1, len(EXAMPLES) + 1))
def test_example_query_returns_rows(number: int, run: ReplayedRun) -> None:
    client = run.client()
    try:
        result = run_query(client, EXAMPLES[number - 1])
        # The rows the example gave before the guard: its own text, unparsed, readonly=1.
        before = client.query(EXAMPLES[number - 1], settings={"readonly": 1})
    finally:
        client.close()
    assert result.rows, f"example {number} returned no rows"
    assert result.columns == tuple(before.column_names)
    # Ties in ORDER BY may come back in either order: compare the rows as multisets.
    assert sorted(map(repr, result.rows)) == sorted(repr(tuple(r)) for r in before.result_rows)


def test_daily_kpis_add_up_to_the_run(run: ReplayedRun) -> None:
    client = run.client()
    try:
        kpis = run_query(client, "SELECT sum(interventions), sum(reviews), sum(offers),"
                                 " sum(suppressions), sum(bets) FROM daily_kpis").rows[0]
        bets = run_query(client, "SELECT sum(last) FROM (SELECT argMax(lifetime_bets, as_of)"
                                 " AS last FROM player_features FINAL GROUP BY player_id)").rows[0]
    finally:
        client.close()
    decisions = run.summary["decisions"]
    assert kpis[:4] == (decisions["intervention"], decisions["review"], decisions["offer"],
                        run.summary["decisions_by_status"].get("suppressed", 0))
    assert kpis[4] == pytest.approx(bets[0])


def test_follow_up_has_one_row_per_action_that_reached_a_player(run: ReplayedRun) -> None:
    client = run.client()
    try:
        rows = run_query(client, "SELECT group, count() FROM intervention_follow_up"
                                 " GROUP BY group").rows
    finally:
        client.close()
    counted = dict(rows)
    assert counted.get("intervention", 0) == run.summary["decisions"]["intervention"]
    assert counted.get("offer", 0) == run.summary["decisions"]["offer"]
