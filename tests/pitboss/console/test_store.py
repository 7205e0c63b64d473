"""The console's store reads without FINAL: each query against its FINAL twin, duplicates included.

A small simulated run is replayed into the test process's chDB engine; then some
players' rows are written a second time, as a replay or a resume does before the
parts merge. Every read of `CaseStore` must give what the same read with `FINAL`
(ClickHouse's own deduplication) gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from pitboss.console.cases import CaseBook
from pitboss.console.store import CaseStore, QueueFilter
from tests.replay.replayed import ReplayedRun, replayed_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, chdb_path: Path) -> ReplayedRun:
    """Replay a small simulated run into this process's engine."""
    return replayed_run(tmp_path_factory.mktemp("console-store"), chdb_path, "console_store")


@pytest.fixture(scope="module")
def client(run: ReplayedRun) -> Iterator[Client]:
    """Open a client on the run, with every row of the reviewed players written twice."""
    client = run.client()
    players = [r[0] for r in client.query(
        "SELECT DISTINCT player_id FROM decisions WHERE kind = 'review'").result_rows]
    assert len(players) >= 3, "the run raises reviews"
    tables = ("decisions", "player_features", "player_scores")
    for table in tables:  # no merge may fold the copies away while the module runs
        client.command(f"SYSTEM STOP MERGES {table}")
        client.command(f"INSERT INTO {table} SELECT * FROM {table} WHERE player_id IN "
                       "{players:Array(String)}", parameters={"players": players},
                       settings={"insert_deduplicate": 0})  # fmt: skip
    yield client
    for table in tables:
        client.command(f"SYSTEM START MERGES {table}")
    client.close()


def _final(client: Client, sql: str, **parameters: Any) -> list[dict[str, Any]]:
    result = client.query(sql, parameters=parameters)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def _reviewed_players(client: Client) -> list[str]:
    return [row["player_id"] for row in _final(
        client, "SELECT DISTINCT player_id FROM decisions WHERE kind = 'review' "
        "ORDER BY player_id")]


def test_rows_were_written_twice(client: Client) -> None:
    (player, *_) = _reviewed_players(client)
    plain = _final(client, "SELECT count() AS n FROM decisions WHERE player_id = {p:String}",
                   p=player)
    final = _final(client, "SELECT count() AS n FROM decisions FINAL WHERE player_id = {p:String}",
                   p=player)
    assert plain[0]["n"] == 2 * final[0]["n"] > 0


@pytest.mark.parametrize("wanted", [
    QueueFilter(), QueueFilter(sort="newest"), QueueFilter(action="fraud_review"),
    QueueFilter(jurisdiction="UK"), QueueFilter(player="p00001")])
def test_the_queue_is_the_final_queue(client: Client, wanted: QueueFilter) -> None:
    store = CaseStore(client)
    reference = [row["decision_id"] for row in _final(
        client, "SELECT decision_id, decided_at FROM decisions FINAL WHERE kind = 'review' "
        "AND status = 'pending_review' AND decision_id NOT IN (SELECT decision_id FROM "
        "decisions WHERE kind = 'review' AND status IN ('approved', 'denied')) "
        "ORDER BY decided_at " + ("DESC" if wanted.sort == "newest" else "") + ", decision_id")
        if _matches(row, wanted, client)]
    assert reference or wanted.player or wanted.jurisdiction
    assert [r.decision_id for r in store.open_reviews(wanted, limit=10_000)] == reference
    assert [r.decision_id for r in store.open_reviews(wanted, limit=3)] == reference[:3]


def _matches(row: dict[str, Any], wanted: QueueFilter, client: Client) -> bool:
    (full,) = _final(client, "SELECT action, jurisdiction, severity, player_id FROM decisions "
                     "FINAL WHERE decision_id = {d:String} AND status = 'pending_review'",
                     d=row["decision_id"])
    return all(not getattr(wanted, c) or full[c] == getattr(wanted, c)
               for c in ("action", "jurisdiction", "severity")) \
        and wanted.player.casefold() in full["player_id"].casefold()


