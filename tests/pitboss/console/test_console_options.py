"""`--sso-header` and `--https-only`, over HTTP against real console processes.

With `--sso-header NAME` the user is whoever the operator's SSO proxy names in that
header (with the role the users file gives them); a request without it, or naming
no known user, is refused, and password logins are off. Without the option the same
header is ignored. `--https-only` marks the session cookie Secure; it is HttpOnly and
SameSite=Strict either way.
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pitboss.replay.simulator.simulate import simulate
from tests.pitboss.console.conftest import ConsoleProcess, start_console, stop_console

pytestmark = pytest.mark.slow
HEADER = "X-Forwarded-User"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Replay 30 simulated players x 2 days into a run directory."""
    base = tmp_path_factory.mktemp("options")
    log = base / "log.jsonl"
    log.write_bytes(b"\n".join(simulate(30, 2, 7)) + b"\n")
    done = subprocess.run([sys.executable, "-m", "pitboss.cli", "replay", "-i", str(log),
                           "-o", str(base / "run")], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return base / "run"


def _console(run_dir: Path, users_file: Path, workdir: Path, *options: str
             ) -> Iterator[ConsoleProcess]:
    # A copy each: one chDB engine per data directory, and two consoles are up at once.
    shutil.copytree(run_dir, workdir / "run", symlinks=True)  # chDB links relatively
    console = start_console(["--users", str(users_file), "--run", str(workdir / "run"),
                             *options], workdir)
    yield console
    stop_console(console)


@pytest.fixture(scope="module")
def sso_console(run_dir: Path, users_file: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[ConsoleProcess]:
    """Serve a console that trusts the SSO proxy's `X-Forwarded-User` header."""
    yield from _console(run_dir, users_file, tmp_path_factory.mktemp("sso"),
                        "--sso-header", HEADER)


@pytest.fixture(scope="module")
def plain_console(run_dir: Path, users_file: Path, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[ConsoleProcess]:
    """Serve a console with the defaults: password logins, no SSO header, plain cookies."""
    yield from _console(run_dir, users_file, tmp_path_factory.mktemp("plain"))


@pytest.fixture(scope="module")
def https_console(run_dir: Path, users_file: Path, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[ConsoleProcess]:
    """Serve a console told it is behind TLS (`--https-only`)."""
    yield from _console(run_dir, users_file, tmp_path_factory.mktemp("https"), "--https-only")


def get(console: ConsoleProcess, path: str, headers: dict[str, str] | None = None
        ) -> tuple[int, dict[str, str], str, list[str]]:
    """GET `path` without following redirects: status, headers, body and Set-Cookie lines."""
    parts = urlsplit(console.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        reply = connection.getresponse()
        body = reply.read().decode()
        cookies = reply.headers.get_all("set-cookie") or []
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, body, cookies
    finally:
        connection.close()


def test_the_sso_header_names_the_user_and_the_users_file_their_role(
        sso_console: ConsoleProcess) -> None:
    status, _, body, _ = get(sso_console, "/", {HEADER: "rita"})
    assert status == 200
    assert "Open reviews" in body and 'role-reviewer">reviewer' in body
    assert "Log out" not in body, "the proxy signs users out, not the console"
    status, _, body, _ = get(sso_console, "/", {HEADER: "ana"})
    assert status == 200 and 'role-analyst">analyst' in body


def test_without_the_sso_header_a_request_is_refused(sso_console: ConsoleProcess) -> None:
    for path in ("/", "/search?q=p", "/player?id=p000001"):
        status, headers, body, _ = get(sso_console, path)
        assert status == 401, path
        assert "location" not in headers, "no redirect to a password form"
        assert f"the {HEADER} header" in body
    status, _, _, _ = get(sso_console, "/", {HEADER: "mallory"})  # not in the users file
    assert status == 401
    status, _, body, _ = get(sso_console, "/login")
    assert status == 403 and "password logins are off" in body


def test_a_password_session_is_not_a_way_around_the_sso_header(
        sso_console: ConsoleProcess, page: object) -> None:
    page.goto(sso_console.url + "/login")  # type: ignore[attr-defined]
    assert page.locator("input[name=password]").count() == 0  # type: ignore[attr-defined]
    reply = page.request.post(sso_console.url + "/login",  # type: ignore[attr-defined]
                              form={"username": "rita", "password": "reviewer-password-1"})
    assert reply.status == 403


def test_the_sso_header_is_ignored_when_the_option_is_off(plain_console: ConsoleProcess) -> None:
    for header in (HEADER, "Remote-User", "X-Remote-User"):
        status, headers, _, _ = get(plain_console, "/", {header: "rita"})
        assert status == 303, header
        assert headers["location"].startswith("/login")


def test_session_cookies_are_secure_only_with_https_only(
        plain_console: ConsoleProcess, https_console: ConsoleProcess) -> None:
    for console, secure in ((plain_console, False), (https_console, True)):
        status, _, _, cookies = get(console, "/login")
        assert status == 200
        (cookie,) = [c for c in cookies if c.startswith("pitboss_console=")]
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite", "path", "max-age"} <= attributes
        assert "samesite=strict" in cookie.lower()
        assert ("secure" in attributes) is secure, cookie
