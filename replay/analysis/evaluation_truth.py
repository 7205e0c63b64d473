"""Score a run against the simulator's ground truth: who was protected, how fast, at what cost.

The simulator's truth file (docs/simulator.md) says which players were harmed and
from when, who committed fraud, who excluded themselves and who refused marketing.
`evaluate(truth, decisions, crossings, ...)` compares that with what the run decided
and scored and returns plain numbers; it is pure, so any engine's output can be
evaluated (`pitboss.replay.analysis.evaluation.evaluate_run` reads a replay's store and
runs it).

"Acted" decisions are those with status `emitted` or `shadow` (what reached the
player, or would have in shadow mode). An RG action is an `intervention` or an
`rg_review`. Thresholds are the run's policy, per jurisdiction: the intervention
threshold is the lowest rung of the escalation ladder, the fraud threshold
`thresholds.fraud_review`. Every share is reported as `{"count", "of", "share"}`
with `share` None when there is nothing to divide by.

Example:
    >>> ratio(1, 4)
    {'count': 1, 'of': 4, 'share': 0.25}

"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from pitboss.config.settings import Settings
from pitboss.operators.policy.holdout import in_holdout
from pitboss.operators.policy.settings import PolicySettings, load_policy
from pitboss.replay.analysis.run_facts import DecisionRow, ScorePoint

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
DETECTION_WINDOW_H = 72


@dataclass(frozen=True, slots=True)
class PlayerTruth:
    """What really happened to one simulated player (times in epoch ms, None if not applicable)."""

    player_id: str
    archetype: str
    jurisdiction: str
    refuses_marketing: bool
    onset_ms: int | None
    harm_confirmed_ms: int | None
    exclusion_ms: int | None
    exclusion_until_ms: int | None
    fraud_start_ms: int | None
    first_withdrawal_completed_ms: int | None
    churn_ms: int | None = None
    last_event_ms: int | None = None
    first_harmful_play_ms: int | None = None
    first_harmful_session_end_ms: int | None = None
    marketing_consent_ms: int | None = None
    """When the player first sent a `consent` with `marketing: true` (None: never)."""

    @property
    def harmed(self) -> bool:
        """Whether the player became harmed inside the window."""
        return self.archetype == "harmed" and self.onset_ms is not None

    @property
    def fraudster(self) -> bool:
        """Whether the player is a fraudster."""
        return self.archetype == "fraudster"

    def accepts_marketing(self, by_ms: int) -> bool:
        """Whether the player accepted marketing by `by_ms` and does not refuse it."""
        consent = self.marketing_consent_ms
        return not self.refuses_marketing and consent is not None and consent <= by_ms

    def excluded_at(self, ts_ms: int) -> bool:
        """Whether a self-exclusion is in force at `ts_ms`."""
        if self.exclusion_ms is None or ts_ms < self.exclusion_ms:
            return False
        return self.exclusion_until_ms is None or ts_ms < self.exclusion_until_ms


@dataclass(frozen=True)
class Truth:
    """A truth file: every player's truth, and the simulated window."""

    players: dict[str, PlayerTruth]
    start_ms: int
    end_ms: int
    records_consent: bool = True
    """Whether the file says who accepted marketing (`marketing_consent_ms`); when it does
    not, `pitboss.replay.analysis.evaluation` takes the consents from the run's log."""

    def with_consents(self, consents: dict[str, int]) -> Truth:
        """Return this truth with each player's marketing consent time from `consents`."""
        players = {pid: replace(p, marketing_consent_ms=consents.get(pid))
                   for pid, p in self.players.items()}
        return replace(self, players=players, records_consent=True)


def load_truth(path: Path) -> Truth:
    """Read a truth file: `.json` (one document) or `.jsonl` (one player per line).

    Raises:
        ValueError: the file is not a truth file (the message names it and what is wrong).
        OSError: the file cannot be read.

    """
    data = path.read_bytes()
    try:
        if path.suffix == ".jsonl":
            records = [orjson.loads(line) for line in data.splitlines() if line.strip()]
            ends = [r["last_event_ms"] for r in records if r.get("last_event_ms") is not None]
            start, end = 0, max(ends, default=0)
        else:
            document = orjson.loads(data)
            if not isinstance(document, dict) or "truth" not in document:
                raise ValueError(f"{path}: not a truth file (no 'truth' list)")
            records, start, end = document["truth"], document["start_ms"], document["end_ms"]
        players = {r["player_id"]: _player(r) for r in records}
        records_consent = any("marketing_consent_ms" in r for r in records)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a truth file (not JSON: {exc})") from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a truth file (missing or malformed {exc})") from exc
    return Truth(players, int(start), int(end), records_consent)


