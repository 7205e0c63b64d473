"""Apply the configured retention (a TTL per table) to Pitboss's ClickHouse tables.

Schema files are append-only and the same for every deployment, but how long rows
are kept is each operator's choice (`[retention]` in the configuration). So after
the migrations, `apply_retention` sets or removes each table's TTL to match the
settings: `ALTER TABLE ... MODIFY TTL <time column> + INTERVAL n DAY`, or
`REMOVE TTL` for 0. Only tables whose settings say so get a TTL; the audit trail
(`decisions`) and the durable compliance facts (`compliance_state`) keep their rows
by default, and `compliance_state` can never be given one (docs/data-retention.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from clickhouse_connect.driver.client import Client

from pitboss.sinks.clickhouse_client import check_identifier

_TTL = re.compile(r" TTL (.+?)(?: SETTINGS |$)")
TIME_COLUMNS: dict[str, str] = {
    "player_features": "as_of",
    "player_scores": "scored_at",
    "model_metrics": "hour",
    "decisions": "decided_at",
}
"""The event-time column a table's TTL is measured on; tables not named get none."""


def ttl_clause(table: str, days: int) -> str | None:
    """Return the TTL expression of `table` for `days` (None: no TTL).

    Example:
        >>> ttl_clause("decisions", 3650)
        'toDateTime(decided_at) + INTERVAL 3650 DAY'

    """
    if days <= 0:
        return None
    column = TIME_COLUMNS[table]
    return f"toDateTime({column}) + INTERVAL {int(days)} DAY"


def current_ttl(client: Client, database: str, table: str) -> str:
    """Return the table's TTL expression as the server shows it ('' if none)."""
    engine = client.query(
        "SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        parameters={"db": database, "t": table},
    ).result_rows
    match = _TTL.search(str(engine[0][0])) if engine else None
    return match.group(1).strip() if match else ""


def apply_retention(client: Client, database: str, days_by_table: Mapping[str, int]) -> list[str]:
    """Set each table's TTL to its configured days; return the tables changed.

    Args:
        client: an open client (after `apply_migrations`).
        database: the database of the tables.
        days_by_table: `RetentionSettings.ttl_days()`.

    """
    db = check_identifier(database)
    changed: list[str] = []
    for table in TIME_COLUMNS:
        days = days_by_table.get(table, 0)
        wanted = ttl_clause(table, days)
        has = current_ttl(client, database, table)
        if wanted is None and has:
            client.command(f"ALTER TABLE {db}.{table} REMOVE TTL")
            changed.append(table)
        elif wanted is not None and f"toIntervalDay({int(days)})" not in has:
            client.command(f"ALTER TABLE {db}.{table} MODIFY TTL {wanted}")
            changed.append(table)
    return changed
