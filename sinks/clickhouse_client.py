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

import logging
import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
# `[Errno 111] Connection refused` inside urllib3's long description of a failed request.
_OS_REASON = re.compile(r"\[Errno -?\d+\] ([^\"')(]+)")
_DRIVER_LOG = logging.getLogger("clickhouse_connect")
_DRIVER_LOG_LOCK = threading.Lock()
PING_TIMEOUT_S = 5.0
"""How long `check_server` waits for a server before calling it unreachable."""
# The operating system's reason inside a driver error, e.g. "[Errno 111] Connection refused".
_OS_ERROR = re.compile(r"\[Errno -?\d+\] [^\"')]+")
# Server error codes that mean "wrong user, password or address allowed": retrying cannot help.
# UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD, IP_ADDRESS_NOT_ALLOWED, AUTHENTICATION_FAILED.
_LOGIN_ERROR = re.compile(r"(?:error code|Code:)\s*(?:192|193|194|195|516)\b|HTTP status 40[13]\b")


class ClickHouseConfigError(ValueError):
    """The ClickHouse settings cannot work (bad DSN, bad database name, nowhere to write)."""


class ClickHouseUnavailableError(RuntimeError):
    """The ClickHouse server named by the DSN could not be reached or refused the login."""


class ClickHouseLoginError(ClickHouseConfigError):
    """The ClickHouse server answered but refused the DSN's user or password."""


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


def is_embedded(client: Client) -> bool:
    """Return True when `client` runs on the embedded engine (chDB) of this process."""
    from clickhouse_connect.driver._chdbclient import ChdbClient

    return isinstance(client, ChdbClient)


def open_scratch_engine() -> Client:
    """Open a client on an in-memory chDB engine (nothing is stored), e.g. to parse SQL.

    Raises:
        ChdbPathError: this process already runs chDB on a data directory.

    """
    try:
        return clickhouse_connect.get_client(interface="chdb", tz_mode="aware")
    except ProgrammingError as exc:
        if any(marker in str(exc) for marker in _CHDB_PATH_CONFLICT):
            raise ChdbPathError(
                "cannot open an in-memory embedded ClickHouse (chDB): this process already "
                "uses chDB with a data directory, and chDB allows one per process. "
                f"chDB said: {exc}"
            ) from exc
        raise


def check_server(dsn: str, timeout_s: float = PING_TIMEOUT_S) -> None:
    """Check, quickly, that the server of `dsn` answers and accepts the login.

    Meant to run before a long job starts, so that a wrong DSN is one clear error
    instead of a failure deep inside the job. Nothing is created on the server.

    Args:
        dsn: a server DSN, as for `open_client`.
        timeout_s: how long to wait for the connection and for the answer.

    Raises:
        ClickHouseConfigError: the DSN or the database it names is malformed, or the
            server refused the login (`ClickHouseLoginError`).
        ClickHouseUnavailableError: the server cannot be reached in time; the message
            names the server and the reason, never the password.

    """
    _, database = split_dsn(dsn)
    if database is not None:
        check_identifier(database)
    ping_server(dsn, timeout_s)


def _connect_server(server_dsn: str, timeout_s: float | None = None) -> Client:
    """Open a client on a server; `timeout_s` bounds the connection and each answer."""
    parts = urlsplit(server_dsn)
    timeouts = {} if timeout_s is None else {
        "connect_timeout": timeout_s, "send_receive_timeout": timeout_s}
    try:
        # clickhouse-connect reads user, password, host, port and query options from a DSN
        # but not its scheme: without `interface`, https://host:9440 would speak plain http.
        with _driver_warnings_off():
            return clickhouse_connect.get_client(
                dsn=server_dsn, interface=parts.scheme, tz_mode="aware", **timeouts  # type: ignore[arg-type]
            )
    except DriverError as exc:
        # Name the server but never the credentials.
        reason = _redact(str(exc), parts.password)
        raise ClickHouseUnavailableError(
            f"cannot open ClickHouse at {parts.scheme}://{parts.hostname}:{parts.port or ''}: "
            f"{type(exc).__name__}: {_transport_reason(reason) or reason}"
        ) from None


@contextmanager
def _driver_warnings_off() -> Iterator[None]:
    """Silence clickhouse-connect's own warning on a failed connection: our error says it all.

    Workers open their clients on several threads at once; the lock keeps one thread
    from restoring the level while another has it lowered.
    """
    with _DRIVER_LOG_LOCK:
        level = _DRIVER_LOG.level
        _DRIVER_LOG.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            _DRIVER_LOG.setLevel(level)


def _transport_reason(message: str) -> str | None:
    """Return the operating system's reason (`Connection refused`) inside a driver message."""
    match = _OS_REASON.search(message)
    if match:
        return match.group(1)
    return "timed out" if "timed out" in message.lower() else None
def ping_server(dsn: str, timeout_s: float) -> None:
    """Check that the ClickHouse server of `dsn` answers `SELECT 1` and accepts the login.

    Args:
        dsn: a server DSN (`http://user:pass@host:8123/db` or `https://...`).
        timeout_s: the most connecting, and then the query, may each take (rounded up to
            whole seconds: the driver takes integers).

    Raises:
        ClickHouseConfigError: the DSN is malformed.
        ClickHouseLoginError: the server refused the user or password.
        ClickHouseUnavailableError: the server cannot be reached or did not answer in time.

    """
    server_dsn, _ = split_dsn(dsn)
    parts = urlsplit(server_dsn)
    whole_s = max(math.ceil(timeout_s), 1)
    try:
        with _driver_logs_quiet():
            client = clickhouse_connect.get_client(
                dsn=server_dsn, interface=parts.scheme, connect_timeout=whole_s,
                send_receive_timeout=whole_s, autogenerate_session_id=False,
            )  # fmt: skip
            try:
                client.command("SELECT 1")
            finally:
                client.close()
    except DriverError as exc:
        raise _server_error(exc, parts.scheme, parts.hostname, parts.port, parts.password) from None


@contextmanager
def _driver_logs_quiet() -> Iterator[None]:
    """Hold back the driver's own error lines: the error raised from a failed check says it all."""
    driver = logging.getLogger("clickhouse_connect")
    level = driver.level
    driver.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        driver.setLevel(level)


def _server_error(
    exc: DriverError, scheme: str, host: str | None, port: int | None, password: str | None
) -> ClickHouseConfigError | ClickHouseUnavailableError:
    """Return the error to raise for a driver error, naming the server but never the password."""
    where = f"{scheme}://{host}:{port or ''}"
    text = _redact(str(exc), password)
    os_error = _OS_ERROR.search(text)
    said = os_error.group(0) if os_error else text.splitlines()[0][:200]
    if _LOGIN_ERROR.search(str(exc)):
        return ClickHouseLoginError(
            f"ClickHouse at {where} refused the login of clickhouse.dsn "
            f"(PITBOSS_CLICKHOUSE__DSN or --clickhouse): {said}"
        )
    return ClickHouseUnavailableError(f"ClickHouse at {where} does not answer: {said}")


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
