"""The figures an operator cares about, from the simulator's truth and a run's facts.

`operator_metrics(truth, decisions, scores, cohort_days)` returns the `operator`
section of an evaluation (docs/evaluation.md defines every figure):

- `rg_reach`: harmed players reached by an RG action (an intervention or an RG
  review) within their first harmful session, 2 h and 24 h of their first harmful
  play, and the distribution of hours to that action. Onset itself is not
  observable; the first harmful play is (`first_harmful_play_ms` in the truth).
- `rg_false_positives`: never-harmed players with a medium/high intervention or an
  RG review.
- `rg_any_intervention`: never-harmed players with any RG intervention or review,
  the first (low) rung included: what the light-touch messages cost in reach.
- `winback`: churners an offer may reach (they accept marketing and are not in the
  offer holdout) offered anything from 3 days before to 10 days after their last
  activity; the lift of offers to them over such steady players; the same two
  figures over every churner who does not refuse marketing; offers spent on players
  who were not drifting away.
- `during_exclusion`: interventions and reviews decided while a self-exclusion was
  in force.
- `calibration`: expected calibration error and the reliability table of each
  model, against labels taken from the truth.
- `drift`: the largest day-to-day change of the mean score of a fixed reference
  cohort (the steady players), after a warm-up.

Every truth comes from the population, never from Pitboss's own outputs. Shares
are `{"count", "of", "share"}` documents (`ratio`).

Example:
    >>> expected_calibration_error([(0.1, 0), (0.9, 1)], bins=10)["ece"]
    0.1

"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pitboss.operators.policy.settings import PolicySettings
from pitboss.replay.analysis.evaluation_truth import (
    DAY_MS,
    HOUR_MS,
    PlayerTruth,
    Truth,
    is_rg_action,
    offer_holdout,
    ratio,
)
from pitboss.replay.analysis.run_facts import (
    DecisionRow,
    ScorePoint,
    daily_mean_scores,
    marketing_consents,
    score_rows,
)

STEADY_ARCHETYPES = ("recreational", "vip")
"""Archetypes of the steady players: the comparison group of offers and the drift cohort."""
MODELS = ("churn", "risk", "fraud")


@dataclass(frozen=True)
class OperatorWindows:
    """The windows the operator figures use (documented defaults; not tuned)."""

    winback_before_ms: int = 3 * DAY_MS
    winback_after_ms: int = 10 * DAY_MS
    winback_min_quiet_ms: int = 7 * DAY_MS
    """A churner counts for coverage once their last activity is this long before the end."""
    churn_horizon_ms: int = 7 * DAY_MS
    """A churner's scoring points from this long before their last activity are churn positives."""
    warmup_days: int = 7
    calibration_bins: int = 10


DEFAULT_WINDOWS = OperatorWindows()


def operator_metrics(
    truth: Truth,
    decisions: Sequence[DecisionRow],
    scores: Sequence[ScorePoint],
    cohort_days: Sequence[tuple[int, int, dict[str, float]]],
    windows: OperatorWindows = DEFAULT_WINDOWS,
    offer_holdout: Callable[[PlayerTruth], bool] | None = None,
) -> dict[str, Any]:
    """Return the operator section of an evaluation (see the module docstring).

    `offer_holdout` says which players the policy's offer holdout holds back (None: none).
    """
    acted = [d for d in decisions if d.acted]
    return {
        "rg_reach": rg_reach(truth, acted),
        "rg_false_positives": rg_false_positives(truth, acted),
        "rg_any_intervention": rg_any_intervention(truth, acted),
        "winback": winback(truth, acted, windows, offer_holdout),
        "during_exclusion": during_exclusion(truth, acted),
        "calibration": calibration(truth, scores, windows),
        "drift": drift(cohort_days, truth.start_ms, windows.warmup_days),
    }


def operator_figures(
    client: Any, truth: Truth, decisions: Sequence[DecisionRow], policy: PolicySettings
) -> dict[str, Any]:
    """Read a run's store and return its operator section under `policy` (its offer holdout).

    A truth that does not say who accepted marketing (`Truth.records_consent`) is
    completed from the consents the run read from its log (`run_facts.marketing_consents`).
    """
    scores, cohort_days = read_operator_facts(client, truth)
    if not truth.records_consent:
        truth = truth.with_consents(marketing_consents(client))
    return operator_metrics(truth, decisions, scores, cohort_days,
                            offer_holdout=offer_holdout(policy))


