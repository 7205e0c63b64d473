"""The console of the live demo: a reviewer login made up for the run, served by the worker.

The demo's worker keeps its store in embedded chDB, which only the worker's process
may open, so the worker serves the console itself (`pitboss run --console`,
`pitboss.console.worker_console`): the case page then has the player's timeline,
every audit row and the interventions' follow-up, live. `DemoConsole.prepare(run_dir)`
writes a users file in the run directory with one reviewer (`demo-reviewer`, a fresh
random password) and picks a port; `worker_args` go on the worker's command line;
`announced(announce)` waits until the console answers, then announces its URL and the
login.
"""

from __future__ import annotations

import secrets
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from pitboss.console.users import add_user

DEMO_USER = "demo-reviewer"
PREFERRED_PORT = 8700
START_TIMEOUT_S = 60.0
"""How long the demo waits for its worker to serve the console (it starts with the dataflow)."""


@dataclass(frozen=True, slots=True)
class DemoConsole:
    """The demo's console: where the worker serves it and the reviewer's login."""

    users: Path
    password: str
    host: str
    port: int

    @classmethod
    def prepare(cls, run_dir: Path, host: str = "127.0.0.1") -> DemoConsole:
        """Write the users file (one reviewer, random password) and pick a free port."""
        run_dir.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        users = run_dir / "console-users.json"
        add_user(users, DEMO_USER, "reviewer", password)
        return cls(users, password, host, _port(host))

    @property
    def url(self) -> str:
        """The console's address."""
        return f"http://{self.host}:{self.port}/"

    @property
    def worker_args(self) -> tuple[str, ...]:
        """The worker's options that make it serve this console."""
        return ("--console", f"{self.host}:{self.port}", "--console-users", str(self.users))

    @contextmanager
    def announced(self, announce: Callable[[str], None], alive: Callable[[], bool],
                  timeout_s: float = START_TIMEOUT_S) -> Iterator[str | None]:
        """Wait until the worker serves the console; announce URL and login; yield the URL.

        Args:
            announce: prints a line for the user.
            alive: whether the worker still runs (no wait for a worker that exited).
            timeout_s: how long to wait.

        """
        if _wait_until_up(self.url, alive, timeout_s):
            announce(f"review console: {self.url}  (login {DEMO_USER} / {self.password}; "
                     "approve an open review: the worker finalises it once event time "
                     "passes your verdict, seconds with the demo's traffic)")
            yield self.url
        else:
            announce("review console did not start: see worker.log in the run directory")
            yield None


def _port(host: str) -> int:
    """Return the preferred port if free, else any free one."""
    with closing(socket.socket()) as sock:
        try:
            sock.bind((host, PREFERRED_PORT))
            return PREFERRED_PORT
        except OSError:
            sock.bind((host, 0))
            return int(sock.getsockname()[1])


def _wait_until_up(url: str, alive: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive():
        try:
            urllib.request.urlopen(url + "healthz", timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False
