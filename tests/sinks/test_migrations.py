"""Schema migrations: order, idempotency, templating, statement splitting and checksum guard."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError
from hypothesis import given
from hypothesis import strategies as st

from pitboss.sinks.clickhouse_client import open_client
from pitboss.sinks.migrations import (
    MIGRATIONS_TABLE,
    SCHEMA_DIR,
    MigrationError,
    applied_migrations,
    apply_migrations,
    discover_migrations,
    split_statements,
)

pytestmark = pytest.mark.timeout(60)

SchemaFile = Callable[[str, str], Path]
CREATE_A = "CREATE TABLE IF NOT EXISTS {db}.a (x UInt8) ENGINE = MergeTree ORDER BY x"


@pytest.fixture
def client(chdb_path: Path, clickhouse_database: str) -> Iterator[Client]:
    client = open_client(None, chdb_path, clickhouse_database)
    yield client
    client.command(f"DROP DATABASE IF EXISTS {clickhouse_database}")
    client.close()


@pytest.fixture
def schema_dir(tmp_path: Path) -> Path:
    path = tmp_path / "schema"
    path.mkdir()
    return path


@pytest.fixture
def schema_file(schema_dir: Path) -> SchemaFile:
    """Write `NNNN_name.sql` into the test's schema directory."""

    def write(name: str, sql: str) -> Path:
        path = schema_dir / name
        path.write_text(sql, encoding="utf-8")
        return path

    return write


def _tables(client: Client, database: str) -> set[str]:
    rows = client.query(
        "SELECT name FROM system.tables WHERE database = {db:String}", parameters={"db": database}
    ).result_rows
    return {name for (name,) in rows}