def test_counts_and_filter_values_are_the_final_ones(client: Client) -> None:
    summary = CaseStore(client).queue_summary()
    (reference,) = _final(
        client, "SELECT countIf(status = 'pending_review') AS all_, countIf(status = "
        "'approved') AS approved, countIf(status = 'denied') AS denied, groupUniqArray(action) "
        "AS actions FROM decisions FINAL WHERE kind = 'review'")
    assert summary.counts == {"all": reference["all_"], "approved": reference["approved"],
                              "denied": reference["denied"],
                              "open": reference["all_"] - reference["approved"]
                              - reference["denied"]}  # fmt: skip
    assert summary.facets["action"] == sorted(reference["actions"])
    (newest,) = _final(client, "SELECT max(as_of) AS t FROM player_features FINAL")
    assert summary.newest == newest["t"]


def test_a_players_story_is_the_final_one(client: Client) -> None:
    store = CaseStore(client)
    for player in _reviewed_players(client)[:5]:
        story = store.player_story(player)
        decisions = _final(client, "SELECT * FROM decisions FINAL WHERE player_id = {p:String}",
                           p=player)
        key = lambda row: (row["decided_at"], row["decision_id"], row["status"])  # noqa: E731
        assert [r.values for r in story.decisions] == sorted(decisions, key=key)
        features = _final(client, "SELECT as_of, stake_24h, net_loss_24h, deposit_amount_24h, "
                          "session_minutes_24h FROM player_features FINAL "
                          "WHERE player_id = {p:String} ORDER BY as_of, trigger", p=player)
        assert [(t, v) for t, v in story.features] == [
            (row.pop("as_of"), row) for row in features]
        scores = _final(client, "SELECT scored_at, risk, fraud, churn FROM player_scores FINAL "
                        "WHERE player_id = {p:String} "
                        "ORDER BY scored_at, trigger, trigger_event_id", p=player)
        assert [(t, v) for t, v in story.scores] == [(row.pop("scored_at"), row)
                                                     for row in scores]
        (latest,) = _final(client, "SELECT * EXCEPT (player_id, trigger, trigger_event_id, "
                           "jurisdiction, as_of) FROM player_features FINAL WHERE player_id = "
                           "{p:String} ORDER BY as_of DESC, trigger DESC LIMIT 1", p=player)
        snapshot = store.latest_features(player)
        assert snapshot.keys() == latest.keys() and snapshot["bets_24h"] >= 0
        assert store.latest_features("no such player") == {}
        follow_up = _final(client, "SELECT * FROM intervention_follow_up "
                           "WHERE player_id = {p:String} ORDER BY decided_at", p=player)
        assert list(story.follow_up) == follow_up


def test_follow_up_is_read_for_players_with_interventions(client: Client) -> None:
    players = [row["player_id"] for row in _final(
        client, "SELECT DISTINCT player_id FROM intervention_follow_up ORDER BY player_id "
        "LIMIT 3")]
    assert players, "the run has interventions"
    store = CaseStore(client)
    for player in players:
        assert store.player_story(player).follow_up


def test_a_decisions_rows_are_the_final_ones_and_those_pointing_to_it(client: Client) -> None:
    store = CaseStore(client)
    reviews = _final(client, "SELECT DISTINCT decision_id FROM decisions WHERE kind = 'review' "
                     "ORDER BY decision_id LIMIT 10")
    for review in reviews:
        rows = store.decision_rows(review["decision_id"])
        reference = _final(client, "SELECT * FROM decisions FINAL WHERE decision_id = {d:String} "
                           "OR review_decision_id = {d:String}", d=review["decision_id"])
        assert sorted((r["decision_id"], r["status"]) for r in rows) == sorted(
            (r["decision_id"], r["status"]) for r in reference)
    assert store.decision_rows("0" * 32) == []


def test_the_queue_pages_cover_every_open_review_once(client: Client,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pitboss.console.cases.QUEUE_PAGE", 3)
    book = CaseBook(CaseStore(client), None)
    everything = [r.decision_id for r in CaseStore(client).open_reviews(QueueFilter(), 10_000)]
    assert len(everything) > 3
    pages, page = [], 0
    while True:
        queue = book.queue(QueueFilter(), page)
        pages.append([r.decision_id for r in queue.reviews])
        assert queue.first_number == 3 * page + 1
        if not queue.has_next:
            break
        page += 1
    assert [d for p in pages for d in p] == everything
    assert all(len(p) == 3 for p in pages[:-1]) and 1 <= len(pages[-1]) <= 3
