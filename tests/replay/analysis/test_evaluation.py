"""Evaluation against the truth: pure rules on hand-made rows, then a real replayed run."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from pitboss.config.settings import load_settings
from pitboss.operators.policy.settings import load_policy
from pitboss.replay.analysis.evaluation import evaluate_run
from pitboss.replay.analysis.evaluation_truth import (
    HOUR_MS,
    PlayerTruth,
    Truth,
    detection_latencies,
    evaluate,
    load_truth,
)
from pitboss.replay.analysis.run_facts import DecisionRow, ScorePoint
from tests.replay.replayed import ReplayedRun, replayed_run

T0 = 1_767_571_200_000
DAY = 24 * HOUR_MS


def player(pid: str, archetype: str = "recreational", **times: int | bool | None) -> PlayerTruth:
    fields: dict[str, object] = {
        "onset_ms": None, "harm_confirmed_ms": None, "exclusion_ms": None,
        "exclusion_until_ms": None, "fraud_start_ms": None,
        "first_withdrawal_completed_ms": None, "refuses_marketing": False, **times}
    return PlayerTruth(pid, archetype, "MT", **fields)  # type: ignore[arg-type]


def decision(pid: str, kind: str, action: str, at: int, status: str = "emitted",
             severity: str = "low", risk: float = 0.0, value: float = 0.0) -> DecisionRow:
    return DecisionRow(f"{pid}-{action}-{at}", pid, kind, action, severity, status, "", at, "MT",
                       ("r",), 0.0, risk, 0.0, "free_spins" if kind == "offer" else "", value,
                       "EUR")


def truth_of(*players: PlayerTruth) -> Truth:
    return Truth({p.player_id: p for p in players}, T0, T0 + 10 * DAY)


def test_detection_window_false_positives_and_protected_offers() -> None:
    truth = truth_of(
        player("h1", "harmed", onset_ms=T0 + DAY),
        player("h2", "harmed", onset_ms=T0 + DAY),
        player("r1", refuses_marketing=True),
        player("x1", "self_excluder", exclusion_ms=T0 + 2 * DAY),
        player("f1", "fraudster", fraud_start_ms=T0,
               first_withdrawal_completed_ms=T0 + 5 * HOUR_MS),
        player("ok"),
    )
    rows = [
        decision("h1", "intervention", "rg_message", T0 + DAY + 10 * HOUR_MS),
        decision("h2", "intervention", "rg_message", T0 + DAY + 100 * HOUR_MS),  # too late
        decision("ok", "intervention", "deposit_limit_suggestion", T0, severity="medium"),
        decision("f1", "review", "fraud_review", T0 + 2 * HOUR_MS),
        decision("r1", "offer", "retention_offer", T0 + DAY, value=5.0),
        decision("x1", "offer", "retention_offer", T0 + 3 * DAY, value=7.0),
        decision("ok", "offer", "retention_offer", T0 + 3 * DAY, value=9.0),  # after medium RG
        decision("ok", "offer", "retention_offer", T0 + 4 * DAY, status="suppressed"),
    ]
    crossings = [ScorePoint("h1", T0 + DAY + HOUR_MS, "MT", 0.0, 0.6, 0.0)]
    result = evaluate(truth, rows, crossings, load_policy(), run_players=6)
    assert result["rg"]["harmed_intervened_in_window"] == {"count": 1, "of": 2, "share": 0.5}
    assert result["rg"]["never_harmed_medium_high"]["count"] == 1
    assert result["fraud"]["reviewed_before_withdrawal"]["share"] == 1.0
    assert result["offers"]["offers"] == 3
    assert result["offers"]["value"] == 21.0
    assert result["offers"]["per_1000_players"] == 500.0
    assert result["offers"]["to_non_consenting"] == 1
    assert result["offers"]["to_excluded"] == 1
    assert result["offers"]["to_rg_flagged"] == 1
    assert result["offers"]["to_protected"] == 3
    assert result["scores"]["harmed_risk_crossed_in_window"]["count"] == 1
    assert result["suppressions_by_rule"] == {"": 1}


def test_latencies_start_at_onset_and_ignore_held_back_actions() -> None:
    truth = truth_of(player("h1", "harmed", onset_ms=T0 + DAY), player("h2", "harmed", onset_ms=T0))
    rows = [
        decision("h1", "intervention", "rg_message", T0),  # before onset: not a detection
        decision("h1", "intervention", "reality_check", T0 + DAY + 6 * HOUR_MS),
        decision("h2", "intervention", "rg_message", T0 + HOUR_MS, status="suppressed"),
    ]
    lat = detection_latencies(truth, rows)
    assert lat.harmed_h == [6.0]
    assert lat.harmed_undetected == 1


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, chdb_path: Path) -> ReplayedRun:
    return replayed_run(tmp_path_factory.mktemp("evaluation"), chdb_path, "evaluation")


def test_a_replayed_run_protects_and_is_consistent_with_its_summary(run: ReplayedRun) -> None:
    client = run.client()
    try:
        result = evaluate_run(run.run_dir, run.truth, load_settings(), client)
    finally:
        client.close()
    truth = load_truth(run.truth)
    assert result["players"]["truth"] == len(truth.players)
    assert result["players"]["run"] == run.summary["players"]
    assert result["offers"]["to_protected"] == 0
    assert result["offers"]["offers"] == run.summary["decisions"]["offer"]
    assert result["suppressions_by_rule"] == run.summary["suppressed_by"]
    harmed = result["rg"]["harmed_intervened_in_window"]
    assert harmed["of"] == result["players"]["harmed_observable"] > 0
    assert harmed["share"] is not None and harmed["share"] > 0.5
    auc = result["models"]["progressive_roc_auc"]
    assert all(0.0 <= m["roc_auc"] <= 1.0 for m in auc.values())
    orjson.dumps(result)  # JSON-ready


def test_a_truth_without_consents_is_completed_from_the_consents_the_run_read(
    run: ReplayedRun, tmp_path: Path
) -> None:
    document = orjson.loads(run.truth.read_bytes())
    for record in document["truth"]:
        del record["marketing_consent_ms"]
    bare = tmp_path / "truth.json"
    bare.write_bytes(orjson.dumps(document))
    assert not load_truth(bare).records_consent
    assert load_truth(run.truth).records_consent

    client = run.client()
    try:
        with_truth = evaluate_run(run.run_dir, run.truth, load_settings(), client)
        from_run = evaluate_run(run.run_dir, bare, load_settings(), client)
    finally:
        client.close()

    winback = with_truth["operator"]["winback"]
    assert winback["steady_offered"]["of"] > 0
    assert from_run["operator"]["winback"] == winback


def test_with_consents_sets_each_players_consent_time() -> None:
    truth = Truth({"a": player("a"), "b": player("b")}, T0, T0 + DAY, records_consent=False)

    completed = truth.with_consents({"a": T0 + 5})

    assert completed.records_consent
    assert completed.players["a"].marketing_consent_ms == T0 + 5
    assert completed.players["b"].marketing_consent_ms is None
    assert completed.players["a"].accepts_marketing(T0 + 5)
    assert not completed.players["a"].accepts_marketing(T0 + 4)