def read_operator_facts(
    client: Any, truth: Truth
) -> tuple[list[ScorePoint], list[tuple[int, int, dict[str, float]]]]:
    """Read what `operator_metrics` needs from a run's store: scoring points, cohort means."""
    return score_rows(client), daily_mean_scores(client, steady_players(truth))


def steady_players(truth: Truth) -> list[str]:
    """Return the reference cohort: recreational and VIP players, never excluded (sorted)."""
    return sorted(p.player_id for p in truth.players.values()
                  if p.archetype in STEADY_ARCHETYPES and p.exclusion_ms is None)


# ---- RG reach ------------------------------------------------------------------------------


def _first_rg(truth: Truth, acted: Iterable[DecisionRow]) -> dict[str, int]:
    """First acted RG action of each harmed player at or after their onset."""
    first: dict[str, int] = {}
    for d in acted:
        p = truth.players.get(d.player_id)
        if p is not None and p.harmed and is_rg_action(d) and d.decided_at_ms >= (p.onset_ms or 0):
            first.setdefault(d.player_id, d.decided_at_ms)
    return first


def rg_reach(truth: Truth, acted: Sequence[DecisionRow]) -> dict[str, Any]:
    """Harmed players reached by an RG action, counted from their first harmful play.

    Players count when their first harmful play is at least 24 h before the end of
    the window (so every bound can be met). An RG action decided after onset but
    before the first harmful play counts as immediate.
    """
    first = _first_rg(truth, acted)
    players = [p for p in truth.players.values() if p.harmed and p.first_harmful_play_ms
               is not None and p.first_harmful_play_ms + 24 * HOUR_MS <= truth.end_ms]
    hours = {p.player_id: max(0.0, (first[p.player_id] - (p.first_harmful_play_ms or 0))
                              / HOUR_MS) for p in players if p.player_id in first}

    def within(p: PlayerTruth, bound_ms: int) -> bool:
        return p.player_id in first and first[p.player_id] <= bound_ms

    return {
        "within_first_session": ratio(sum(within(p, p.first_harmful_session_end_ms or 0)
                                          for p in players), len(players)),
        "within_2h": ratio(sum(within(p, (p.first_harmful_play_ms or 0) + 2 * HOUR_MS)
                               for p in players), len(players)),
        "within_24h": ratio(sum(within(p, (p.first_harmful_play_ms or 0) + 24 * HOUR_MS)
                                for p in players), len(players)),
        "hours": hours_distribution(list(hours.values()), len(players) - len(hours)),
    }


def hours_distribution(hours: list[float], never: int) -> dict[str, Any]:
    """Return quantiles and buckets of hours to an action, and how many never got one.

    Example:
        >>> hours_distribution([0.5, 3.0], never=1)["buckets"]["<= 1 h"]
        1

    """
    ordered = sorted(hours)
    bounds = (("<= 1 h", 1.0), ("<= 2 h", 2.0), ("<= 6 h", 6.0), ("<= 24 h", 24.0),
              ("<= 72 h", 72.0))
    buckets: dict[str, int] = {}
    low = -1.0
    for name, high in bounds:
        buckets[name] = sum(low < h <= high for h in ordered)
        low = high
    buckets["> 72 h"] = sum(h > 72.0 for h in ordered)
    buckets["never"] = never

    def q(share: float) -> float | None:
        return round(ordered[int(share * (len(ordered) - 1))], 2) if ordered else None

    return {"median": round(statistics.median(ordered), 2) if ordered else None,
            "p75": q(0.75), "p90": q(0.9), "max": q(1.0), "buckets": buckets}


def rg_false_positives(truth: Truth, acted: Sequence[DecisionRow]) -> dict[str, Any]:
    """Never-harmed players with a medium/high intervention or an RG review."""
    flagged = {d.player_id for d in acted
               if (d.kind == "intervention" and d.severity in ("medium", "high"))
               or d.action == "rg_review"}
    never = [p for p in truth.players.values() if not p.harmed]
    return ratio(sum(p.player_id in flagged for p in never), len(never))


