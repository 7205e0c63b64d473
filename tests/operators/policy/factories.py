"""Factories for the policy tests: scored points, compliance events and policies."""

from __future__ import annotations

import itertools
from typing import Any

from pitboss.operators.events import Consent, LimitSet, ReviewDecision, RgAssessment, SelfExclusion
from pitboss.operators.feature_schema import FEATURE_INDEX, FEATURE_NAMES
from pitboss.operators.outputs import Score, ScoredPoint, ScoringPoint
from pitboss.operators.policy.engine import PolicyEngine
from pitboss.operators.policy.settings import PolicySettings, load_policy

T0 = 1_767_268_800_000  # 2026-01-01T12:00:00Z
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_ids = itertools.count()

# A consenting, unflagged, valuable player with no markers met.
BASE_FEATURES: dict[str, float] = {
    "marketing_consent": 1.0,
    "limit_headroom": 1.0,
    "stake_escalation": 1.0,
    "adt": 20.0,
    "theo_win_7d": 140.0,
}


def features(**values: float) -> tuple[float, ...]:
    """Return a feature tuple in FEATURE_NAMES order: BASE_FEATURES, then `values`."""
    merged = {**BASE_FEATURES, **values}
    unknown = set(merged) - set(FEATURE_INDEX)
    assert not unknown, f"unknown features {unknown}"
    return tuple(float(merged.get(name, 0.0)) for name in FEATURE_NAMES)


def scored(
    player: str = "p1",
    ts: int = T0,
    trigger: str = "session_end",
    event_id: str | None = None,
    jurisdiction: str = "MT",
    risk: float = 0.0,
    churn: float = 0.0,
    fraud: float = 0.0,
    event: object | None = None,
    **feature_values: float,
) -> ScoredPoint:
    """Return a scored point; timers (`inactivity`) get an empty trigger event id."""
    if event is not None:
        event_id = event.event_id  # type: ignore[attr-defined]
        trigger = event.event_type  # type: ignore[attr-defined]
    elif event_id is None:
        event_id = "" if trigger == "inactivity" else f"ev-{next(_ids)}"
    point = ScoringPoint(player, ts, trigger, event_id, jurisdiction, features(**feature_values),
                         event)
    scores = {
        "risk": Score(risk, "risk-v1", ("chase_share_24h",) if risk else ()),
        "churn": Score(churn, "churn-v1", ("minutes_since_last_activity",) if churn else ()),
        "fraud": Score(fraud, "fraud-v1", ("instruments_24h",) if fraud else ()),
    }
    return ScoredPoint(point, scores, {})


def _common(kind: str, player: str, ts: int) -> dict[str, Any]:
    return {"event_id": f"{kind}-{next(_ids)}", "event_type": kind, "player_id": player,
            "ts_ms": ts, "jurisdiction": "MT", "channel": None}


def consent(player: str = "p1", ts: int = T0, marketing: bool = True) -> Consent:
    return Consent(**_common("consent", player, ts), marketing=marketing)


def self_exclusion(player: str = "p1", ts: int = T0, until: int | None = None) -> SelfExclusion:
    return SelfExclusion(**_common("self_exclusion", player, ts), until_ms=until)


def verdict(decision_id: str, approve: bool = True, player: str = "p1", ts: int = T0,
            reviewer: str | None = "alice") -> ReviewDecision:
    return ReviewDecision(**_common("review_decision", player, ts), decision_id=decision_id,
                          verdict="approve" if approve else "deny", reviewer=reviewer)


def assessment(player: str = "p1", ts: int = T0, outcome: str = "harm_confirmed") -> RgAssessment:
    return RgAssessment(**_common("rg_assessment", player, ts), outcome=outcome)


def limit_set(player: str = "p1", ts: int = T0, amount: float = 100.0) -> LimitSet:
    return LimitSet(**_common("limit_set", player, ts), limit_type="deposit", period="day",
                    amount=amount)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(
            out.get(key), dict) else value
    return out


def policy(**sections: Any) -> PolicySettings:
    """Return the default policy with no holdout, with `sections` deep-merged over it."""
    data = load_policy().model_dump()
    data = _merge(data, {"rollout": {"holdout_share": 0.0}})
    return PolicySettings(**_merge(data, sections))


def engine(**sections: Any) -> PolicyEngine:
    return PolicyEngine(policy(**sections))
