"""Fixtures for the console's tests: a users file, console processes and one headless Chromium.

The console runs as its own process (`python -m pitboss.cli console serve`), or inside
a live worker's process (`pitboss run --console`), as in production: it holds its own
chDB engine, so the test process never opens a store.
The browser is Debian's `chromium` (installed by `make test` when absent) driven by
Playwright, launched once per module; every test gets a fresh context and page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pitboss.console.users import add_user

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORDS = {"rita": "reviewer-password-1", "ana": "analyst-password-1"}


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write a users file with reviewer `rita` and analyst `ana`."""
    path = tmp_path_factory.mktemp("users") / "users.json"
    add_user(path, "rita", "reviewer", PASSWORDS["rita"])
    add_user(path, "ana", "analyst", PASSWORDS["ana"])
    return path


@dataclass
class ConsoleProcess:
    """A running `pitboss console serve` and where it listens."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    audit_path: Path

    def log(self) -> str:
        """Return the end of the console's output."""
        return self.log_path.read_text(errors="replace")[-4000:]


def start_console(args: list[str], workdir: Path) -> ConsoleProcess:
    """Start a console with `args` (after `serve`); return once it answers /healthz."""
    from tests.flows.conftest import free_port

    port = free_port()
    log_path, audit_path = workdir / "console.log", workdir / "audit.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITBOSS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "pitboss.cli", "console", "serve", "--port", str(port),
         "--audit-log", str(audit_path), *args],
        stdout=log_path.open("wb"), stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    console = ConsoleProcess(process, f"http://127.0.0.1:{port}", log_path, audit_path)
    wait_until_up(console)
    return console


def wait_until_up(console: ConsoleProcess, timeout_s: float = 60.0) -> None:
    """Return once the console answers /healthz; fail with its log if its process exits."""
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while True:
        assert console.process.poll() is None, f"console exited:\n{console.log()}"
        try:
            with urllib.request.urlopen(console.url + "/healthz", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"console not up:\n{console.log()}"
        time.sleep(0.2)


def stop_console(console: ConsoleProcess) -> None:
    """Stop the console process (SIGTERM, then SIGKILL)."""
    console.process.terminate()
    try:
        console.process.wait(10)
    except subprocess.TimeoutExpired:
        console.process.kill()
        console.process.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium for the module (skipped when chromium or playwright is missing)."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """Open a fresh browser context (no cookies) and page; dialogs are recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    context.close()


def log_in(page: object, url: str, user: str) -> None:
    """Log in through the form as `user` and land on the queue."""
    page.goto(url + "/")  # type: ignore[attr-defined]
    page.fill("input[name=username]", user)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORDS[user])  # type: ignore[attr-defined]
    page.click("form.login button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("h1:has-text('Open reviews')")  # type: ignore[attr-defined]
