"""The console over a replay's store, in a real headless Chromium: read-only, logged in, inert ids.

The replay's log is a simulated population in which three players who raise reviews
are renamed to hostile ids (markup, an attribute break-out, right-to-left override
and zero-width characters). Their cases must show the ids as text: no dialog, no
injected element, the exact characters on the page.
"""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import orjson
import pytest

from pitboss.replay.simulator.simulate import Simulation
from tests.pitboss.console.conftest import (
    ConsoleProcess,
    log_in,
    start_console,
    stop_console,
)

pytestmark = pytest.mark.slow

HOSTILE_NAMES = ["<script>alert('xss')</script>", '"><img src=x onerror=alert(1)>',
                 "\u202eevil\u200b\u200dplayer\u2066"]


def _simulated() -> tuple[list[bytes], dict[str, str]]:
    """Return the log of 150 players x 3 days and the hostile name of each of three players.

    The renamed players are the three fraudsters whose fraud starts first (the
    simulator's truth), so their cases are in the queue whatever the policy's other
    thresholds: detecting fraud before money leaves is what every population checks.
    """
    simulation = Simulation(150, 3, 7)
    messages = list(simulation.messages())
    fraud = sorted((t["fraud_start_ms"], t["player_id"]) for t in simulation.truth()
                   if t["archetype"] == "fraudster" and t["fraud_start_ms"])
    pairs = zip(fraud[: len(HOSTILE_NAMES)], HOSTILE_NAMES, strict=True)
    return messages, {player: name for (_, player), name in pairs}


MESSAGES, HOSTILE = _simulated()


def _rename(line: bytes) -> bytes:
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line
    if isinstance(event, dict) and event.get("player_id") in HOSTILE:
        event["player_id"] = HOSTILE[event["player_id"]]
        return orjson.dumps(event)
    return line


