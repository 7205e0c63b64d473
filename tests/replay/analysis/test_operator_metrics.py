"""Operator figures from the truth: RG reach, win-back, exclusions, calibration and drift."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pitboss.replay.analysis.evaluation_truth import HOUR_MS
from pitboss.replay.analysis.operator_metrics import (
    DEFAULT_WINDOWS,
    calibration,
    drift,
    during_exclusion,
    expected_calibration_error,
    rg_reach,
    winback,
)
from pitboss.replay.analysis.run_facts import ScorePoint
from tests.replay.analysis.test_evaluation import DAY, T0, decision, player, truth_of

ONSET = T0 + 2 * DAY
PLAY = ONSET + 5 * HOUR_MS


def harmed(pid: str) -> object:
    return player(pid, "harmed", onset_ms=ONSET, first_harmful_play_ms=PLAY,
                  first_harmful_session_end_ms=PLAY + HOUR_MS)


def test_reach_counts_from_the_first_harmful_play_not_from_onset() -> None:
    truth = truth_of(harmed("a"), harmed("b"), harmed("c"), harmed("d"),
                     player("late", "harmed", onset_ms=ONSET,
                            first_harmful_play_ms=T0 + 10 * DAY - HOUR_MS))
    acted = [decision("a", "intervention", "rg_message", PLAY + 30 * 60_000),
             decision("b", "review", "rg_review", PLAY + 3 * HOUR_MS),
             decision("c", "intervention", "rg_message", PLAY + 30 * HOUR_MS),
             decision("c", "intervention", "rg_message", ONSET - HOUR_MS)]

    reach = rg_reach(truth, acted)

    assert reach["within_first_session"] == {"count": 1, "of": 4, "share": 0.25}
    assert reach["within_2h"]["count"] == 1
    assert reach["within_24h"]["count"] == 2
    assert reach["hours"]["buckets"] == {"<= 1 h": 1, "<= 2 h": 0, "<= 6 h": 1, "<= 24 h": 0,
                                         "<= 72 h": 1, "> 72 h": 0, "never": 1}


def test_an_action_between_onset_and_the_first_harmful_play_reaches_at_once() -> None:
    reach = rg_reach(truth_of(harmed("a")), [decision("a", "intervention", "x", ONSET + 1)])

    assert reach["within_first_session"]["count"] == 1
    assert reach["hours"]["median"] == 0.0


def consenting(pid: str, archetype: str = "recreational", **times: int | bool | None) -> object:
    """Return a player who accepted marketing when the window opened."""
    return player(pid, archetype, marketing_consent_ms=T0, **times)


def test_winback_coverage_lift_and_offers_to_players_not_drifting_away() -> None:
    last = T0 + 2 * DAY
    truth = truth_of(
        consenting("c1", "churner", last_event_ms=last, churn_ms=last + HOUR_MS),
        consenting("c2", "churner", last_event_ms=last, churn_ms=last + HOUR_MS),
        consenting("c3", "churner", last_event_ms=T0 + 9 * DAY),  # too recent for coverage
        consenting("c4", "churner", last_event_ms=last, refuses_marketing=True),
        *(consenting(f"s{i}") for i in range(4)),
    )
    acted = [decision("c1", "offer", "winback", last + 5 * DAY),
             decision("c2", "offer", "winback", last - 5 * DAY),  # before the window
             decision("s0", "offer", "reactivation", T0 + DAY)]

    w = winback(truth, acted, DEFAULT_WINDOWS)

    assert w["churners_covered"] == {"count": 1, "of": 2, "share": 0.5}
    assert w["churners_offered"] == {"count": 2, "of": 3, "share": 0.6667}
    assert w["steady_offered"] == {"count": 1, "of": 4, "share": 0.25}
    assert w["lift"] == pytest.approx(2.67)
    assert w["offers_to_not_drifting"] == {"count": 2, "of": 3, "share": 0.6667}


def test_winback_counts_only_players_an_offer_may_reach_and_keeps_the_all_figures() -> None:
    last = T0 + 2 * DAY
    truth = truth_of(
        consenting("c1", "churner", last_event_ms=last),
        consenting("held", "churner", last_event_ms=last),  # in the offer holdout
        player("silent", "churner", last_event_ms=last),  # never sent a consent
        player("late", "churner", last_event_ms=last,  # consented after the window
               marketing_consent_ms=last + 11 * DAY),
        consenting("s0"), consenting("s1"), player("s2"), player("s3"),
    )
    acted = [decision("c1", "offer", "reactivation", last + 7 * DAY),
             decision("s0", "offer", "reactivation", T0 + DAY),
             decision("s2", "offer", "reactivation", T0 + DAY)]

    w = winback(truth, acted, DEFAULT_WINDOWS, offer_holdout=lambda p: p.player_id == "held")

    assert w["churners_covered"] == {"count": 1, "of": 1, "share": 1.0}
    assert w["churners_offered"] == {"count": 1, "of": 1, "share": 1.0}
    assert w["steady_offered"] == {"count": 1, "of": 2, "share": 0.5}
    assert w["lift"] == 2.0
    assert w["all_churners_covered"] == {"count": 1, "of": 4, "share": 0.25}
    assert w["all_lift"] == pytest.approx(0.5)


def test_a_consent_counts_up_to_the_end_of_the_churners_window() -> None:
    last = T0 + DAY
    truth = truth_of(player("c", "churner", last_event_ms=last,
                            marketing_consent_ms=last + 10 * DAY))

    w = winback(truth, [], DEFAULT_WINDOWS)

    assert w["churners_covered"] == {"count": 0, "of": 1, "share": 0.0}


def test_work_during_a_self_exclusion_counts_only_while_it_is_in_force() -> None:
    truth = truth_of(player("x", "self_excluder", exclusion_ms=T0 + DAY,
                            exclusion_until_ms=T0 + 3 * DAY))
    acted = [decision("x", "intervention", "rg_message", T0 + 2 * DAY),
             decision("x", "review", "rg_review", T0 + 2 * DAY),
             decision("x", "review", "fraud_review", T0 + 4 * DAY),
             decision("x", "intervention", "rg_message", T0 + HOUR_MS),
             decision("x", "review", "rg_review", T0 + 2 * DAY, status="suppressed")]

    assert during_exclusion(truth, [d for d in acted if d.acted]) == {
        "interventions": 1, "reviews": 1, "total": 2}


def test_calibration_labels_come_from_the_truth() -> None:
    truth = truth_of(harmed("h"), player("r"))
    scores = [ScorePoint("h", ONSET + DAY, "MT", 0.0, 0.9, 0.0),
              ScorePoint("h", ONSET - DAY, "MT", 0.0, 0.9, 0.0),
              ScorePoint("r", ONSET, "MT", 0.0, 0.1, 0.0)]

    risk = calibration(truth, scores, DEFAULT_WINDOWS)["risk"]

    assert (risk["points"], risk["positives"]) == (3, 1)
    assert risk["ece"] == pytest.approx((0.1 * 1 + abs(0.9 - 0.5) * 2) / 3, abs=1e-4)


@given(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 1)), min_size=1, max_size=60))
def test_ece_is_between_0_and_1_and_0_when_scores_equal_outcome_shares(
    pairs: list[tuple[float, int]],
) -> None:
    ece = expected_calibration_error(pairs)["ece"]
    assert 0.0 <= ece <= 1.0
    exact = [(float(label), label) for _, label in pairs]
    assert expected_calibration_error(exact)["ece"] == 0.0


def test_drift_is_the_largest_day_to_day_change_after_the_warm_up() -> None:
    days = [(T0 + d * DAY, 10, {"churn": c, "risk": 0.1, "fraud": 0.1})
            for d, c in enumerate([0.9, 0.1, 0.2, 0.25, 0.6])]

    result = drift(days, T0, warmup_days=2)

    assert result["churn"]["max_daily_change"] == pytest.approx(0.35)
    assert result["risk"]["max_daily_change"] == 0.0
    assert result["worst"] == pytest.approx(0.35)
    assert result["days"] == 3
