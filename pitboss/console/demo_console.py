"""The console beside the live demo: a reviewer login made up for the run, a console process.

`demo_console(bootstrap, run_dir, announce)` writes a users file in the run directory
with one reviewer (`demo-reviewer`, a fresh random password), starts `pitboss console
serve --bootstrap` on the demo's broker (the worker's embedded store is locked while
it runs, so the console reads the live topics), announces its URL and the login, and
stops it when the block ends.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from pitboss.console.users import add_user

DEMO_USER = "demo-reviewer"
PREFERRED_PORT = 8700


@contextmanager
def demo_console(bootstrap: str, run_dir: Path, announce: Callable[[str], None],
                 config: Path | None = None, host: str = "127.0.0.1") -> Iterator[str | None]:
    """Run a console on the demo's broker (and topics of `config`); yield its URL or None."""
    run_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    users = run_dir / "console-users.json"
    add_user(users, DEMO_USER, "reviewer", password)
    port = _port(host)
    log = (run_dir / "console.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "pitboss.cli", "console", "serve", "--users", str(users),
         "--bootstrap", bootstrap, "--host", host, "--port", str(port),
         "--audit-log", str(run_dir / "console-audit.jsonl"),
         *(["--config", str(config)] if config else [])],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://{host}:{port}/"
    try:
        if _wait_until_up(url, process):
            announce(f"review console: {url}  (login {DEMO_USER} / {password}; "
                     f"approve an open review and the worker finalises it within seconds)")
            yield url
        else:
            announce(f"review console did not start: see {run_dir / 'console.log'}")
            yield None
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def _port(host: str) -> int:
    """Return the preferred port if free, else any free one."""
    with closing(socket.socket()) as sock:
        try:
            sock.bind((host, PREFERRED_PORT))
            return PREFERRED_PORT
        except OSError:
            sock.bind((host, 0))
            return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(url + "healthz", timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False