@pytest.fixture(scope="module")
def store_console(tmp_path_factory: pytest.TempPathFactory, users_file: Path
                  ) -> Iterator[ConsoleProcess]:
    """Serve a read-only console over a replay of 150 players x 3 days with three hostile ids."""
    base = tmp_path_factory.mktemp("store-console")
    log = base / "log.jsonl"
    log.write_bytes(b"\n".join(_rename(m) for m in MESSAGES) + b"\n")
    done = subprocess.run([sys.executable, "-m", "pitboss.cli", "replay", "-i", str(log),
                           "-o", str(base / "run")], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    console = start_console(["--users", str(users_file), "--run", str(base / "run")], base)
    yield console
    stop_console(console)


def test_reviewer_logs_in_sees_the_queue_and_opens_a_read_only_case(
        store_console: ConsoleProcess, page: object) -> None:
    log_in(page, store_console.url, "rita")
    rows = page.locator("table.queue tbody tr[data-decision]")
    assert rows.count() >= 4
    kinds = set(page.locator("table.queue .kind").all_inner_texts())
    assert "fraud_review" in kinds and kinds <= {"rg_review", "fraud_review"}
    raised = page.locator("table.queue tbody tr td:nth-child(2)").all_inner_texts()
    assert raised == sorted(raised), "oldest first"
    page.select_option("select[name=action]", "fraud_review")
    page.click("form.filters button")
    assert set(page.locator("table.queue .kind").all_inner_texts()) == {"fraud_review"}
    page.locator("a.open-case").first.click()
    page.wait_for_selector(".case-head")
    assert page.locator("svg polyline").count() >= 2, "timeline charts"
    statuses = set(page.locator("table.rows .status").all_inner_texts())
    assert {"emitted", "pending_review"} <= statuses
    assert page.locator("form.verdict-form").count() == 0
    assert "Read-only" in page.inner_text(".readonly-note")
    page.click("text=explain this decision")
    page.wait_for_selector("article.explain")
    assert "a case waiting for a human reviewer" in page.inner_text("main")


def test_the_latest_snapshot_loads_when_opened(store_console: ConsoleProcess,
                                               page: object) -> None:
    log_in(page, store_console.url, "rita")
    page.locator("a.open-case").first.click()
    page.wait_for_selector(".case-head")
    assert "loading" in page.text_content(".latest-features"), "not read before it is opened"
    page.click("details.latest summary")
    page.wait_for_selector(".latest-features b:text-is('bets_24h')")
    hostile = next(h for h in HOSTILE.values() if h.startswith("<script"))
    page.goto(store_console.url + "/player/latest?id=" + quote(hostile, safe=""))
    assert page.locator("b", has_text="bets_24h").count() == 1
    assert page.dialogs == []


def test_suppressed_decisions_show_the_gate_rule(store_console: ConsoleProcess,
                                                 page: object) -> None:
    log_in(page, store_console.url, "rita")
    page.locator("a.open-case").first.click()
    held = page.locator("tr.status-suppressed .rule")
    assert held.count() >= 1
    held_row = page.locator("tr.status-suppressed a", has_text="explain").first
    held_row.click()
    text = page.inner_text("article.explain.status-suppressed")
    assert "Held back by gate rule" in text


def test_hostile_player_ids_are_rendered_as_text(store_console: ConsoleProcess,
                                                 page: object) -> None:
    log_in(page, store_console.url, "rita")
    queue_ids = page.locator("table.queue a.pid").all_inner_texts()
    for hostile in HOSTILE.values():
        assert hostile in queue_ids, f"{hostile!r} not shown verbatim"
    hrefs = [link.get_attribute("href") for link in page.locator("a.open-case").all()]
    for href in hrefs:
        page.goto(store_console.url + href)
        page.wait_for_selector(".case-head")
        page.locator(".case-head a.pid").click()  # the player page, id in the query string
        page.wait_for_selector("h1")
        page.go_back()
    page.goto(store_console.url + "/search?q=" + "%3Cscript")
    assert HOSTILE_NAMES[0] in page.locator("ul.found a.pid").all_inner_texts()
    assert page.dialogs == []
    assert page.locator("img").count() == 0
    assert page.locator("main script").count() == 0


def test_pages_refuse_anonymous_visitors(store_console: ConsoleProcess, page: object) -> None:
    for path in ("/", "/search?q=p", "/player?id=p000001", "/decision/" + "0" * 32):
        page.goto(store_console.url + path)
        assert page.url.startswith(store_console.url + "/login"), path
    reply = page.request.post(store_console.url + "/case/" + "0" * 32 + "/verdict",
                              form={"verdict": "approve", "note": "x"}, max_redirects=0)
    assert reply.status == 401


def test_wrong_password_is_refused_and_repeated_failures_throttled(
        store_console: ConsoleProcess, page: object) -> None:
    page.goto(store_console.url + "/login")
    for _ in range(5):
        page.fill("input[name=username]", "ana")
        page.fill("input[name=password]", "not-the-password")
        page.click("form.login button[type=submit]")
        assert "wrong user name or password" in page.inner_text("main")
    page.fill("input[name=username]", "ana")
    page.fill("input[name=password]", "not-the-password")
    page.click("form.login button[type=submit]")
    assert "too many failed logins" in page.inner_text("main")


class _EvilSite(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        body = (f'<form id="f" method="post" action="{self.target}/logout"></form>'
                '<script>document.getElementById("f").submit()</script>').encode()
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_cross_site_and_tokenless_posts_are_refused(store_console: ConsoleProcess,
                                                     page: object) -> None:
    log_in(page, store_console.url, "rita")
    _EvilSite.target = store_console.url
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EvilSite)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        with page.expect_response(lambda r: r.url.endswith("/logout")) as posted:
            page.goto(f"http://localhost:{evil.server_address[1]}/")
        assert posted.value.status in (401, 403)
    finally:
        evil.shutdown()
    page.goto(store_console.url + "/")
    assert page.locator("h1", has_text="Open reviews").count() == 1, "still logged in"
    status = page.evaluate("""async () => (await fetch('/logout', {method: 'POST',
        body: new URLSearchParams({csrf_token: 'forged'})})).status""")
    assert status == 403
    page.goto(store_console.url + "/")
    assert page.locator("h1", has_text="Open reviews").count() == 1, "still logged in"
