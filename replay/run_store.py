"""Find and open the ClickHouse store of a run directory, for reports, evaluations and queries.

A replay leaves its rows in an embedded chDB database under `DIR/clickhouse`
(database `pitboss` by default) or on a ClickHouse server. A run whose rows live
elsewhere (a comparison's two runs share one chDB directory under two database
names) carries a `DIR/store.json` saying where: `{"embedded_path": "../clickhouse",
"database": "pitboss_a"}` (the path relative to `DIR`). `StoreLocation.of_run`
reads it; `open_store` opens a client on the location. A server DSN, when given,
always wins: the run directory cannot hold the server's credentials.

Example:
    >>> StoreLocation.of_run(Path("/runs/r1")).embedded_path
    PosixPath('/runs/r1/clickhouse')

"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson
from clickhouse_connect.driver.client import Client

from pitboss.sinks.clickhouse_client import open_client

STORE_FILE = "store.json"
DEFAULT_DATABASE = "pitboss"


class RunStoreError(RuntimeError):
    """The run directory has no store to read (no chDB directory, bad `store.json`)."""


@dataclass(frozen=True)
class StoreLocation:
    """Where a run's ClickHouse rows are: a server DSN or an embedded path, and the database."""

    dsn: str | None
    embedded_path: Path | None
    database: str

    @classmethod
    def of_run(
        cls, run_dir: Path, dsn: str | None = None, database: str = DEFAULT_DATABASE
    ) -> StoreLocation:
        """Return the store of `run_dir`: `dsn` if given, else `store.json`, else `DIR/clickhouse`.

        Args:
            run_dir: the replay's output directory.
            dsn: a ClickHouse server DSN; when set, the run's rows are read there.
            database: the database when neither the DSN nor `store.json` names one.

        Raises:
            RunStoreError: `store.json` exists but is not a valid description.

        """
        if dsn:
            return cls(dsn, None, database)
        descriptor = run_dir / STORE_FILE
        if not descriptor.is_file():
            return cls(None, run_dir / "clickhouse", database)
        try:
            data = orjson.loads(descriptor.read_bytes())
            path = Path(data["embedded_path"])
            name = str(data.get("database", database))
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise RunStoreError(f"{descriptor}: not a store description: {exc}") from exc
        return cls(None, path if path.is_absolute() else run_dir / path, name)

    def write(self, run_dir: Path) -> None:
        """Write this (embedded) location as `run_dir/store.json`, relative when possible."""
        if self.embedded_path is None:
            raise RunStoreError("only an embedded store is described in store.json")
        try:
            path = str(self.embedded_path.resolve().relative_to(run_dir.resolve().parent))
            path = str(Path("..") / path)
        except ValueError:
            path = str(self.embedded_path.resolve())
        document = {"embedded_path": path, "database": self.database}
        (run_dir / STORE_FILE).write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))


def open_store(location: StoreLocation) -> Client:
    """Open a client on a run's store; the caller closes it.

    Raises:
        RunStoreError: an embedded store that does not exist (the run wrote to a server,
            or the directory is not a run).

    """
    if not location.dsn:
        path = location.embedded_path
        if path is None or not path.is_dir():
            raise RunStoreError(
                f"no embedded ClickHouse store at {path}: was the run written to a server? "
                "Pass --clickhouse DSN (or set PITBOSS_CLICKHOUSE__DSN)"
            )
    return open_client(location.dsn, location.embedded_path, location.database)
