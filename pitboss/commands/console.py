"""`pitboss console`: the case review console for RG and fraud specialists (serve, add-user).

`pitboss console serve --users FILE --run DIR` serves a replay's store read-only;
with `--bootstrap H:P` (or `PITBOSS_KAFKA__BOOTSTRAP_SERVERS`) it also reads the live
action and outcome topics and reviewers' verdicts become `review_decision` events on
the outcomes topic. `--clickhouse DSN` reads a server store instead of a run
directory; `--bootstrap` alone serves the live topics only (a live worker's embedded
store is locked by the worker). `pitboss console add-user NAME --role reviewer` adds a
user to the users file (the password from `PITBOSS_CONSOLE_PASSWORD` or a prompt).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated

import typer

from pitboss import preflight
from pitboss.app import app
from pitboss.mistakes import InputError

console_app = typer.Typer(no_args_is_help=True, help="The case review console (web).")
app.add_typer(console_app, name="console")

UsersFile = Annotated[Path, typer.Option(
    "--users", help="JSON file of users: names, roles and argon2 password hashes.",
    envvar="PITBOSS_CONSOLE_USERS")]


@console_app.command("add-user")
def add_user(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -).")],
    users: UsersFile,
    role: Annotated[str, typer.Option("--role", help="reviewer (may decide) or analyst.")]
    = "reviewer",
) -> None:
    """Add a user (or set their password and role) in the users file."""
    from pitboss.console.users import UsersFileError
    from pitboss.console.users import add_user as add

    password = os.environ.get("PITBOSS_CONSOLE_PASSWORD") or typer.prompt(
        f"password for {name}", hide_input=True, confirmation_prompt=True)
    try:
        add(users, name, role, password)
    except UsersFileError as exc:
        raise InputError(f"--users {users}: {exc}") from None
    typer.echo(f"{name} ({role}) saved in {users}")


@console_app.command("serve")
def serve(
    users: UsersFile,
    run: Annotated[Path | None, typer.Option(
        "--run", help="A replay's run directory: its embedded store, read-only.")] = None,
    clickhouse: Annotated[str | None, typer.Option(
        "--clickhouse", help="ClickHouse server DSN (instead of --run).",
        envvar="PITBOSS_CLICKHOUSE__DSN")] = None,
    bootstrap: Annotated[str | None, typer.Option(
        "--bootstrap", help="Kafka brokers: read live topics and send verdicts.")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8700,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="TOML file overriding config/defaults.toml.")] = None,
    audit_log: Annotated[Path, typer.Option(
        "--audit-log", help="JSON-lines file every verdict is appended to.")]
    = Path("console-audit.jsonl"),
    sso_header: Annotated[str | None, typer.Option(
        "--sso-header", help="Trust this header, set by an SSO proxy, as the user name "
        "(users still need an entry in --users for their role). Off by default.")] = None,
    https_only: Annotated[bool, typer.Option(
        "--https-only", help="Mark the session cookie Secure (serve behind TLS).")] = False,
) -> None:
    """Serve the case review console (queue, cases, verdicts, explanations)."""
    from pitboss.console.server import ServeOptions, serve_console
    from pitboss.console.users import UserDirectory, UsersFileError

    settings = preflight.configuration(config)
    try:
        directory = UserDirectory.load(users)
    except UsersFileError as exc:
        raise InputError(f"--users: {exc}") from None
    if not len(directory):
        raise InputError(f"--users {users}: no users (add one with `pitboss console add-user`)")
    if run is None and not clickhouse and not bootstrap:
        raise InputError("nothing to serve: pass --run DIR, --clickhouse DSN or --bootstrap H:P")
    if run is not None and not clickhouse:
        preflight.run_directory(run, "--run")
    preflight.clickhouse_server(clickhouse, "--clickhouse")
    kafka = settings.kafka
    if bootstrap:
        kafka = kafka.model_copy(update={"bootstrap_servers": bootstrap})
        preflight.kafka_brokers(kafka, "--bootstrap")
    options = ServeOptions(
        run=run, clickhouse=clickhouse, database=settings.clickhouse.database,
        kafka=kafka if bootstrap else None, host=host, port=port, audit_log=audit_log,
        sso_header=sso_header, https_only=https_only,
        secret_key=os.environ.get("PITBOSS_CONSOLE_SECRET") or secrets.token_hex(32),
    )  # fmt: skip
    serve_console(options, directory)