def rg_any_intervention(truth: Truth, acted: Sequence[DecisionRow]) -> dict[str, Any]:
    """Never-harmed players with any RG action, the lowest rung's messages included."""
    flagged = {d.player_id for d in acted if is_rg_action(d)}
    never = [p for p in truth.players.values() if not p.harmed]
    return ratio(sum(p.player_id in flagged for p in never), len(never))


# ---- win-back ------------------------------------------------------------------------------


def _churner(p: PlayerTruth) -> bool:
    return p.archetype == "churner" and p.last_event_ms is not None


def winback(
    truth: Truth,
    acted: Sequence[DecisionRow],
    w: OperatorWindows,
    offer_holdout: Callable[[PlayerTruth], bool] | None = None,
) -> dict[str, Any]:
    """Coverage of churners, lift over steady players, and offers to players not drifting away.

    Coverage and lift count the players an offer may reach: those who accept marketing
    (a `consent` with marketing true by the end of their window: for a churner, 10 days
    after their last activity; for a steady player, the end of the simulated window) and
    are not in the offer holdout (`offer_holdout`, the deliberate control group; None:
    no holdout). A churner counts for coverage once their last activity is at least
    `winback_min_quiet_ms` before the end of the window. `all_churners_covered` and
    `all_lift` are the same figures over every player who does not refuse marketing,
    consented or not and holdout included: an offer may reach few of them
    (`offers.default_consent = false`), so they say more about the population than
    about the policy.
    """
    offers = [d for d in acted if d.kind == "offer"]
    by_player: dict[str, list[int]] = {}
    for d in offers:
        by_player.setdefault(d.player_id, []).append(d.decided_at_ms)
    held_out = offer_holdout or (lambda p: False)

    def reachable(p: PlayerTruth, by_ms: int) -> bool:
        return p.accepts_marketing(by_ms) and not held_out(p)

    not_refusing = [p for p in truth.players.values() if not p.refuses_marketing]
    churners = [p for p in not_refusing if _churner(p)]
    steady = [p for p in not_refusing if p.archetype in STEADY_ARCHETYPES
              and p.exclusion_ms is None]
    eligible_churners = [p for p in churners
                         if reachable(p, (p.last_event_ms or 0) + w.winback_after_ms)]
    eligible_steady = [p for p in steady if reachable(p, truth.end_ms)]
    covered, offered, steady_offered, lift = _winback_figures(
        truth, by_player, eligible_churners, eligible_steady, w)
    all_covered, _, _, all_lift = _winback_figures(truth, by_player, churners, steady, w)
    not_drifting = sum(not _in_window(truth.players.get(d.player_id), d.decided_at_ms, w)
                       for d in offers)
    return {
        "churners_covered": covered,
        "churners_offered": offered,
        "steady_offered": steady_offered,
        "lift": lift,
        "all_churners_covered": all_covered,
        "all_lift": all_lift,
        "offers_to_not_drifting": ratio(not_drifting, len(offers)),
    }


def _winback_figures(
    truth: Truth,
    by_player: dict[str, list[int]],
    churners: Sequence[PlayerTruth],
    steady: Sequence[PlayerTruth],
    w: OperatorWindows,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], float | None]:
    """Return coverage, churners and steady players offered, and lift, over these players."""
    quiet = [p for p in churners
             if (p.last_event_ms or 0) + w.winback_min_quiet_ms <= truth.end_ms]
    covered = sum(any(_in_window(p, t, w) for t in by_player.get(p.player_id, []))
                  for p in quiet)
    churner_share = ratio(sum(p.player_id in by_player for p in churners), len(churners))
    steady_share = ratio(sum(p.player_id in by_player for p in steady), len(steady))
    lift = None
    if churner_share["share"] is not None and steady_share["share"]:
        lift = round(churner_share["share"] / steady_share["share"], 2)
    return ratio(covered, len(quiet)), churner_share, steady_share, lift


def _in_window(p: PlayerTruth | None, t: int, w: OperatorWindows) -> bool:
    """Whether `t` lies in a churner's win-back window around their last activity."""
    if p is None or not _churner(p):
        return False
    last = p.last_event_ms or 0
    return last - w.winback_before_ms <= t <= last + w.winback_after_ms


# ---- specialists' work during a self-exclusion ---------------------------------------------