def _player(r: dict[str, Any]) -> PlayerTruth:
    return PlayerTruth(
        r["player_id"], r["archetype"], r.get("jurisdiction", ""),
        bool(r.get("refuses_marketing")), r.get("onset_ms"), r.get("harm_confirmed_ms"),
        r.get("exclusion_ms"), r.get("exclusion_until_ms"), r.get("fraud_start_ms"),
        r.get("first_withdrawal_completed_ms"), r.get("churn_ms"), r.get("last_event_ms"),
        r.get("first_harmful_play_ms"), r.get("first_harmful_session_end_ms"),
        r.get("marketing_consent_ms"),
    )


def ratio(count: int, of: int) -> dict[str, Any]:
    """Return a count, its denominator and their quotient (None when `of` is 0)."""
    return {"count": count, "of": of, "share": round(count / of, 4) if of else None}


def is_rg_action(d: DecisionRow) -> bool:
    """Whether a decision is an RG action: an intervention or an RG review."""
    return d.kind == "intervention" or d.action == "rg_review"


@dataclass(frozen=True)
class Thresholds:
    """The policy's thresholds for one jurisdiction that the evaluation measures against."""

    intervention_risk: float
    fraud_review: float
    offer_block_risk: float
    rg_offer_block_ms: int


def offer_holdout(policy: PolicySettings) -> Callable[[PlayerTruth], bool]:
    """Return whether a player is in `policy`'s offer holdout (never offered, by design)."""
    def held_out(p: PlayerTruth) -> bool:
        rollout = policy.rules_for(p.jurisdiction).rollout
        return in_holdout(p.player_id, rollout.holdout_share, rollout.holdout_salt)
    return held_out


def thresholds_for(policy: PolicySettings, jurisdiction: str) -> Thresholds:
    """Return the thresholds in force for `jurisdiction` under `policy`."""
    rules = policy.rules_for(jurisdiction)
    return Thresholds(
        intervention_risk=rules.escalation[0].min_risk,
        fraud_review=rules.thresholds.fraud_review,
        offer_block_risk=rules.thresholds.offer_block_risk,
        rg_offer_block_ms=int(rules.gaps.rg_offer_block_days * DAY_MS),
    )


@dataclass(frozen=True)
class Latencies:
    """Hours from onset to the first action, for the players who got one, and who did not."""

    harmed_h: list[float]
    harmed_undetected: int
    fraud_h: list[float]
    fraud_undetected: int


def detection_latencies(truth: Truth, decisions: Iterable[DecisionRow]) -> Latencies:
    """Return detection latencies: harm onset -> first RG action, fraud start -> fraud review.

    Only acted decisions at or after the onset count.
    """
    first_rg: dict[str, int] = {}
    first_fraud: dict[str, int] = {}
    for d in decisions:
        p = truth.players.get(d.player_id)
        if p is None or not d.acted:
            continue
        if p.harmed and is_rg_action(d) and d.decided_at_ms >= (p.onset_ms or 0):
            first_rg.setdefault(d.player_id, d.decided_at_ms)
        fraud_start = p.fraud_start_ms or 0
        if p.fraudster and d.action == "fraud_review" and d.decided_at_ms >= fraud_start:
            first_fraud.setdefault(d.player_id, d.decided_at_ms)
    harmed = [p for p in truth.players.values() if p.harmed]
    frauds = [p for p in truth.players.values() if p.fraudster and p.fraud_start_ms is not None]
    return Latencies(
        [(first_rg[p.player_id] - (p.onset_ms or 0)) / HOUR_MS for p in harmed
         if p.player_id in first_rg],
        sum(p.player_id not in first_rg for p in harmed),
        [(first_fraud[p.player_id] - (p.fraud_start_ms or 0)) / HOUR_MS for p in frauds
         if p.player_id in first_fraud],
        sum(p.player_id not in first_fraud for p in frauds),
    )


def evaluate(
    truth: Truth,
    decisions: Sequence[DecisionRow],
    crossings: Sequence[ScorePoint],
    policy: PolicySettings,
    run_players: int,
    auc: dict[str, dict[str, float | int]] | None = None,
    window_h: int = DETECTION_WINDOW_H,
) -> dict[str, Any]:
    """Evaluate a run's decisions and scores against the truth.

    Args:
        truth: the simulator's truth.
        decisions: every decision row of the run (all statuses).
        crossings: scoring points at or above the lowest thresholds (see `read_scores_above`).
        policy: the policy the run used, for thresholds per jurisdiction.
        run_players: players the run saw, for offers per 1,000 players.
        auc: progressive ROC AUC per model (see `run_facts.progressive_auc`).
        window_h: the detection window after harm onset, in hours.

    Returns:
        The evaluation document (see docs/backtests.md for every field).

    """
    window_ms = window_h * HOUR_MS
    acted = [d for d in decisions if d.acted]
    th = {code: thresholds_for(policy, code) for code in run_jurisdictions(truth, decisions)}
    return {
        "players": _population(truth, run_players, window_ms),
        "rg": _rg(truth, acted, window_ms),
        "fraud": _fraud(truth, acted),
        "offers": _offers(truth, acted, crossings, th, run_players),
        "suppressions_by_rule": dict(sorted(Counter(
            d.suppressed_by for d in decisions if d.status == "suppressed").items())),
        "scores": _scores(truth, crossings, th, window_ms),
        "models": _models(auc or {}),
        "latency_h": _latency_summary(detection_latencies(truth, decisions)),
        "window_h": window_h,
        "policy_version": policy.policy_version,
    }


