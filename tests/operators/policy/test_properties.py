"""Invariants over generated histories: protected players never get offers, ids are stable."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from pitboss.operators.events import Consent, RgAssessment, SelfExclusion
from pitboss.operators.feature_schema import FEATURE_INDEX
from pitboss.operators.outputs import ScoredPoint
from pitboss.operators.policy.engine import PolicyEngine
from pitboss.operators.policy.gate import Decision
from pitboss.operators.policy.player_policy_state import PlayerPolicyState
from tests.operators.policy.factories import (
    DAY,
    MINUTE,
    T0,
    assessment,
    consent,
    policy,
    scored,
    self_exclusion,
    verdict,
)

ENGINE = PolicyEngine(policy(rollout={"holdout_share": 0.25}))
NO_REVIEW_GAP = PolicyEngine(policy(gaps={"review_min_gap_days": 0.0}))
"""Without a gap after a verdict, only `already_in_force` stops a review of what runs."""
BENIGN_KINDS = ("plain",) * 6 + ("inactivity", "verdict")
# Each history puts one protection in focus (or all, "mixed") against a background of
# otherwise eligible play, so that offers do get out and every rule gets exercised.
FOCUSES = ("excluded", "no_consent", "rg", "limit", "fraud", "mixed")
low_risk = st.sampled_from([0.0, 0.1, 0.3, 0.39])
any_risk = st.one_of(st.sampled_from([0.0, 0.3, 0.44, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95]),
                     st.floats(0.0, 1.0))
churn = st.one_of(st.sampled_from([0.2, 0.59, 0.6, 0.7, 0.8, 0.9, 1.0]), st.floats(0.0, 1.0))


def _often(value: float, other: float, every: int) -> st.SearchStrategy[float]:
    return st.sampled_from([value] * (every - 1) + [other])


@dataclass(frozen=True)
class Step:
    """One generated moment of a player's history."""

    gap_minutes: int
    kind: str
    risk: float
    churn: float
    fraud: float
    flag: bool  # consent given / verdict approves
    pick: int  # which review a verdict answers; exclusion length in days (< 5: for ever)
    self_excluded: float
    marketing_consent: float
    at_limit: float
    adt: float
    chase_share: float


def steps(focus: str) -> st.SearchStrategy[Step]:
    """Return steps of a history whose protection in focus is `focus`."""
    kinds = BENIGN_KINDS + {
        "excluded": ("self_exclusion",), "no_consent": ("consent", "consent"),
        "rg": ("rg_assessment",), "mixed": ("consent", "self_exclusion", "rg_assessment"),
    }.get(focus, ())
    return st.builds(
        Step,
        gap_minutes=st.integers(1, 4 * 24 * 60),
        kind=st.sampled_from(kinds),
        risk=any_risk if focus in ("rg", "mixed") else low_risk,
        churn=churn,
        fraud=st.sampled_from([0.0, 0.2, 0.7, 0.9]) if focus in ("fraud", "mixed") else
        st.just(0.0),
        flag=_often(True, False, 3) if focus in ("no_consent", "mixed") else st.just(True),
        pick=st.integers(0, 40),
        self_excluded=_often(0.0, 1.0, 4) if focus in ("excluded", "mixed") else st.just(0.0),
        marketing_consent=st.sampled_from([1.0, 1.0, 0.0, -1.0])
        if focus in ("no_consent", "mixed") else st.just(1.0),
        at_limit=st.booleans().map(float) if focus in ("limit", "mixed") else st.just(0.0),
        adt=st.sampled_from([0.0, 3.0, 20.0, 80.0]),
        chase_share=st.sampled_from([0.0, 0.4]),
    )


# (player, jurisdiction, steps). p1 is in the 25% holdout under the default salt.
histories = st.tuples(
    st.sampled_from(["p2", "p3", "p2", "p3", "p1"]),
    st.sampled_from(["UK", "MT", "NL"]),
    st.sampled_from(FOCUSES).flatmap(lambda focus: st.lists(steps(focus), min_size=8,
                                                           max_size=40)),
)


