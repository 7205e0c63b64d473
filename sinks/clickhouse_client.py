"""Open the ClickHouse client every sink writes through: a server from a DSN, or embedded chDB.

With a DSN (`http://user:pass@host:8123/db` or `https://...`) Pitboss writes to a
real ClickHouse server; without one it writes to an embedded, persistent chDB
database in a directory of the run (`DIR/clickhouse`). Both are
`clickhouse_connect` clients, so migrations and the writer have one code path and
only this module knows the difference. The database is created if it is missing,
and results come back as timezone-aware datetimes.

chDB holds one data directory per process: opening a second, different directory
while the first is in use fails with `ChdbPathError`, which says which directory
is already open and what to do instead.

Example:
    >>> split_dsn("https://analyst:s3cret@ch.example.com:8443/pitboss?compress=lz4")
    ('https://analyst:s3cret@ch.example.com:8443?compress=lz4', 'pitboss')

"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import Error as DriverError
from clickhouse_connect.driver.exceptions import ProgrammingError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SERVER_SCHEMES = ("http", "https")
# What chDB says when the process already runs an engine on another directory.
_CHDB_PATH_CONFLICT = ("already initialized with path", "different path")


class ClickHouseConfigError(ValueError):
    """The ClickHouse settings cannot work (bad DSN, bad database name, nowhere to write)."""


class ClickHouseUnavailableError(RuntimeError):
    """The ClickHouse server named by the DSN could not be reached or refused the login."""


class ChdbPathError(RuntimeError):
    """Another chDB data directory is already open in this process, and chDB allows only one."""


def check_identifier(name: str, what: str = "database") -> str:
    """Return `name` if it is a plain ClickHouse identifier, so it can be spliced into SQL.

    Args:
        name: the identifier to check.
        what: what it names, for the error message.

    Returns:
        `name`, unchanged.

    Raises:
        ClickHouseConfigError: when `name` is not letters, digits and underscores.

    Example:
        >>> check_identifier("pitboss")
        'pitboss'

    """
    if not _IDENTIFIER.fullmatch(name):
        raise ClickHouseConfigError(
            f"clickhouse {what} name {name!r} must be letters, digits and underscores, "
            "not starting with a digit"
        )
    return name


def split_dsn(dsn: str) -> tuple[str, str | None]:
    """Split a server DSN into the DSN without its database and the database it names.

    Args:
        dsn: `http://user:pass@host:port/db` or `https://...`; query parameters are kept.

    Returns:
        The DSN without the path, and the (percent-decoded) database, or None if absent.

    Raises:
        ClickHouseConfigError: when the scheme is not http or https (the DSN is not echoed,
            since it may hold a password).

    Example:
        >>> split_dsn("http://localhost:8123")
        ('http://localhost:8123', None)

    """
    parts = urlsplit(dsn)
    if parts.scheme not in _SERVER_SCHEMES or not parts.hostname:
        raise ClickHouseConfigError(
            "clickhouse.dsn must look like http://user:password@host:8123/database "
            f"or https://...; got a DSN with scheme {parts.scheme!r}"
        )
    database = unquote(parts.path.strip("/").split("/")[0]) or None
    return urlunsplit((parts.scheme, parts.netloc, "", parts.query, "")), database


def open_client(dsn: str | None, embedded_path: Path | None, database: str) -> Client:
    """Open a client on a ClickHouse server (`dsn`) or on embedded chDB (`embedded_path`).

    Args:
        dsn: a server DSN; None or "" means embedded chDB. A database in the DSN's path
            wins over `database`.
        embedded_path: the chDB data directory (created if missing), used when there is no DSN.
        database: the database to use (created if missing) unless the DSN names one.

    Returns:
        A client whose default database is the chosen one; the caller closes it.

    Raises:
        ClickHouseConfigError: bad DSN or database name, or neither DSN nor path.
        ClickHouseUnavailableError: the server cannot be reached or refuses the login.
        ChdbPathError: this process already runs chDB on another directory.

    """
    if dsn:
        server_dsn, dsn_database = split_dsn(dsn)
        name = check_identifier(dsn_database or database)
        client = _connect_server(server_dsn)
    elif embedded_path is not None:
        name = check_identifier(database)
        client = _connect_embedded(embedded_path)
    else:
        raise ClickHouseConfigError(
            "no ClickHouse to write to: set clickhouse.dsn or give an embedded data directory"
        )
    # Check first, so a server login that may use but not create databases still works.
    if not int(str(client.command(f"EXISTS DATABASE {name}", use_database=False))):
        client.command(f"CREATE DATABASE IF NOT EXISTS {name}", use_database=False)
    client.database = name
    return client


def _connect_server(server_dsn: str) -> Client:
    parts = urlsplit(server_dsn)
    try:
        # clickhouse-connect reads user, password, host, port and query options from a DSN
        # but not its scheme: without `interface`, https://host:9440 would speak plain http.
        return clickhouse_connect.get_client(
            dsn=server_dsn, interface=parts.scheme, tz_mode="aware"
        )
    except DriverError as exc:
        # Name the server but never the credentials.
        raise ClickHouseUnavailableError(
            f"cannot open ClickHouse at {parts.scheme}://{parts.hostname}:{parts.port or ''}: "
            f"{type(exc).__name__}: {_redact(str(exc), parts.password)}"
        ) from None


def _connect_embedded(path: Path) -> Client:
    path.mkdir(parents=True, exist_ok=True)
    try:
        return clickhouse_connect.get_client(interface="chdb", path=str(path), tz_mode="aware")
    except ProgrammingError as exc:
        if any(marker in str(exc) for marker in _CHDB_PATH_CONFLICT):
            raise ChdbPathError(
                f"cannot open embedded ClickHouse (chDB) at {path}: this process already "
                "uses chDB with another data directory, and chDB allows one per process. "
                "Run one Pitboss run directory per process, or set clickhouse.dsn to write "
                f"to a ClickHouse server. chDB said: {exc}"
            ) from exc
        raise


def _redact(message: str, password: str | None) -> str:
    return message.replace(password, "***") if password else message
