"""The `decisions` audit table: rows land in ClickHouse (chDB) as written, and dedupe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import clickhouse_connect
import orjson
import pytest

from pitboss.operators.policy.audit import COLUMNS, TABLE, AuditRow
from pitboss.operators.policy.gate import Decision
from tests.operators.policy.factories import HOUR, T0, engine, scored, verdict

SCHEMA = Path(__file__).parents[3] / "sinks" / "schema" / "0003_decisions.sql"


@pytest.fixture
def client(chdb_path: Path, clickhouse_database: str) -> Iterator[object]:
    ch = clickhouse_connect.get_client(dsn=f"chdb://{chdb_path}")
    ch.command(f"CREATE DATABASE IF NOT EXISTS {clickhouse_database}")
    ch.command(SCHEMA.read_text().replace("{db}", clickhouse_database))
    yield ch
    ch.command(f"DROP DATABASE IF EXISTS {clickhouse_database}")


def a_run() -> list[Decision]:
    eng = engine()
    state = eng.new_state("p1")
    out = eng.decide(state, scored(event_id="e-1", risk=0.95, churn=0.7, fraud=0.8))
    review = next(d for d in out if d.action.action == "rg_review")
    out += eng.decide(state, scored(ts=T0 + HOUR, event=verdict(review.action.decision_id)))
    return out


def test_row_values_follow_the_columns() -> None:
    for decision in a_run():
        row = decision.as_audit_row()
        assert isinstance(row, AuditRow)
        values = dict(zip(row.columns(), row.as_tuple(), strict=True))
        record = orjson.loads(decision.action.to_json_bytes())
        for name in ("decision_id", "player_id", "kind", "action", "severity", "trigger",
                     "trigger_event_id", "policy_version", "jurisdiction", "requires_review",
                     "model_versions"):
            assert values[name] == record[name]
        assert values["reasons"] == record["reasons"]
        assert values["decided_at"] == decision.action.decided_at_ms
        assert values["status"] == decision.status
        assert values["suppressed_by"] == (decision.suppressed_by or "")
        assert values["features"] == decision.features


def test_rows_are_stored_and_a_replayed_run_deduplicates(client: object,
                                                         clickhouse_database: str) -> None:
    rows = [d.as_audit_row().as_tuple() for d in a_run()]
    for _ in range(2):  # a resume rewrites the same rows
        client.insert(TABLE, rows, column_names=list(COLUMNS),  # type: ignore[attr-defined]
                      database=clickhouse_database)
    table = f"{clickhouse_database}.{TABLE}"
    result = client.query(  # type: ignore[attr-defined]
        f"SELECT status, action, suppressed_by, reviewer, toUnixTimestamp64Milli(decided_at),"
        f" features['adt'], reasons FROM {table} FINAL ORDER BY decided_at, action, status")
    got = result.result_rows
    assert len(got) == len(rows)
    assert {(r[0], r[1]) for r in got} >= {
        ("emitted", "rg_message"), ("emitted", "rg_review"), ("pending_review", "rg_review"),
        ("approved", "rg_review"), ("emitted", "mandatory_cool_off"),
        ("suppressed", "retention_offer")}
    approved = next(r for r in got if r[0] == "approved")
    assert approved[3] == "alice" and approved[4] == T0 + HOUR
    offer = next(r for r in got if r[1] == "retention_offer")
    assert offer[2] == "rg_offer_block" and offer[5] == 20.0
    assert all(r[6] for r in got)