def point_for(player: str, jurisdiction: str, ts: int, i: int, step: Step,
              reviews: list[str]) -> ScoredPoint:
    """Build the step's scored point; a verdict answers one of the reviews raised so far."""
    event: object | None = None
    if step.kind == "consent":
        event = consent(player, ts, marketing=step.flag)
    elif step.kind == "self_exclusion":
        event = self_exclusion(player, ts, None if step.pick < 5 else ts + step.pick * DAY)
    elif step.kind == "verdict":
        target = reviews[step.pick % len(reviews)] if reviews else "unknown"
        event = verdict(target, approve=step.flag, player=player, ts=ts)
    elif step.kind == "rg_assessment":
        event = assessment(player, ts)
    if event is not None:
        event.event_id = f"{step.kind}-{i}"  # type: ignore[attr-defined]
        event.jurisdiction = jurisdiction  # type: ignore[attr-defined]
    trigger = "inactivity" if step.kind == "inactivity" else "session_end"
    return scored(player, ts, trigger, "" if trigger == "inactivity" else f"e-{i}",
                  jurisdiction, step.risk, step.churn, step.fraud, event,
                  self_excluded=step.self_excluded, marketing_consent=step.marketing_consent,
                  at_limit=step.at_limit, adt=step.adt, chase_share_24h=step.chase_share)


def run(player: str, jurisdiction: str, history: list[Step], engine: PolicyEngine = ENGINE
        ) -> tuple[list[tuple[ScoredPoint, list[Decision]]], PlayerPolicyState]:
    state = engine.new_state(player)
    reviews: list[str] = []
    out = []
    ts = T0
    for i, step in enumerate(history):
        ts += step.gap_minutes * MINUTE
        point = point_for(player, jurisdiction, ts, i, step, reviews)
        decisions = engine.decide(state, point)
        reviews += [d.action.decision_id for d in decisions
                    if d.action.kind == "review" and d.emitted]
        out.append((point, decisions))
    return out, state


class Truth:
    """An independent account of whether a player may receive marketing at a time."""

    def __init__(self, jurisdiction: str) -> None:
        rules = ENGINE.settings.rules_for(jurisdiction)
        self.block_ms = int(rules.gaps.rg_offer_block_days * DAY)
        self.block_risk = rules.thresholds.offer_block_risk
        self.excluded_until = -1
        self.consent: bool | None = None
        self.flags: list[int] = []  # times at which the player was RG-flagged

    def observe(self, point: ScoredPoint, decisions: list[Decision]) -> None:
        ts, event = point.point.ts_ms, point.point.event
        if isinstance(event, Consent):
            self.consent = event.marketing
        if isinstance(event, SelfExclusion):
            self.excluded_until = 2**62 if event.until_ms is None else event.until_ms
        if isinstance(event, RgAssessment) or \
                point.scores["risk"].value >= self.block_risk:
            self.flags.append(ts)
        for d in decisions:
            rg = d.action.kind == "intervention" and d.action.severity in ("medium", "high") \
                and d.action.action != "hold_withdrawals_and_bonuses"
            if rg or d.action.action == "rg_review":
                self.flags.append(ts)

    def protected(self, point: ScoredPoint) -> list[str]:
        p, ts = point.point, point.point.ts_ms
        f = dict(zip(("self_excluded", "marketing_consent", "at_limit"),
                     (p.features[i] for i in _INDEX), strict=True))
        why = []
        if self.excluded_until > ts or f["self_excluded"] >= 1:
            why.append("excluded")
        consented = self.consent is not False and f["marketing_consent"] != 0 and (
            self.consent is True or f["marketing_consent"] == 1)
        if not consented:
            why.append("no consent")
        if any(ts - t < self.block_ms for t in self.flags):
            why.append("rg flagged")
        if f["at_limit"] >= 1:
            why.append("at limit")
        return why


