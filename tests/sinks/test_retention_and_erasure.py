"""Retention (a TTL per table, from the settings) and erasure requests, on chDB.

Rows are written through the outputs' own row functions, then the tables are merged
(`OPTIMIZE ... FINAL`, which applies TTLs) and read back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from pitboss.config.settings import ConfigError, load_settings
from pitboss.operators.policy.compliance_facts import INDEFINITE, ComplianceChange
from pitboss.sinks.clickhouse_client import open_client
from pitboss.sinks.compliance_store import load_facts, write_changes
from pitboss.sinks.erasure import erase_players, kept_rows
from pitboss.sinks.migrations import apply_migrations
from pitboss.sinks.retention import apply_retention, current_ttl
from pitboss.sinks.tables import FEATURE_COLUMNS, REJECTED_COLUMNS, SCORE_COLUMNS
from tests.operators.policy.factories import T0

pytestmark = pytest.mark.timeout(120)
DAY_MS = 86_400_000


@pytest.fixture
def client(chdb_path: Path, clickhouse_database: str) -> Iterator[Client]:
    client = open_client(None, chdb_path, clickhouse_database)
    apply_migrations(client, clickhouse_database)
    yield client
    client.command(f"DROP DATABASE IF EXISTS {clickhouse_database}")


def _feature(player: str, at_ms: int) -> list[Any]:
    return [player, at_ms, "hourly", "", "MT", *[0.0] * (len(FEATURE_COLUMNS) - 5)]


def _score(player: str, at_ms: int) -> list[Any]:
    return [player, at_ms, "hourly", f"e-{at_ms}", "MT", 0.1, 0.2, 0.3, "v", "v", "v",
            [], [], [], {}, {}]


def _decision(client: Client, database: str, player: str, at_ms: int) -> None:
    client.command(
        f"INSERT INTO {database}.decisions (decision_id, status, player_id, kind, action, "
        "decided_at) VALUES ({d:String}, 'suppressed', {p:String}, 'offer', 'retention_offer', "
        "fromUnixTimestamp64Milli({t:Int64}, 'UTC'))",
        parameters={"d": f"d-{player}-{at_ms}", "p": player, "t": at_ms})


def _fill(client: Client, database: str, players: list[str], times: list[int]) -> None:
    client.insert("player_features", [_feature(p, t) for p in players for t in times],
                  column_names=list(FEATURE_COLUMNS), database=database)
    client.insert("player_scores", [_score(p, t) for p in players for t in times],
                  column_names=list(SCORE_COLUMNS), database=database)
    client.insert("rejected_events", [["bets/0", i, "late", "", "e", p, "{raw}", ""]
                                      for i, p in enumerate(players)],
                  column_names=list(REJECTED_COLUMNS), database=database)
    for p in players:
        for t in times:
            _decision(client, database, p, t)
    write_changes(client, database, [
        ComplianceChange(p, "self_exclusion", 1.0, INDEFINITE, times[0], "event", "e")
        for p in players])


def _count(client: Client, database: str, table: str, player: str | None = None) -> int:
    where = "" if player is None else f" WHERE player_id = '{player}'"
    return int(client.query(f"SELECT count() FROM {database}.{table} FINAL{where}")
               .result_rows[0][0])


def _merge_all(client: Client, database: str) -> None:
    for table in ("player_features", "player_scores", "decisions", "compliance_state"):
        client.command(f"OPTIMIZE TABLE {database}.{table} FINAL")


def test_a_configured_ttl_drops_old_feature_and_score_rows_and_nothing_else(
        client: Client, clickhouse_database: str) -> None:
    db = clickhouse_database
    old, recent = T0 - 5 * 365 * DAY_MS, T0 + 365 * DAY_MS * 10  # years ago; years ahead
    _fill(client, db, ["p1"], [old, recent])
    days = load_settings().retention.ttl_days() | {"player_features": 400, "player_scores": 400}

    changed = apply_retention(client, db, days)
    again = apply_retention(client, db, days)
    _merge_all(client, db)

    assert changed == ["player_features", "player_scores"] and again == []
    assert current_ttl(client, db, "player_features") == "toDateTime(as_of) + toIntervalDay(400)"
    assert _count(client, db, "player_features") == 1
    assert _count(client, db, "player_scores") == 1
    assert _count(client, db, "decisions") == 2  # the audit trail has no TTL by default
    assert _count(client, db, "compliance_state") == 1
    assert apply_retention(client, db, load_settings().retention.ttl_days()) == [
        "player_features", "player_scores"]  # back to 0: the TTL is removed
    assert current_ttl(client, db, "player_features") == ""


def test_by_default_no_table_expires(client: Client, clickhouse_database: str) -> None:
    db = clickhouse_database
    _fill(client, db, ["p1"], [T0 - 20 * 365 * DAY_MS])
    apply_retention(client, db, load_settings().retention.ttl_days())
    _merge_all(client, db)
    assert [_count(client, db, t) for t in ("player_features", "player_scores", "decisions",
                                            "compliance_state")] == [1, 1, 1, 1]


@pytest.mark.parametrize("variable", ["PITBOSS_RETENTION__COMPLIANCE_STATE_DAYS",
                                      "PITBOSS_RETENTION__REJECTED_EVENTS_DAYS"])
def test_exclusions_can_never_be_given_a_ttl(monkeypatch: pytest.MonkeyPatch,
                                             variable: str) -> None:
    monkeypatch.setenv(variable, "30")
    with pytest.raises(ConfigError, match=f"{variable}.*must be 0"):
        load_settings()


def test_an_erasure_deletes_behaviour_and_keeps_the_audit_trail_and_the_exclusion(
        client: Client, clickhouse_database: str) -> None:
    db = clickhouse_database
    _fill(client, db, ["p1", "p2"], [T0, T0 + DAY_MS])

    erased = erase_players(client, db, ["p1", "p1", "nobody"])
    again = erase_players(client, db, ["p1"])

    assert erased == {"player_features": 2, "player_scores": 2, "rejected_events": 1}
    assert again == {"player_features": 0, "player_scores": 0, "rejected_events": 0}
    assert [_count(client, db, t, "p1") for t in ("player_features", "player_scores",
                                                   "rejected_events")] == [0, 0, 0]
    assert [_count(client, db, t, "p2") for t in ("player_features", "player_scores",
                                                   "rejected_events")] == [2, 2, 1]
    assert kept_rows(client, db, ["p1"]) == {"decisions": 2, "compliance_state": 1}
    assert load_facts(client, db).for_player("p1").excluded_at(T0 + 2 * DAY_MS)
