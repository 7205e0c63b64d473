"""`pitboss exclusions import FILE`: load an external self-exclusion register into the store.

The register (format in `pitboss.operators.policy.exclusion_register`, docs/policy.md) is
written to `compliance_state` of the database live workers read their durable facts
from (`compliance.facts_database`, else `clickhouse.database`) on the ClickHouse
server of the DSN, or the embedded store under `--data-dir`. Workers read the facts
at start, so a register imported while they run holds from their next (rolling)
restart. Importing the same file again changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pitboss import preflight
from pitboss.app import app
from pitboss.mistakes import InputError
from pitboss.options import ConfigOption, ServerDsnOption, StoreDataDirOption

exclusions = typer.Typer(no_args_is_help=True,
                         help="External self-exclusion registers (docs/policy.md).")
app.add_typer(exclusions, name="exclusions")


@exclusions.command("import")
def import_register(
    file: Annotated[Path, typer.Argument(
        help="Register CSV: a header naming player_id or sha256 (of the id), optional since.")],
    data_dir: StoreDataDirOption = Path("runs/live"),
    clickhouse: ServerDsnOption = None,
    config: ConfigOption = None,
) -> None:
    """Import FILE into the durable compliance store: offers and interventions are held back."""
    from pitboss.operators.policy.exclusion_register import RegisterError, read_register
    from pitboss.replay.runner import ClickHouseTarget
    from pitboss.sinks.clickhouse_client import open_client
    from pitboss.sinks.compliance_store import write_changes
    from pitboss.sinks.migrations import apply_migrations

    settings = preflight.configuration(config)
    preflight.readable_file(file, "FILE")
    try:
        changes = read_register(file)
    except RegisterError as exc:
        raise InputError(f"FILE {exc}") from exc
    preflight.clickhouse_server(clickhouse)
    database = settings.compliance.facts_database or settings.clickhouse.database
    target = ClickHouseTarget.for_run(data_dir, clickhouse, database)
    client = open_client(target.dsn, target.embedded_path, database)
    apply_migrations(client, database)
    write_changes(client, database, changes)
    hashed = sum(1 for c in changes if c.player_id.startswith("sha256:"))
    Console(stderr=True).print(
        f"imported {len(changes):,} register entries ({len(changes) - hashed:,} player ids, "
        f"{hashed:,} hashed) from {file} into {database}.compliance_state; running workers "
        "honour them from their next start", soft_wrap=True)