_INDEX = tuple(FEATURE_INDEX[n] for n in ("self_excluded", "marketing_consent", "at_limit"))
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
def test_no_offer_ever_reaches_a_protected_player(history: tuple) -> None:
    truth = Truth(history[1])
    results, _ = run(*history)
    at_risk = 0
    for point, decisions in results:
        truth.observe(point, decisions)
        protected = truth.protected(point)
        for d in decisions:
            if d.action.kind == "offer" and protected:
                assert not d.emitted, f"offer emitted to a player who is {protected}"
                at_risk += 1
    # steer towards histories where the gate has much to hold back
    target(float(at_risk), label="offers proposed to protected players")


@FAST
@given(histories)
def test_decision_ids_are_unique_per_trigger_and_action(history: tuple) -> None:
    results, _ = run(*history)
    seen: dict[str, tuple[str, str, str]] = {}
    rows: set[tuple[str, str]] = set()
    for point, decisions in results:
        for d in decisions:
            key = (point.point.trigger_event_id or str(point.point.ts_ms), d.action.action,
                   d.action.kind)
            if d.status not in ("approved", "denied", "pending_review"):
                assert seen.setdefault(d.action.decision_id, key) == key
            assert (d.action.decision_id, d.status) not in rows
            rows.add((d.action.decision_id, d.status))


@FAST
@given(histories)
def test_a_rerun_gives_byte_identical_actions(history: tuple) -> None:
    def transcript() -> list[bytes]:
        results, state = run(*history)
        return [d.status.encode() + b" " + d.action.to_json_bytes() for _, ds in results
                for d in ds] + [pickle.dumps(state)]

    assert transcript() == transcript()


@FAST
@given(histories)
def test_finalised_actions_only_follow_an_approved_review_and_state_stays_small(
        history: tuple) -> None:
    results, state = run(*history)
    approved: set[str] = set()
    for _, decisions in results:
        approved |= {d.action.decision_id for d in decisions if d.status == "approved"}
        for d in decisions:
            if d.action.action in ("mandatory_cool_off", "hold_withdrawals_and_bonuses"):
                assert d.action.review_decision_id in approved
            if d.emitted:
                assert d.action.reasons
    assert len(state.reviews) <= 2
    assert len(pickle.dumps(state)) < 1024


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
def test_no_intervention_or_review_is_issued_during_a_self_exclusion(history: tuple) -> None:
    truth = Truth(history[1])
    results, _ = run(*history)
    held = 0
    for point, decisions in results:
        truth.observe(point, decisions)
        if "excluded" not in truth.protected(point):
            continue
        for d in decisions:
            verdict_row = d.action.action == "review_verdict" or d.status in (
                "approved", "denied", "pending_review")
            if d.action.kind in ("intervention", "review") and not verdict_row:
                assert (d.status, d.suppressed_by) == ("suppressed", "self_excluded")
                held += 1
    target(float(held), label="interventions and reviews decided during an exclusion")


@FAST
@given(histories)
def test_no_review_proposes_a_cool_off_or_hold_already_running(history: tuple) -> None:
    rules = NO_REVIEW_GAP.settings.rules_for(history[1])
    running = {"rg_review": -1, "fraud_review": -1}  # until when, from issued finalised actions
    lengths = {"mandatory_cool_off": ("rg_review", rules.gaps.mandatory_cool_off_days),
               "hold_withdrawals_and_bonuses": ("fraud_review", rules.gaps.fraud_hold_days)}
    results, _ = run(*history, engine=NO_REVIEW_GAP)
    proposed_while_running = 0
    for point, decisions in results:
        ts = point.point.ts_ms
        for d in decisions:  # in decision order: a finalised action precedes new reviews
            if d.action.action in lengths and d.status in ("emitted", "shadow"):
                review, days = lengths[d.action.action]
                running[review] = ts + int(days * DAY)
            elif d.action.kind == "review" and d.action.action in running and \
                    running[d.action.action] > ts and d.status not in ("approved", "denied"):
                assert not d.emitted, "a review proposes what already runs"
                proposed_while_running += 1
    target(float(proposed_while_running), label="reviews proposed while their action runs")
