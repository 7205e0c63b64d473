"""The console live, in a real headless Chromium: verdicts reach a real worker through Tansu.

A development broker (Tansu) and a `pitboss run` worker that serves the console from
its own process (`--console`), on its embedded store: the case page shows the
player's timeline, every audit row and the follow-up of earlier interventions while
the worker runs. The simulated population (150 players x 3 days) ends an hour before
now, so the verdicts' event time (the wall clock) comes right after the data and the
reviews are still open for the worker; a crafted harmed player (`harmed_player`)
raises an `rg_review`, which three simulated days do not. A verdict is finalised once
event time moves past it (the models step waits for every shard's clock), as
continuous live traffic does: a heartbeat player starts a session every half second,
and the worker sends idle shards clock ticks every second of event time. Tests run in
file order; the last one stops the broker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import confluent_kafka
import orjson
import pytest

from pitboss.operators.contract import wall_clock_ms
from pitboss.replay.live.dev_broker import DevKafka
from pitboss.replay.simulator.simulate import simulate
from tests.flows.conftest import Worker, free_port, produce, topic_by_event_type
from tests.pitboss.console.conftest import (
    ConsoleProcess,
    log_in,
    start_console,
    stop_console,
    wait_until_up,
)
from tests.pitboss.console.harmed_player import harmed_player_events, merged

pytestmark = pytest.mark.slow
DAY_MS = 86_400_000
HARMED = "rg-harmed-1"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, users_file: Path
         ) -> Iterator[tuple[DevKafka, Worker, ConsoleProcess]]:
    """Run a broker and a worker serving the console, fed 150 players x 3 days and one harmed."""
    base = tmp_path_factory.mktemp("live-console")
    start_ms = wall_clock_ms() - 3 * DAY_MS - 3_600_000
    messages = list(merged(simulate(150, 3, 7, start_ms),
                           harmed_player_events(HARMED, start_ms + 3 * DAY_MS)))
    with DevKafka(partitions=1) as kafka:
        port = free_port()
        worker = Worker(kafka.bootstrap, base / "worker", {"PITBOSS_FEATURES__CLOCK_TICK_S": "1"},
                        ["--console", f"127.0.0.1:{port}", "--console-users", str(users_file)])
        stop = threading.Event()
        try:
            produce(kafka.bootstrap, messages, topic_by_event_type)
            threading.Thread(target=_heartbeat, args=(kafka.bootstrap, stop), daemon=True).start()
            console = ConsoleProcess(worker.process, f"http://127.0.0.1:{port}", worker.log_path,
                                     base / "worker" / "console-audit.jsonl")
            wait_until_up(console)
            yield kafka, worker, console
        finally:
            stop.set()
            worker.kill()


def _heartbeat(bootstrap: str, stop: threading.Event) -> None:
    """Keep event time moving: a session start of a player of its own every half second."""
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap,
                                         "message.timeout.ms": "5000"})
    beat = 0
    while not stop.wait(0.5):
        beat += 1
        event = {"event_id": f"heartbeat-{beat}", "event_type": "session_start",
                 "player_id": "zz-heartbeat", "ts": wall_clock_ms(), "session_id": "hb"}
        producer.produce("sessions", orjson.dumps(event), b"zz-heartbeat")
        producer.poll(0)
    producer.purge()  # the broker may be gone (the last test stops it): drop what is queued
    producer.flush(0)


def _open_case(page: Any, url: str, worker: Worker, query: str, timeout_s: float = 120) -> str:
    """Wait until the queue (filtered by `query`) shows a review; open it; return its id."""
    deadline = time.monotonic() + timeout_s
    while True:
        page.goto(url + f"/?{query}")
        link = page.locator("a.open-case").first
        if link.count():
            decision_id = str(link.get_attribute("href")).rsplit("/", 1)[1]
            link.click()
            page.wait_for_selector(".case-head")
            return decision_id
        worker.alive()
        assert time.monotonic() < deadline, f"no review for {query} in the queue"
        page.wait_for_timeout(1000)


def _wait_for_row(page: Any, status: str, timeout_s: float = 60) -> None:
    """Reload the case until the store's audit table shows a row of `status`."""
    deadline = time.monotonic() + timeout_s
    while not page.locator(f"table.rows tr.status-{status}").count():
        assert time.monotonic() < deadline, f"no {status} row on the case page"
        page.wait_for_timeout(1000)
        page.reload()


