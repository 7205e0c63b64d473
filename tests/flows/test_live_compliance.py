"""Durable compliance state: an exclusion survives an empty recovery directory and input topic.

Issue 18's acceptance test. A player self-excludes while a live worker runs on Tansu;
the worker stops, its recovery directory is wiped and the input topic deleted and
created again (an upgrade from empty state, with topic retention long past); a new
worker then reads events that make the excluded player and a control player
qualify for a re-activation offer (activity, then days of silence). The control
gets the offer, the excluded player does not, and the audit names the durable
exclusion. The same holds for a replay: a new run with empty state that reads the
facts from the store.

The policy lowers `reactivation_churn` so that three quiet days qualify a player:
the point is the gate, not the churn model.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from confluent_kafka.admin import AdminClient

from pitboss.operators.policy.holdout import in_holdout
from pitboss.operators.policy.settings import load_policy
from pitboss.replay.live.dev_broker import DevKafka
from tests.flows.conftest import (
    SINGLE_TOPIC,
    SINGLE_TOPIC_ENV,
    WORKER_TIMEOUT_S,
    ActionLog,
    Worker,
    produce,
)
from tests.flows.test_live import wait_for

DAY_MS = 86_400_000
T0 = 1_767_571_200_000  # 2026-01-05T00:00:00Z
EXCLUDED, CONTROL, CLOCK = "x-excluded", "c-control", "zz-clock"
AFTER_MS = T0 + 30 * DAY_MS  # the restart's events: a month after the exclusion

_DECISIONS = r"""
import sys, orjson
from pathlib import Path
from pitboss.sinks.clickhouse_client import open_client
client = open_client(None, Path(sys.argv[1]), sys.argv[2])
rows = client.query("SELECT player_id, kind, action, status, suppressed_by "
                    "FROM decisions FINAL WHERE kind = 'offer' ORDER BY player_id").result_rows
facts = client.query("SELECT player_id, fact FROM compliance_state FINAL "
                     "ORDER BY player_id, fact").result_rows
sys.stdout.buffer.write(orjson.dumps({"offers": [list(r) for r in rows],
                                      "facts": [list(r) for r in facts]}))
