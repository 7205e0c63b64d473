r"""Create and evolve Pitboss's ClickHouse tables from versioned schema files.

The schema lives in `sinks/schema/NNNN_name.sql`, applied in version order. Each
file holds one or more statements; a `;` at the end of a line (or alone on a
line) ends a statement, and full-line `--` comments are dropped. `{db}` in a file
stands for the database name. The table `{db}.schema_migrations` records every
file that ran (version, name, sha256 checksum, applied_at), so re-running is a
no-op, and an applied file whose bytes have changed is an error: schema files are
append-only, and a change is a new file (`ALTER TABLE ... ADD COLUMN IF NOT EXISTS`).

Statements should be idempotent (`IF NOT EXISTS`): ClickHouse has no transactional
DDL, so a file that failed half-way is re-run from its first statement.

Example:
    >>> split_statements("CREATE TABLE a (x UInt8) ENGINE = Memory;\n-- b;\nSELECT 1\n;\n")
    ['CREATE TABLE a (x UInt8) ENGINE = Memory', 'SELECT 1']

"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from clickhouse_connect.driver.client import Client

from pitboss.sinks.clickhouse_client import check_identifier

SCHEMA_DIR = Path(__file__).with_name("schema")
MIGRATIONS_TABLE = "schema_migrations"
_FILE_NAME = re.compile(r"(?P<version>\d{4})_(?P<label>[a-z0-9_]+)\.sql")


class MigrationError(RuntimeError):
    """The schema files and the database's migration record disagree, or a file is malformed."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema file: its version, name (file stem), SQL text and checksum."""

    version: int
    name: str
    path: Path
    sql: str
    checksum: str

    @classmethod
    def from_file(cls, path: Path) -> Migration:
        """Read a schema file named `NNNN_name.sql`.

        Raises:
            MigrationError: when the file name does not follow the pattern.

        """
        match = _FILE_NAME.fullmatch(path.name)
        if match is None:
            raise MigrationError(
                f"{path}: schema files must be named NNNN_name.sql "
                "(four digits, lower-case letters, digits and underscores)"
            )
        data = path.read_bytes()
        return cls(
            version=int(match["version"]),
            name=path.stem,
            path=path,
            sql=data.decode("utf-8"),
            checksum=hashlib.sha256(data).hexdigest(),
        )

    def statements(self, database: str) -> list[str]:
        """Return the file's statements with `{db}` replaced by `database`."""
        return split_statements(self.sql.replace("{db}", check_identifier(database)))


def split_statements(sql: str) -> list[str]:
    """Split SQL text into statements at `;` line ends, dropping full-line comments.

    Args:
        sql: the text of a schema file.

    Returns:
        The non-empty statements, without their terminating `;`.

    """
    statements: list[str] = []
    current: list[str] = []
    for line in sql.splitlines():
        stripped = line.rstrip()
        if stripped.lstrip().startswith("--"):
            continue
        ends = stripped.endswith(";")
        current.append(stripped[:-1] if ends else stripped)
        if ends:
            statements.append("\n".join(current).strip())
            current = []
    statements.append("\n".join(current).strip())
    return [statement for statement in statements if statement]


def discover_migrations(schema_dir: Path = SCHEMA_DIR) -> list[Migration]:
    """Return the `*.sql` files of `schema_dir` as migrations, in version order.

    Raises:
        MigrationError: on a badly named file or two files with the same version.

    """
    migrations = sorted(
        (Migration.from_file(path) for path in schema_dir.glob("*.sql")),
        key=lambda migration: migration.version,
    )
    for before, after in itertools.pairwise(migrations):
        if before.version == after.version:
            raise MigrationError(
                f"{schema_dir}: {before.path.name} and {after.path.name} share version "
                f"{before.version:04d}; give the newer file the next free number"
            )
    return migrations


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    """A row of `schema_migrations`: what ran, and the checksum of the file when it ran."""

    version: int
    name: str
    checksum: str


def applied_migrations(client: Client, database: str) -> dict[int, AppliedMigration]:
    """Return the migrations recorded in `database`, by version (creating the record table)."""
    db = check_identifier(database)
    client.command(
        f"CREATE TABLE IF NOT EXISTS {db}.{MIGRATIONS_TABLE} ("
        " version UInt32, name String, checksum String,"
        " applied_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')"
        ") ENGINE = ReplacingMergeTree ORDER BY version"
    )
    rows = client.query(
        f"SELECT version, name, checksum FROM {db}.{MIGRATIONS_TABLE} FINAL ORDER BY version"
    ).result_rows
    return {int(v): AppliedMigration(int(v), str(n), str(c)) for v, n, c in rows}


def apply_migrations(client: Client, database: str, schema_dir: Path = SCHEMA_DIR) -> list[str]:
    """Bring `database` up to date with the schema files of `schema_dir`.

    Args:
        client: an open client (see `pitboss.sinks.clickhouse_client.open_client`).
        database: the database, which must exist.
        schema_dir: where the `NNNN_name.sql` files are.

    Returns:
        The names of the files applied now, in order; empty when already up to date.

    Raises:
        MigrationError: an applied file was changed or is missing, or a file is malformed.

    """
    migrations = discover_migrations(schema_dir)
    applied = applied_migrations(client, database)
    _check_history(migrations, applied, database)
    done: list[str] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        for statement in migration.statements(database):
            client.command(statement)
        client.insert(
            MIGRATIONS_TABLE,
            [[migration.version, migration.name, migration.checksum]],
            column_names=["version", "name", "checksum"],
            database=database,
        )
        done.append(migration.name)
    return done


def _check_history(
    migrations: list[Migration], applied: dict[int, AppliedMigration], database: str
) -> None:
    known = {migration.version: migration for migration in migrations}
    for version, record in applied.items():
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"database {database!r} has migration {record.name} applied, but there is no "
                f"schema file with version {version:04d}: the database is ahead of this code"
            )
        if (migration.name, migration.checksum) != (record.name, record.checksum):
            raise MigrationError(
                f"{migration.path} changed after it was applied to database {database!r} "
                f"(applied as {record.name} with sha256 {record.checksum[:12]}..., "
                f"the file is now {migration.name} with sha256 {migration.checksum[:12]}...). "
                "Schema files are append-only: restore it and add a new NNNN_name.sql file"
            )