def _verdicts(bootstrap: str) -> list[dict[str, Any]]:
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap,
                                         "group.id": f"t-{time.monotonic_ns()}"})
    consumer.assign([confluent_kafka.TopicPartition("outcomes", 0,
                                                    confluent_kafka.OFFSET_BEGINNING)])
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for message in consumer.consume(500, 0.5):
            event = orjson.loads(message.value() or b"{}")
            if event.get("event_type") == "review_decision":
                found.append(event)
        _, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition("outcomes", 0))
        position = consumer.position([confluent_kafka.TopicPartition("outcomes", 0)])[0].offset
        if position >= high:
            break
    consumer.close()
    return found


def test_reviewer_approves_and_the_worker_finalises_the_action(live: Any, page: Any) -> None:
    kafka, worker, console = live
    log_in(page, console.url, "rita")
    # A fraud review, as the simulated players raise them: fraud is reviewed before
    # money leaves.
    decision_id = _open_case(page, console.url, worker, "action=fraud_review")
    assert page.inner_text("#case-status") == "open"
    # The worker's own store, live: the timeline and the audit rows behind the case (the
    # topics may show a review a moment before the store's writer has flushed it).
    _wait_for_row(page, "pending_review")
    assert page.locator("svg polyline").count() >= 2, "timeline charts"
    assert {"emitted", "pending_review"} <= set(
        page.locator("table.rows .status").all_inner_texts())
    page.fill("textarea[name=note]", "Bonus then a withdrawal to a new instrument in an hour.")
    # A forged reviewer field is ignored: the event names the logged-in user.
    page.evaluate("""() => { const i = document.createElement('input'); i.type = 'hidden';
        i.name = 'reviewer'; i.value = 'mallory';
        document.querySelector('form.verdict-form').appendChild(i); }""")
    page.click("button.approve")
    page.wait_for_selector(".flash")
    assert "event time has passed" in page.inner_text(".waiting"), "says what it waits for"
    # Answered at once, before the feed reads the verdict back: no second verdict.
    assert page.inner_text("#case-status") in ("approve sent", "approved")
    assert page.locator("form.verdict-form").count() == 0
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    again = page.evaluate("""async ([id, token]) => (await fetch('/case/' + id + '/verdict', {
        method: 'POST', body: new URLSearchParams({csrf_token: token, verdict: 'deny',
        note: 'twice'})})).status""", [decision_id, token])
    assert again == 409
    page.wait_for_selector(".finalised-action", timeout=90_000)  # the page reloads itself
    assert page.inner_text(".finalised-action") == "hold_withdrawals_and_bonuses"
    assert page.inner_text("#case-status") == "approved"
    _wait_for_row(page, "approved")
    assert page.inner_text("table.rows tr.status-approved td:nth-child(8)") == "rita"
    sent = [v for v in _verdicts(kafka.bootstrap) if v["decision_id"] == decision_id]
    assert [(v["verdict"], v["reviewer"]) for v in sent] == [("approve", "rita")]
    audit = [orjson.loads(line) for line in console.audit_path.read_bytes().splitlines()]
    assert {(a["decision_id"], a["reviewer"], a["outcome"]) for a in audit} >= {
        (decision_id, "rita", "delivered")}
    page.goto(console.url + "/")
    assert page.locator(f"tr[data-decision='{decision_id}']").count() == 0


