"""Opening ClickHouse: embedded chDB, the database, persistence, DSNs and their errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from pitboss.sinks.clickhouse_client import (
    ChdbPathError,
    ClickHouseConfigError,
    ClickHouseUnavailableError,
    check_identifier,
    open_client,
    split_dsn,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def client(chdb_path: Path, clickhouse_database: str) -> Iterator[Client]:
    client = open_client(None, chdb_path, clickhouse_database)
    yield client
    client.command(f"DROP DATABASE IF EXISTS {clickhouse_database}")
    client.close()


def test_embedded_client_creates_and_uses_the_database(
    client: Client, clickhouse_database: str
) -> None:
    assert client.database == clickhouse_database
    assert client.command("SELECT currentDatabase()") == clickhouse_database
    client.command("CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x")
    assert client.command(f"EXISTS TABLE {clickhouse_database}.t") == 1


def test_second_client_on_the_same_path_sees_the_same_data(
    client: Client, chdb_path: Path, clickhouse_database: str
) -> None:
    client.command("CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x")
    client.insert("t", [[1], [2]], column_names=["x"])
    other = open_client(None, chdb_path, clickhouse_database)
    try:
        assert other.command("SELECT sum(x) FROM t") == 3
    finally:
        other.close()


def test_datetimes_come_back_timezone_aware(client: Client) -> None:
    query = "SELECT fromUnixTimestamp64Milli(toInt64(1767268800123), 'UTC')"
    value = client.query(query).first_row[0]
    assert value.tzinfo is not None
    assert value.astimezone(UTC).timestamp() * 1000 == 1767268800123


def test_a_second_chdb_directory_in_one_process_is_a_clear_error(
    client: Client, tmp_path: Path
) -> None:
    # `client` keeps the session's chDB directory open, as any run would.
    with pytest.raises(ChdbPathError, match="one per process") as caught:
        open_client(None, tmp_path / "clickhouse", "pitboss")
    assert str(tmp_path / "clickhouse") in str(caught.value)
    assert client.command("SELECT 1") == 1


def test_embedded_data_survives_the_process(tmp_path: Path) -> None:
    # A fresh process per step: chDB allows one directory per process, and this checks
    # that rows written by one run are on disk for the next.
    path = tmp_path / "clickhouse"
    write = f"""
        from pathlib import Path
        from pitboss.sinks.clickhouse_client import open_client
        c = open_client(None, Path({str(path)!r}), "persisted")
        c.command("CREATE TABLE t (x UInt32) ENGINE = MergeTree ORDER BY x")
        c.insert("t", [[7], [35]], column_names=["x"])
        c.close()
    """
    read = f"""
        from pathlib import Path
        from pitboss.sinks.clickhouse_client import open_client
        c = open_client(None, Path({str(path)!r}), "persisted")
        print(c.command("SELECT sum(x) FROM t"))
    """
    _run_python(write)
    assert _run_python(read).strip() == "42"


def _run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=60, check=False,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("http://u:p@ch:8123/analytics", ("http://u:p@ch:8123", "analytics")),
        ("https://ch.example.com:8443", ("https://ch.example.com:8443", None)),
        ("https://ch.example.com/", ("https://ch.example.com", None)),
        ("http://ch/my%5Fdb?compress=lz4", ("http://ch?compress=lz4", "my_db")),
    ],
)
def test_split_dsn_takes_the_database_from_the_path(dsn: str, expected: tuple) -> None:
    assert split_dsn(dsn) == expected


@pytest.mark.parametrize("dsn", ["tcp://u:hunter2@ch:9000/db", "clickhouse://u:hunter2@ch/db",
                                 "ch:8123", "http:///db"])
def test_unsupported_dsn_is_refused_without_echoing_it(dsn: str) -> None:
    with pytest.raises(ClickHouseConfigError, match="http://user:password@host") as caught:
        open_client(dsn, None, "pitboss")
    assert "hunter2" not in str(caught.value)


def test_unreachable_server_names_the_host_but_not_the_password() -> None:
    # Port 9 (discard) on localhost: nothing answers HTTP there.
    with pytest.raises(ClickHouseUnavailableError, match=r"127\.0\.0\.1:9") as caught:
        open_client("http://analyst:hunter2@127.0.0.1:9/pitboss", None, "unused")
    assert "hunter2" not in str(caught.value)


def test_nowhere_to_write_is_a_configuration_error() -> None:
    with pytest.raises(ClickHouseConfigError, match=r"clickhouse\.dsn"):
        open_client(None, None, "pitboss")


@pytest.mark.parametrize("name", ["", "1st", "pit-boss", "db; DROP TABLE x", "a.b"])
def test_database_names_that_could_not_be_spliced_into_sql_are_refused(name: str) -> None:
    with pytest.raises(ClickHouseConfigError, match="database name"):
        check_identifier(name)