"""


def _event(player: str, key: str, ts: int, kind: str, **fields: object) -> bytes:
    return orjson.dumps({"event_id": f"{player}-{key}", "event_type": kind, "player_id": player,
                         "ts": ts, "jurisdiction": "MT", "channel": "web", **fields})


def _session(player: str, ts: int, tag: str) -> list[bytes]:
    """Return a session: a deposit and twenty bets over ten minutes."""
    session = f"{player}-{tag}"
    out = [_event(player, f"{tag}-s", ts, "session_start", session_id=session),
           _event(player, f"{tag}-d", ts + 60_000, "deposit", amount=50.0, currency="EUR",
                  method="card", status="approved", instrument_id="i1", device_id="d1")]
    out += [_event(player, f"{tag}-b{k}", ts + 120_000 + k * 30_000, "bet", stake=2.0,
                   currency="EUR", game_id="slot-1", game_type="slot", session_id=session,
                   payout=1.0 if k % 3 else 0.0) for k in range(20)]
    out.append(_event(player, f"{tag}-e", ts + 3_600_000, "session_end", session_id=session))
    return out


def _in_time_order(messages: list[bytes]) -> list[bytes]:
    return sorted(messages, key=lambda m: orjson.loads(m)["ts"])


def before_restart() -> list[bytes]:
    """Both players play and consent; then one self-excludes, indefinitely."""
    out = [*_session(EXCLUDED, T0, "a"), *_session(CONTROL, T0, "a")]
    out += [_event(p, "consent-a", T0 + 2 * 3_600_000, "consent", marketing=True)
            for p in (EXCLUDED, CONTROL)]
    out.append(_event(EXCLUDED, "exclusion", T0 + 3 * 3_600_000, "self_exclusion", until=None))
    out += [_event(CLOCK, f"{n}", T0 + n * DAY_MS, "session_start", session_id=f"z{n}")
            for n in (1, 2)]
    return _in_time_order(out)


def after_restart() -> list[bytes]:
    """Return a month on: both consent, play three days and go quiet; time moves two weeks."""
    out = [_event(p, "consent-b", AFTER_MS, "consent", marketing=True)
           for p in (EXCLUDED, CONTROL)]
    for day in range(3):
        for player in (EXCLUDED, CONTROL):
            out += _session(player, AFTER_MS + day * DAY_MS + 60_000, f"b{day}")
    out += [_event(CLOCK, f"{n}", AFTER_MS + (14 + n) * DAY_MS, "session_start",
                   session_id=f"z{n}") for n in (3, 4)]
    return _in_time_order(out)


@pytest.fixture
def policy_env(tmp_path: Path) -> dict[str, str]:
    """Return the environment of a policy whose re-activation offer follows three quiet days."""
    text = (Path(__file__).parents[2] / "config" / "policy.toml").read_text(encoding="utf-8")
    assert "reactivation_churn = 0.3 " in text
    path = tmp_path / "policy.toml"
    path.write_text(text.replace("reactivation_churn = 0.3 ", "reactivation_churn = 0.05"),
                    encoding="utf-8")
    rollout = load_policy(path).rollout
    assert not any(in_holdout(p, rollout.holdout_share, rollout.holdout_salt)
                   for p in (EXCLUDED, CONTROL))
    return {**SINGLE_TOPIC_ENV, "PITBOSS_POLICY_FILE": str(path)}


def offers_in(store: Path, database: str = "pitboss") -> dict[str, list[list[str]]]:
    """Return the offers of the audit trail and the facts of a chDB store (in a subprocess)."""
    done = subprocess.run([sys.executable, "-c", _DECISIONS, str(store), database],
                          capture_output=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return orjson.loads(done.stdout)


def recreate_input_topic(kafka: DevKafka) -> None:
    """Delete the input topic and create it again, empty (retention long past)."""
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    for future in admin.delete_topics([SINGLE_TOPIC], request_timeout=30).values():
        future.result()
    time.sleep(0.5)
    kafka.create_topics([SINGLE_TOPIC], 1)


def actions_of(action_log: ActionLog, player: str) -> list[str]:
    """Return the actions sent to `player` so far, in arrival order."""
    return [orjson.loads(m.value())["action"] for m in action_log.records
            if orjson.loads(m.value())["player_id"] == player]


def distinct(rows: list[list[object]]) -> list[list[object]]:
    """Return the distinct rows, in order."""
    return [list(row) for row in sorted({tuple(row) for row in rows}, key=str)]


@pytest.mark.slow
def test_an_exclusion_survives_an_empty_recovery_directory_and_input_topic(
    kafka: DevKafka, start_worker: Callable[..., Worker], action_log: ActionLog,
    policy_env: dict[str, str], tmp_path: Path,
) -> None:
    recovery = tmp_path / "recovery"
    args = ["--recovery-dir", str(recovery)]
    first = before_restart()
    worker = start_worker(kafka.bootstrap, env=policy_env, args=args)
    produce(kafka.bootstrap, first, lambda _: SINGLE_TOPIC)
    # The exclusion's scoring point has reached the policy once the review it raises is
    # decided: suppressed (no work for specialists while the player is excluded).
    suppressed = ("pitboss_decisions_total", (("kind", "review"), ("status", "suppressed")))
    wait_for(lambda: worker.metrics().get(suppressed, 0.0) >= 1, WORKER_TIMEOUT_S, worker)
    wait_for(lambda: worker.position(SINGLE_TOPIC) >= len(first), WORKER_TIMEOUT_S, worker)
    code, _ = worker.stop()
    assert code == 0, worker.log()
    store = worker.data_dir / "clickhouse"
    assert [EXCLUDED, "self_exclusion"] in offers_in(store)["facts"]

    shutil.rmtree(recovery)
    recreate_input_topic(kafka)
    second = after_restart()
    worker = start_worker(kafka.bootstrap, env=policy_env, args=args)
    produce(kafka.bootstrap, second, lambda _: SINGLE_TOPIC)
    action_log.read_until(lambda log: "reactivation_offer" in actions_of(log, CONTROL),
                          WORKER_TIMEOUT_S, worker.alive)
    wait_for(lambda: worker.position(SINGLE_TOPIC) >= len(second), WORKER_TIMEOUT_S, worker)
    code, _ = worker.stop()
    assert code == 0, worker.log()

    assert "durable compliance facts read" in worker.log_path.read_text()
    assert "reactivation_offer" not in actions_of(action_log, EXCLUDED)
    # One offer decision per inactivity point the players reach (their out-of-rhythm
    # point, then the checkpoints): the control's first is emitted and the next held back
    # while it is pending; every one of the excluded player's is suppressed.
    assert distinct(offers_in(store)["offers"]) == [
        [CONTROL, "offer", "reactivation_offer", "emitted", ""],
        [CONTROL, "offer", "reactivation_offer", "suppressed", "pending_decision"],
        [EXCLUDED, "offer", "reactivation_offer", "suppressed", "durable_self_exclusion"],
    ]


def _replay(log: Path, out: Path, env: dict[str, str]) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PITBOSS_")}
    done = subprocess.run(
        [sys.executable, "-m", "pitboss.cli", "replay", "-i", str(log), "-o", str(out)],
        capture_output=True, check=False, timeout=300, env={**clean, **env})
    assert done.returncode == 0, done.stderr.decode()[-3000:]


def test_a_new_replay_with_empty_state_honours_the_facts_of_the_store(
    policy_env: dict[str, str], tmp_path: Path,
) -> None:
    first, second = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
    first.write_bytes(b"\n".join(before_restart()) + b"\n")
    second.write_bytes(b"\n".join(after_restart()) + b"\n")
    store_dir = tmp_path / "store"
    _replay(first, store_dir, policy_env)  # the store: production's facts in `pitboss`

    # A new run in a database of its own: empty state, facts read from `pitboss`.
    _replay(second, store_dir, {**policy_env, "PITBOSS_CLICKHOUSE__DATABASE": "whatif",
                                "PITBOSS_COMPLIANCE__FACTS_DATABASE": "pitboss"})
    # The same run without the facts: what an empty store would have decided.
    _replay(second, tmp_path / "forgetful", policy_env)

    whatif = offers_in(store_dir / "clickhouse", "whatif")["offers"]
    forgetful = offers_in(tmp_path / "forgetful" / "clickhouse")["offers"]
    assert distinct(whatif) == [
        [CONTROL, "offer", "reactivation_offer", "emitted", ""],
        [CONTROL, "offer", "reactivation_offer", "suppressed", "pending_decision"],
        [EXCLUDED, "offer", "reactivation_offer", "suppressed", "durable_self_exclusion"],
    ]
    assert distinct(forgetful) == [
        [CONTROL, "offer", "reactivation_offer", "emitted", ""],
        [CONTROL, "offer", "reactivation_offer", "suppressed", "pending_decision"],
        [EXCLUDED, "offer", "reactivation_offer", "emitted", ""],
        [EXCLUDED, "offer", "reactivation_offer", "suppressed", "pending_decision"],
    ]
    actions = (store_dir / "actions.jsonl").read_bytes().splitlines()
    assert {orjson.loads(a)["player_id"] for a in actions if b"offer" in a} == {CONTROL}
