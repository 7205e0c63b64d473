"""Read and write the durable compliance facts (`compliance_state`) in ClickHouse.

The outputs write the table (`pitboss.sinks.tables.COMPLIANCE`) as the pipeline
emits `ComplianceChange`s; this module reads the table back into the
`ComplianceFacts` snapshot a run hands to its pipeline at start, and writes the
rows of an imported external register. `operators/` never sees ClickHouse: the
snapshot is plain data.
"""

from __future__ import annotations

from collections.abc import Sequence

from clickhouse_connect.driver.client import Client

from pitboss.operators.policy.compliance_facts import ComplianceChange, ComplianceFacts
from pitboss.sinks.clickhouse_client import check_identifier
from pitboss.sinks.tables import COMPLIANCE

TABLE = COMPLIANCE.name


def load_facts(client: Client, database: str) -> ComplianceFacts:
    """Return the facts snapshot of `database` (empty when it has no `compliance_state` yet).

    Args:
        client: an open client.
        database: the database whose `compliance_state` is read.

    """
    db = check_identifier(database)
    if not int(str(client.command(f"EXISTS TABLE {db}.{TABLE}"))):
        return ComplianceFacts()
    rows = client.query(
        f"SELECT player_id, fact, value, until_ms, toUnixTimestamp64Milli(at), source, "
        f"reference FROM {db}.{TABLE} FINAL ORDER BY player_id, fact"
    ).result_rows
    return ComplianceFacts.from_changes(
        ComplianceChange(str(p), str(f), float(v), int(u), int(a), str(s), str(r))
        for p, f, v, u, a, s, r in rows
    )


def write_changes(client: Client, database: str, changes: Sequence[ComplianceChange]) -> None:
    """Insert `changes` into `compliance_state` of `database` (rows with the same key replace)."""
    if changes:
        client.insert(TABLE, COMPLIANCE.rows(changes),
                      column_names=list(COMPLIANCE.columns), database=check_identifier(database))