def test_packaged_schema_applies_in_order_then_is_a_no_op(
    client: Client, clickhouse_database: str
) -> None:
    expected = [migration.name for migration in discover_migrations()]
    assert expected == sorted(expected)
    assert apply_migrations(client, clickhouse_database) == expected
    recorded = client.query(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY version").result_rows
    assert [name for (name,) in recorded] == expected
    assert {"rejected_events", MIGRATIONS_TABLE} <= _tables(client, clickhouse_database)

    assert apply_migrations(client, clickhouse_database) == []
    assert client.command(f"SELECT count() FROM {MIGRATIONS_TABLE}") == len(expected)


def test_rejected_events_is_a_replacing_merge_tree_keyed_by_input_position(
    client: Client, clickhouse_database: str
) -> None:
    apply_migrations(client, clickhouse_database)
    engine, sorting_key = client.query(
        "SELECT engine, sorting_key FROM system.tables WHERE database = {db:String} "
        "AND name = 'rejected_events'", parameters={"db": clickhouse_database}
    ).first_row
    assert (engine, sorting_key) == ("ReplacingMergeTree", "source, position, reason")


def test_rejected_events_has_the_columns_the_outputs_write(
    client: Client, clickhouse_database: str
) -> None:
    # Imported here: a broken caller should fail this test only, not the whole module.
    from pitboss.sinks.tables import REJECTED_COLUMNS

    apply_migrations(client, clickhouse_database)
    rows = client.query(
        "SELECT name FROM system.columns WHERE database = {db:String} "
        "AND table = 'rejected_events' ORDER BY position", parameters={"db": clickhouse_database}
    ).result_rows
    assert tuple(name for (name,) in rows) == REJECTED_COLUMNS


def test_only_new_files_run_and_db_is_templated(
    client: Client, clickhouse_database: str, schema_dir: Path, schema_file: SchemaFile
) -> None:
    schema_file("0001_a.sql", CREATE_A + "\n")
    assert apply_migrations(client, clickhouse_database, schema_dir) == ["0001_a"]
    schema_file(
        "0002_b_and_c.sql",
        "-- two statements; the second alone after a ';' line\n"
        "CREATE TABLE IF NOT EXISTS {db}.b (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
        "INSERT INTO {db}.b VALUES (1), (2)\n"
        ";\n"
        "ALTER TABLE {db}.a ADD COLUMN IF NOT EXISTS y String;\n",
    )
    assert apply_migrations(client, clickhouse_database, schema_dir) == ["0002_b_and_c"]
    assert client.command("SELECT sum(x) FROM b") == 3
    assert "y" in client.command("SELECT groupArray(name) FROM system.columns "
                                 f"WHERE database = '{clickhouse_database}' AND table = 'a'")
    assert apply_migrations(client, clickhouse_database, schema_dir) == []


def test_a_changed_applied_file_is_an_error_naming_it(
    client: Client, clickhouse_database: str, schema_dir: Path, schema_file: SchemaFile
) -> None:
    path = schema_file("0001_a.sql", CREATE_A + "\n")
    apply_migrations(client, clickhouse_database, schema_dir)
    path.write_text(CREATE_A.replace("UInt8", "UInt16"))
    with pytest.raises(MigrationError, match=r"0001_a\.sql changed after it was applied"):
        apply_migrations(client, clickhouse_database, schema_dir)


def test_a_database_ahead_of_the_code_is_an_error(
    client: Client, clickhouse_database: str, schema_dir: Path, schema_file: SchemaFile
) -> None:
    path = schema_file("0001_a.sql", "SELECT 1\n")
    apply_migrations(client, clickhouse_database, schema_dir)
    path.unlink()
    with pytest.raises(MigrationError, match="ahead of this code"):
        apply_migrations(client, clickhouse_database, schema_dir)


def test_a_failing_file_is_not_recorded_and_runs_again(
    client: Client, clickhouse_database: str, schema_dir: Path, schema_file: SchemaFile
) -> None:
    schema_file("0001_a.sql", CREATE_A + ";\nINSERT INTO {db}.missing VALUES (1);\n")
    with pytest.raises(DatabaseError, match="missing"):
        apply_migrations(client, clickhouse_database, schema_dir)
    assert applied_migrations(client, clickhouse_database) == {}
    schema_file("0001_a.sql", CREATE_A + ";\n")
    assert apply_migrations(client, clickhouse_database, schema_dir) == ["0001_a"]


@pytest.mark.parametrize("name", ["1_a.sql", "0001-a.sql", "0001_A.sql", "00001_a.sql"])
def test_badly_named_schema_files_are_refused(schema_dir: Path, schema_file: SchemaFile,
                                              name: str) -> None:
    schema_file(name, "SELECT 1")
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        discover_migrations(schema_dir)


def test_two_files_with_one_version_are_refused(schema_dir: Path, schema_file: SchemaFile) -> None:
    schema_file("0003_a.sql", "SELECT 1")
    schema_file("0003_b.sql", "SELECT 2")
    with pytest.raises(MigrationError, match="share version 0003"):
        discover_migrations(schema_dir)


def test_other_files_in_the_schema_directory_are_ignored(
    schema_dir: Path, schema_file: SchemaFile
) -> None:
    schema_file("README.md", "notes")
    schema_file("0001_a.sql", "SELECT 1")
    assert [m.name for m in discover_migrations(schema_dir)] == ["0001_a"]


def test_packaged_schema_files_qualify_tables_with_the_db_template() -> None:
    for migration in discover_migrations(SCHEMA_DIR):
        for statement in split_statements(migration.sql):
            if statement.upper().startswith(("CREATE TABLE", "ALTER TABLE")):
                assert "{db}." in statement, migration.path


_line_breaks = ";\r\n\x0b\x0c\x1c\x1d\x1e"
_clause = st.text(st.characters(codec="ascii", exclude_characters=_line_breaks), min_size=1,
                  max_size=20).filter(lambda s: s.strip() and not s.strip().startswith("--"))


@given(st.lists(st.lists(_clause, min_size=1, max_size=3), max_size=5),
       st.booleans())
def test_statements_survive_splitting(statements: list[list[str]], lone_semicolons: bool) -> None:
    terminator = "\n;\n" if lone_semicolons else ";\n"
    text = "".join("\n".join(lines) + terminator for lines in statements)
    expected = ["\n".join(line.rstrip() for line in lines).strip() for lines in statements]
    assert split_statements(text) == expected