def run_jurisdictions(truth: Truth, decisions: Sequence[DecisionRow]) -> set[str]:
    """Return the jurisdictions of the truth's players and of the run's decisions."""
    return {p.jurisdiction for p in truth.players.values()} | {d.jurisdiction for d in decisions}


def _observable(p: PlayerTruth, truth: Truth, window_ms: int) -> bool:
    """Return whether a harmed player's whole detection window lies inside the window."""
    return p.harmed and (p.onset_ms or 0) + window_ms <= truth.end_ms


def _population(truth: Truth, run_players: int, window_ms: int) -> dict[str, int]:
    ps = truth.players.values()
    return {
        "run": run_players,
        "truth": len(truth.players),
        "harmed": sum(p.harmed for p in ps),
        "harmed_observable": sum(_observable(p, truth, window_ms) for p in ps),
        "never_harmed": sum(not p.harmed for p in ps),
        "fraudsters": sum(p.fraudster for p in ps),
        "fraudsters_with_withdrawal": sum(
            p.fraudster and p.first_withdrawal_completed_ms is not None for p in ps),
    }


def _rg(truth: Truth, acted: Sequence[DecisionRow], window_ms: int) -> dict[str, Any]:
    observable = [p for p in truth.players.values() if _observable(p, truth, window_ms)]
    in_time = {
        d.player_id for d in acted if is_rg_action(d) and (p := truth.players.get(d.player_id))
        and p.onset_ms is not None and p.onset_ms <= d.decided_at_ms <= p.onset_ms + window_ms
    }
    never = [p for p in truth.players.values() if not p.harmed]
    flagged = {
        d.player_id for d in acted
        if d.kind == "intervention" and d.severity in ("medium", "high")
    } | {d.player_id for d in acted if d.action == "rg_review"}
    return {
        "harmed_intervened_in_window": ratio(
            sum(p.player_id in in_time for p in observable), len(observable)),
        "never_harmed_medium_high": ratio(
            sum(p.player_id in flagged for p in never), len(never)),
    }


def _fraud(truth: Truth, acted: Sequence[DecisionRow]) -> dict[str, Any]:
    reviews = [d for d in acted if d.action == "fraud_review"]
    first: dict[str, int] = {}
    for d in reviews:
        first.setdefault(d.player_id, d.decided_at_ms)
    cashed = [p for p in truth.players.values()
              if p.fraudster and p.first_withdrawal_completed_ms is not None]
    others = [p for p in truth.players.values() if not p.fraudster]
    return {
        "reviewed_before_withdrawal": ratio(
            sum(p.player_id in first
                and first[p.player_id] < (p.first_withdrawal_completed_ms or 0) for p in cashed),
            len(cashed)),
        "non_fraudsters_reviewed": ratio(sum(p.player_id in first for p in others), len(others)),
    }


def _offers(
    truth: Truth,
    acted: Sequence[DecisionRow],
    crossings: Sequence[ScorePoint],
    th: dict[str, Thresholds],
    run_players: int,
) -> dict[str, Any]:
    offers = [d for d in acted if d.kind == "offer"]
    offered = {d.player_id for d in offers}
    risk_by_player = _by_player(c for c in crossings if c.player_id in offered)
    acted_by_player = _by_player(d for d in acted if d.player_id in offered)
    excluded = non_consenting = rg_flagged = harmed_after_onset = 0
    for d in offers:
        p = truth.players.get(d.player_id)
        if p is not None and p.excluded_at(d.decided_at_ms):
            excluded += 1
        if p is not None and p.refuses_marketing:
            non_consenting += 1
        if _rg_flagged_at(d, p, acted_by_player.get(d.player_id, []),
                          risk_by_player.get(d.player_id, []), th[d.jurisdiction]):
            rg_flagged += 1
        if p is not None and p.harmed and d.decided_at_ms >= (p.onset_ms or 0):
            harmed_after_onset += 1
    return {
        "offers": len(offers),
        "value": round(sum(d.offer_value for d in offers), 2),
        "per_1000_players": round(1000 * len(offers) / run_players, 2) if run_players else None,
        "to_excluded": excluded,
        "to_non_consenting": non_consenting,
        "to_rg_flagged": rg_flagged,
        "to_protected": excluded + non_consenting + rg_flagged,
        "to_harmed_after_onset": harmed_after_onset,
    }


