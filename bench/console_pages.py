"""Page load time of the review console's queue and case page: `python -m bench.console_pages`.

Serves a read-only console (`pitboss console serve --run DIR`) over a replay's store
and times, after one warm-up, the full response of the queue and of the case pages
of the three oldest open reviews and of the open review whose player has the most
audit rows (found with `pitboss query` first) over HTTP, median and worst of
`--repeat` loads each; with `--browser`, also the same pages in headless Chromium (navigation to the
`load` event, styles and script included), median and worst of `--repeat` loads, and
screenshots of each page into `--shots`. It ends with the machine's load average.

Options: `--run DIR` (a replay's run directory: `pitboss simulate --players 10000
--days 30` then `pitboss replay` makes the reference store), `--repeat N` (default 10),
`--browser`, `--shots DIR` (default /tmp/console-shots).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from pitboss.console.users import add_user

USER, PASSWORD = "bench-reviewer", "bench-password-1"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(run: Path, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    users = work / "users.json"
    add_user(users, USER, "reviewer", PASSWORD)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pitboss.cli", "console", "serve", "--users", str(users),
         "--run", str(run), "--port", str(port), "--audit-log", str(work / "audit.jsonl")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1).close()
            return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the console did not start")


def _opener(url: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(url + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    form = urllib.parse.urlencode({"csrf_token": token.group(1), "username": USER,
                                   "password": PASSWORD, "next": "/"}).encode()
    request = urllib.request.Request(url + "/login", data=form, headers={"Origin": url})
    opener.open(request).read()
    return opener


def _time(opener: urllib.request.OpenerDirector, url: str, repeat: int) -> tuple[float, float]:
    opener.open(url).read()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        body = opener.open(url).read()
        times.append(time.perf_counter() - started)
        assert b"<html" in body
    return statistics.median(times) * 1000, max(times) * 1000


HEAVIEST = (
    "SELECT r.decision_id AS decision_id, d.n AS rows FROM (SELECT decision_id, player_id "
    "FROM decisions WHERE kind = 'review' AND status = 'pending_review') AS r INNER JOIN "
    "(SELECT player_id, count() AS n FROM decisions GROUP BY player_id) AS d "
    "ON r.player_id = d.player_id ORDER BY d.n DESC, r.decision_id LIMIT 1"
)


def _heaviest_case(run: Path) -> tuple[str, int] | None:
    """Return the open review whose player has the most audit rows (`pitboss query`)."""
    done = subprocess.run([sys.executable, "-m", "pitboss.cli", "query", "--run", str(run),
                           "--format", "csv", HEAVIEST], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or len(lines) < 2:
        return None
    decision_id, rows = lines[-1].split(",")
    return decision_id.strip('"'), int(rows)


def _case_urls(opener: urllib.request.OpenerDirector, url: str) -> list[str]:
    queue = opener.open(url + "/").read().decode()
    return [url + path for path in re.findall(r'href="(/case/[0-9a-f]{32})"', queue)]


def _browser(url: str, case_urls: list[str], shots: Path, repeat: int) -> dict[str, list[float]]:
    """Load each page `repeat` times in headless Chromium (after a warm-up); screenshot each."""
    from playwright.sync_api import sync_playwright

    shots.mkdir(parents=True, exist_ok=True)
    figures: dict[str, list[float]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)  # fmt: skip
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url + "/login")
        page.fill("input[name=username]", USER)
        page.fill("input[name=password]", PASSWORD)
        page.click("form.login button[type=submit]")
        page.wait_for_selector("table.queue")
        targets = [("queue", url + "/")] + [(f"case{i + 1}", c) for i, c in enumerate(case_urls)]
        for name, target in targets:
            page.goto(target)  # warm-up
            times = figures.setdefault(name, [])
            for _ in range(repeat):
                started = time.perf_counter()
                page.goto(target, wait_until="load")
                times.append((time.perf_counter() - started) * 1000)
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        browser.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--shots", type=Path, default=Path("/tmp/console-shots"))
    args = parser.parse_args()
    heaviest = _heaviest_case(args.run)  # before the console holds the store
    with tempfile.TemporaryDirectory() as work:
        process, url = _start(args.run, Path(work))
        try:
            opener = _opener(url)
            median, worst = _time(opener, url + "/", args.repeat)
            print(f"queue: median {median:.0f} ms, worst {worst:.0f} ms")
            cases = _case_urls(opener, url)[:3]
            print(f"{len(cases)} oldest open reviews timed", end="")
            if heaviest is not None:
                cases.append(f"{url}/case/{heaviest[0]}")
                print(f", and the open review of the player with the most audit rows "
                      f"({heaviest[1]:,})", end="")
            print()
            for case_url in cases:
                median, worst = _time(opener, case_url, args.repeat)
                print(f"case {case_url.rsplit('/', 1)[1]}: median {median:.0f} ms, "
                      f"worst {worst:.0f} ms")
            if args.browser and cases:
                for name, times in _browser(url, cases, args.shots, args.repeat).items():
                    print(f"browser {name}: median {statistics.median(times):.0f} ms, "
                          f"worst {max(times):.0f} ms over {len(times)} loads")
            print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
        finally:
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
