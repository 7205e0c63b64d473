"""Run the console: open the store and the feed, build the app, serve it with uvicorn.

`open_console` opens what the options name (the store read-only, the feed and the
verdict desk only with a broker) and closes them when its block ends;
`serve_console` runs uvicorn on it until SIGINT or SIGTERM.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from pitboss.config.kafka import KafkaSettings
from pitboss.console.auth import Gatekeeper
from pitboss.console.cases import CaseBook
from pitboss.console.feed import LiveFeed
from pitboss.console.store import CaseStore
from pitboss.console.users import UserDirectory
from pitboss.console.verdicts import VerdictDesk
from pitboss.console.web import Console, build_app


@dataclass(frozen=True)
class ServeOptions:
    """Where the console reads from and listens."""

    run: Path | None
    clickhouse: str | None
    database: str
    kafka: KafkaSettings | None
    host: str
    port: int
    audit_log: Path
    secret_key: str
    sso_header: str | None = None
    https_only: bool = False
    demo_note: str = ""


@contextmanager
def open_console(options: ServeOptions, users: UserDirectory) -> Iterator[Console]:
    """Open the store, feed and desk the options name; close them at the end."""
    from pitboss.replay.run_store import StoreLocation, open_store

    with ExitStack() as stack:
        store = None
        if options.clickhouse or options.run is not None:
            location = (StoreLocation(options.clickhouse, None, options.database)
                        if options.clickhouse
                        else StoreLocation.of_run(options.run or Path(), None, options.database))
            client = open_store(location)
            stack.callback(client.close)
            store = CaseStore(client)
        feed = desk = None
        if options.kafka is not None:
            feed = stack.enter_context(LiveFeed(options.kafka))
            desk = VerdictDesk(options.kafka, options.audit_log)
            stack.callback(desk.close)
        yield Console(CaseBook(store, feed), Gatekeeper(users, sso_header=options.sso_header),
                      desk, secret_key=options.secret_key, https_only=options.https_only,
                      demo_note=options.demo_note)  # fmt: skip


def serve_console(options: ServeOptions, users: UserDirectory) -> None:
    """Serve the console until interrupted; prints its URL first."""
    with open_console(options, users) as console:
        mode = "live" if console.desk is not None else "read-only"
        print(f"console ({mode}) at http://{options.host}:{options.port}/", flush=True)
        uvicorn.run(build_app(console), host=options.host, port=options.port,
                    log_level="warning", proxy_headers=True)  # fmt: skip
