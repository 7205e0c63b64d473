"""Erase a player's personal data from the analysts' tables, keeping what the law requires.

A data-subject erasure request (GDPR Art. 17) removes the player's rows from the
tables that hold their behaviour: `player_features`, `player_scores` and
`rejected_events` (whose excerpts are raw messages). It keeps, by design, the
audit trail (`decisions`) and the durable compliance facts (`compliance_state`):
gambling regulators require operators to keep records of responsible-gambling
interactions and of self-exclusions, and forgetting an exclusion would re-enable
marketing to a protected player (Art. 17(3)(b), a legal obligation). What is kept,
and why, is in docs/data-retention.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from clickhouse_connect.driver.client import Client

from pitboss.sinks.clickhouse_client import check_identifier

ERASED_TABLES = ("player_features", "player_scores", "rejected_events")
"""Tables whose rows of an erased player are deleted."""
KEPT_TABLES = ("decisions", "compliance_state")
"""Tables whose rows are kept by law (the audit trail, self-exclusions)."""


def erase_players(client: Client, database: str, player_ids: Sequence[str]) -> dict[str, int]:
    """Delete the players' rows from `ERASED_TABLES`; return how many rows each table lost.

    The deletes are ClickHouse mutations, waited for (`mutations_sync = 2`), so the
    rows are gone from every part when this returns.

    Args:
        client: an open client.
        database: the database of the tables.
        player_ids: the players to erase.

    """
    db = check_identifier(database)
    ids = sorted(set(player_ids))
    erased: dict[str, int] = {}
    for table in ERASED_TABLES:
        where = "player_id IN {ids:Array(String)}"
        count = client.query(f"SELECT count() FROM {db}.{table} WHERE {where}",
                             parameters={"ids": ids}).result_rows[0][0]
        if count:
            client.command(f"ALTER TABLE {db}.{table} DELETE WHERE {where}",
                           parameters={"ids": ids}, settings={"mutations_sync": 2})
        erased[table] = int(count)
    return erased


def kept_rows(client: Client, database: str, player_ids: Sequence[str]) -> dict[str, int]:
    """Return how many rows of the players `KEPT_TABLES` still hold (for the operator's record)."""
    db = check_identifier(database)
    ids = sorted(set(player_ids))
    return {
        table: int(client.query(f"SELECT count() FROM {db}.{table} FINAL WHERE "
                                "player_id IN {ids:Array(String)}",
                                parameters={"ids": ids}).result_rows[0][0])
        for table in KEPT_TABLES
    }