def test_an_approved_rg_review_becomes_a_mandatory_cool_off(live: Any, page: Any) -> None:
    kafka, worker, console = live
    log_in(page, console.url, "rita")
    decision_id = _open_case(page, console.url, worker, f"action=rg_review&player={HARMED}")
    assert "mandatory_cool_off" in page.inner_text(".case-head")
    _wait_for_row(page, "pending_review")
    # The story behind it: the interventions the ladder sent first, and what play did after.
    follow_up = page.inner_text("table.follow-up")
    assert "rg_message" in follow_up, follow_up
    assert page.locator("table.rows tr.status-suppressed .rule").count() >= 1
    page.fill("textarea[name=note]", "Six hours, chasing losses, a reversed withdrawal.")
    page.click("button.approve")
    page.wait_for_selector(".finalised-action", timeout=90_000)
    assert page.inner_text(".finalised-action") == "mandatory_cool_off"
    _wait_for_row(page, "approved")
    sent = [v for v in _verdicts(kafka.bootstrap) if v["decision_id"] == decision_id]
    assert [(v["verdict"], v["reviewer"], v["player_id"]) for v in sent] == [
        ("approve", "rita", HARMED)]


def test_reviewer_denies_a_case_with_a_note(live: Any, page: Any) -> None:
    kafka, worker, console = live
    log_in(page, console.url, "rita")
    decision_id = _open_case(page, console.url, worker, "action=fraud_review")
    page.evaluate("() => document.querySelector('textarea[name=note]').removeAttribute('required')")
    page.click("button.deny")
    assert "a note is required" in page.inner_text(".error")
    page.fill("textarea[name=note]", "Instruments belong to one household; no fraud.")
    page.click("button.deny")
    page.wait_for_selector(".flash")
    # The worker writes no action for a denial, only the audit row the page waits for.
    page.wait_for_selector("#case-status:text-is('denied')", timeout=90_000)
    assert page.locator(".finalised-action").count() == 0
    _wait_for_row(page, "denied")
    sent = [v for v in _verdicts(kafka.bootstrap) if v["decision_id"] == decision_id]
    assert [(v["verdict"], v["reviewer"]) for v in sent] == [("deny", "rita")]
    assert page.locator("form.verdict-form").count() == 0, "answered: no second verdict"
    page.goto(console.url + "/")
    assert page.locator(f"tr[data-decision='{decision_id}']").count() == 0


def test_an_analyst_sees_cases_but_cannot_decide(live: Any, page: Any) -> None:
    kafka, worker, console = live
    log_in(page, console.url, "ana")
    decision_id = _open_case(page, console.url, worker, "action=fraud_review")
    assert page.locator("form.verdict-form").count() == 0
    assert "only reviewers may decide" in page.inner_text(".readonly-note")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    status = page.evaluate("""async ([id, token]) => (await fetch('/case/' + id + '/verdict', {
        method: 'POST', body: new URLSearchParams({csrf_token: token, verdict: 'approve',
        note: 'trying'})})).status""", [decision_id, token])
    assert status == 403
    assert not [v for v in _verdicts(kafka.bootstrap) if v["decision_id"] == decision_id]


def test_a_failed_delivery_is_an_error_on_the_page(live: Any, page: Any,
                                                    tmp_path: Path, users_file: Path) -> None:
    # A console of its own on the topics only (`pitboss console serve --bootstrap`): the
    # worker's console would go with the worker, and the broker must go while it runs.
    kafka, worker, _ = live
    console = start_console(["--users", str(users_file), "--bootstrap", kafka.bootstrap],
                            tmp_path)
    try:
        log_in(page, console.url, "rita")
        _open_case(page, console.url, worker, "action=fraud_review")
        assert "reads the live topics only" in page.inner_text("main")
        worker.kill()
        kafka.stop()
        page.fill("textarea[name=note]", "Approve the hold.")
        page.click("button.approve")
        page.wait_for_selector(".error", timeout=60_000)
        error = page.inner_text(".error")
        assert "not delivered" in error or "failed" in error
        assert page.inner_text("#case-status") == "open"
    finally:
        stop_console(console)