def during_exclusion(truth: Truth, acted: Sequence[DecisionRow]) -> dict[str, int]:
    """Interventions and reviews decided while the player's self-exclusion was in force."""
    counts = {"interventions": 0, "reviews": 0}
    for d in acted:
        p = truth.players.get(d.player_id)
        if p is None or not p.excluded_at(d.decided_at_ms):
            continue
        if d.kind == "intervention":
            counts["interventions"] += 1
        elif d.kind == "review":
            counts["reviews"] += 1
    return {**counts, "total": counts["interventions"] + counts["reviews"]}


# ---- calibration ---------------------------------------------------------------------------


def truth_label(kind: str, p: PlayerTruth | None, t: int, w: OperatorWindows) -> int:
    """Return the truth's label of a scoring point at `t` for model `kind`.

    risk: harmed and at or after onset; fraud: a fraudster at or after the fraud
    start; churn: a churner at or after `churn_horizon_ms` before their last activity.
    """
    if p is None:
        return 0
    if kind == "risk":
        return int(p.harmed and t >= (p.onset_ms or 0))
    if kind == "fraud":
        return int(p.fraudster and t >= (p.fraud_start_ms or 0))
    return int(_churner(p) and t >= (p.last_event_ms or 0) - w.churn_horizon_ms)


def calibration(truth: Truth, scores: Sequence[ScorePoint], w: OperatorWindows) -> dict[str, Any]:
    """Return the expected calibration error and reliability table of each model's scores.

    Churn points in the last `churn_horizon_ms` of the window are left out: whether
    such a player comes back is not known inside the window.
    """
    out: dict[str, Any] = {}
    for kind in MODELS:
        pairs = [
            (getattr(s, kind), truth_label(kind, truth.players.get(s.player_id), s.scored_at_ms, w))
            for s in scores
            if kind != "churn" or s.scored_at_ms <= truth.end_ms - w.churn_horizon_ms
        ]
        out[kind] = expected_calibration_error(pairs, w.calibration_bins)
    return out


def expected_calibration_error(
    pairs: Sequence[tuple[float, int]], bins: int = 10
) -> dict[str, Any]:
    """Return the ECE of `(score, label)` pairs over equal-width bins, and the bins.

    ECE is the mean over bins of |mean score - share of positives|, weighted by the
    bin's share of the points (Naeini et al., 2015).
    """
    sums = [[0.0, 0, 0] for _ in range(bins)]
    for score, label in pairs:
        b = sums[min(bins - 1, max(0, int(score * bins)))]
        b[0] += score
        b[1] += label
        b[2] += 1
    n = len(pairs)
    table = [{"low": round(i / bins, 3), "high": round((i + 1) / bins, 3), "points": int(c),
              "mean_score": round(s / c, 4), "positive_share": round(pos / c, 4)}
             for i, (s, pos, c) in enumerate(sums) if c]
    ece = sum(abs(s / c - pos / c) * c for s, pos, c in sums if c) / n if n else None
    return {"ece": None if ece is None else round(ece, 4), "points": n,
            "positives": int(sum(label for _, label in pairs)), "bins": table}


# ---- drift ---------------------------------------------------------------------------------


def drift(
    cohort_days: Sequence[tuple[int, int, dict[str, float]]], start_ms: int, warmup_days: int
) -> dict[str, Any]:
    """Largest day-to-day change of the cohort's mean score per model, after the warm-up.

    `cohort_days` is `run_facts.daily_mean_scores` of the reference cohort; days
    before `start_ms + warmup_days` are the warm-up and do not count.
    """
    after = [(day, means) for day, _, means in cohort_days
             if day >= start_ms + warmup_days * DAY_MS]
    per_model: dict[str, Any] = {}
    for kind in MODELS:
        series = [means[kind] for _, means in after]
        changes = [abs(b - a) for a, b in itertools.pairwise(series)]
        per_model[kind] = {"max_daily_change": round(max(changes), 4) if changes else None,
                           "daily_means": [round(v, 4) for v in series]}
    known = [m["max_daily_change"] for m in per_model.values()
             if m["max_daily_change"] is not None]
    return {"warmup_days": warmup_days, "days": len(after),
            "worst": max(known) if known else None, **per_model}
