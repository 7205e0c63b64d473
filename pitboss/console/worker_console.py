"""The review console served from the live worker's own process, on the worker's store.

chDB runs one engine per process, and a live worker's process holds its run's data
directory: a console in another process cannot open the embedded store while the
worker runs, so it would see only what the topics carry (no timeline, no audit rows,
no follow-up). `pitboss run --console 127.0.0.1:8700 --console-users FILE` serves the
console from the worker's process instead. The console is the one `pitboss console
serve` runs (`open_console`, `build_app`), unchanged: its store is a client of the
worker's engine (the same data directory, queries with `readonly=1`), its feed and
verdict desk read and write the worker's topics. uvicorn runs on a thread of its own
on a socket bound before the dataflow starts (a port in use is a clear error, not a
thread that dies); the console stops after the dataflow drained and flushed.

The cost: pages are rendered by the worker's Python, so a page view takes the
interpreter for a few tens of milliseconds from the dataflow. A console for many
specialists belongs beside a ClickHouse server (`pitboss console serve --clickhouse`).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import structlog
import uvicorn

from pitboss.config.kafka import KafkaSettings
from pitboss.console.server import ServeOptions, open_console
from pitboss.console.users import UserDirectory, UsersFileError
from pitboss.console.web import build_app

AUDIT_FILE = "console-audit.jsonl"
"""The verdicts' audit file, in the worker's data directory."""
STOP_TIMEOUT_S = 5.0

_log = structlog.get_logger("pitboss.console")


class ConsoleOptionError(ValueError):
    """`--console` or `--console-users` cannot be used; the message names the flag."""


@dataclass(frozen=True, slots=True)
class WorkerConsole:
    """What the worker's console serves and to whom.

    Attributes:
        host: the address to listen on (loopback by default: put TLS in front otherwise).
        port: the port.
        users: the users file's directory (names, roles, password hashes).

    """

    host: str
    port: int
    users: UserDirectory

    @classmethod
    def parse(cls, address: str, users_file: Path | None) -> WorkerConsole:
        """Check `--console [HOST:]PORT` and `--console-users FILE`; load the users.

        Example:
            >>> try:
            ...     WorkerConsole.parse("localhost:http", None)
            ... except ConsoleOptionError as exc:
            ...     print(exc)
            --console 'localhost:http': expected [HOST:]PORT, e.g. 127.0.0.1:8700

        """
        host, _, port_text = address.rpartition(":")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConsoleOptionError(f"--console {address!r}: expected [HOST:]PORT, e.g. "
                                     "127.0.0.1:8700")  # fmt: skip
        if users_file is None:
            raise ConsoleOptionError("--console needs --console-users FILE (add users with "
                                     "`pitboss console add-user`)")  # fmt: skip
        try:
            users = UserDirectory.load(users_file)
        except UsersFileError as exc:
            raise ConsoleOptionError(f"--console-users {users_file}: {exc}") from None
        if not len(users):
            raise ConsoleOptionError(f"--console-users {users_file}: no users (add one with "
                                     "`pitboss console add-user`)")  # fmt: skip
        return cls(host.strip("[]") or "127.0.0.1", int(port_text), users)

    def bind(self) -> socket.socket:
        """Bind the listening socket now, so a port in use fails before the dataflow starts.

        Raises:
            OSError: the address cannot be bound.

        """
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        return sock


@contextmanager
def serve_beside_worker(console: WorkerConsole, sock: socket.socket, data_dir: Path,
                        dsn: str | None, database: str, kafka: KafkaSettings) -> Iterator[str]:
    """Serve the console on `sock` from a thread of this process; yield its URL.

    Args:
        console: address and users.
        sock: the socket `console.bind()` returned (closed at the end).
        data_dir: the worker's `--data-dir` (its embedded store is `DATA_DIR/clickhouse`).
        dsn: the worker's ClickHouse server DSN, or None for the embedded store.
        database: the worker's database.
        kafka: the worker's Kafka settings (topics read, verdicts produced).

    """
    options = ServeOptions(
        run=None if dsn else data_dir, clickhouse=dsn, database=database, kafka=kafka,
        host=console.host, port=console.port, audit_log=data_dir / AUDIT_FILE,
        secret_key=os.environ.get("PITBOSS_CONSOLE_SECRET") or secrets.token_hex(32),
    )  # fmt: skip
    try:
        with open_console(options, console.users) as served:
            config = uvicorn.Config(build_app(served), log_level="warning", proxy_headers=True,
                                    timeout_graceful_shutdown=2)  # fmt: skip
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                      name="review-console", daemon=True)  # fmt: skip
            thread.start()
            url = f"http://{console.host}:{console.port}/"
            _log.info("review console serving from the worker", url=url,
                      store="server" if dsn else "embedded (shared with the worker)")
            try:
                yield url
            finally:
                server.should_exit = True
                thread.join(STOP_TIMEOUT_S)
    finally:
        sock.close()