def _by_player(rows: Iterable[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.player_id, []).append(row)
    return grouped


def _rg_flagged_at(
    offer: DecisionRow,
    p: PlayerTruth | None,
    acted: Sequence[DecisionRow],
    crossings: Sequence[ScorePoint],
    th: Thresholds,
) -> bool:
    """Whether the player was RG-flagged when the offer was decided (the gate's own rule).

    `acted` and `crossings` are the offered player's own rows.

    Flagged: the offer's own risk at or above `offer_block_risk`; or, within
    `rg_offer_block_days` before it, a risk score that high, a medium/high
    intervention, an RG review, or a confirmed harm (from the truth).
    """
    t, since = offer.decided_at_ms, offer.decided_at_ms - th.rg_offer_block_ms
    if offer.score_risk >= th.offer_block_risk:
        return True
    if p is not None and p.harm_confirmed_ms is not None and since <= p.harm_confirmed_ms <= t:
        return True
    if any(since <= c.scored_at_ms <= t and c.risk >= th.offer_block_risk for c in crossings):
        return True
    return any(
        since <= d.decided_at_ms <= t
        and ((d.kind == "intervention" and d.severity in ("medium", "high"))
             or d.action == "rg_review")
        for d in acted
    )


def _scores(
    truth: Truth, crossings: Sequence[ScorePoint], th: dict[str, Thresholds], window_ms: int
) -> dict[str, Any]:
    risk_first: dict[str, int] = {}
    fraud_first: dict[str, int] = {}
    for c in crossings:
        t = th[c.jurisdiction]
        p = truth.players.get(c.player_id)
        onset = p.onset_ms if p is not None and p.harmed else None
        # A harmed player's crossing counts from onset: before it, it says nothing of harm.
        if c.risk >= t.intervention_risk and (onset is None or c.scored_at_ms >= onset):
            risk_first.setdefault(c.player_id, c.scored_at_ms)
        if c.fraud >= t.fraud_review:
            fraud_first.setdefault(c.player_id, c.scored_at_ms)
    ps = list(truth.players.values())
    observable = [p for p in ps if _observable(p, truth, window_ms)]
    cashed = [p for p in ps if p.fraudster and p.first_withdrawal_completed_ms is not None]
    return {
        "harmed_risk_crossed_in_window": ratio(sum(
            p.player_id in risk_first and risk_first[p.player_id] <= (p.onset_ms or 0) + window_ms
            for p in observable), len(observable)),
        "never_harmed_risk_crossed": ratio(
            sum(p.player_id in risk_first for p in ps if not p.harmed),
            sum(not p.harmed for p in ps)),
        "fraud_crossed_before_withdrawal": ratio(sum(
            p.player_id in fraud_first
            and fraud_first[p.player_id] < (p.first_withdrawal_completed_ms or 0)
            for p in cashed), len(cashed)),
        "non_fraudsters_fraud_crossed": ratio(
            sum(p.player_id in fraud_first for p in ps if not p.fraudster),
            sum(not p.fraudster for p in ps)),
    }


def _models(auc: dict[str, dict[str, float | int]]) -> dict[str, Any]:
    churn = auc.get("churn/champion")
    return {"churn_progressive_roc_auc": churn["roc_auc"] if churn else None,
            "progressive_roc_auc": auc}


def _latency_summary(lat: Latencies) -> dict[str, Any]:
    def summary(hours: list[float], missed: int) -> dict[str, Any]:
        ordered = sorted(hours)
        return {
            "detected": len(ordered),
            "undetected": missed,
            "median": round(statistics.median(ordered), 2) if ordered else None,
            "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 2) if ordered else None,
        }
    return {"harmed": summary(lat.harmed_h, lat.harmed_undetected),
            "fraud": summary(lat.fraud_h, lat.fraud_undetected)}


def policy_of(settings: Settings) -> PolicySettings:
    """Return the policy a run with `settings` used (`policy_file`, or the packaged one)."""
    return load_policy(settings.policy_path)


def lowest_thresholds(policy: PolicySettings, jurisdictions: Iterable[str]) -> tuple[float, float]:
    """Return the lowest risk and fraud thresholds any of `jurisdictions` uses."""
    ths = [thresholds_for(policy, j) for j in {*jurisdictions, ""}]
    return (min(min(t.intervention_risk, t.offer_block_risk) for t in ths),
            min(t.fraud_review for t in ths))
