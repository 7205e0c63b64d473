"""The policy engine: from a scored point to gated, audited decisions, in event time.

`PolicyEngine.decide` takes a player's `PlayerPolicyState` and one `ScoredPoint`:
it folds the point's compliance event (consent, self-exclusion, RG assessment,
review verdict) into the state, proposes candidates (an intervention from the ladder,
reviews, an offer), passes every one of them through `ComplianceGate.check` in one
place (`_gate_all`), then records what was issued in the state. Time is the point's
`ts_ms` only, so replay and live decide identically, and a re-run of the same points
from the same state gives byte-identical action records.

Example:
    >>> from pitboss.operators.policy.settings import load_policy
    >>> engine = PolicyEngine(load_policy())
    >>> state = engine.new_state("p1")
    >>> state.rg_level
    -1

"""

from __future__ import annotations

from dataclasses import dataclass

from pitboss.operators.events import Consent, ReviewDecision, RgAssessment, SelfExclusion
from pitboss.operators.feature_schema import FEATURE_INDEX
from pitboss.operators.harm_markers import MarkerTable
from pitboss.operators.outputs import ScoredPoint
from pitboss.operators.policy.actions import (
    FRAUD_REVIEW,
    HOLD_WITHDRAWALS_AND_BONUSES,
    MANDATORY_COOL_OFF,
    PROPOSED_BY_REVIEW,
    REACTIVATION_OFFER,
    RETENTION_OFFER,
    REVIEW_VERDICT,
    RG_REVIEW,
    SCORE_KINDS,
    ActionRecord,
    Offer,
)
from pitboss.operators.policy.compliance_facts import EMPTY_FACTS, ComplianceFacts
from pitboss.operators.policy.decision_ids import decision_id
from pitboss.operators.policy.gate import (
    APPROVED,
    DAY_MS,
    DENIED,
    EMITTED,
    HOLDOUT,
    PENDING_REVIEW,
    SHADOW,
    WEEK_MS,
    Candidate,
    ComplianceGate,
    Decision,
)
from pitboss.operators.policy.ladder import next_rung
from pitboss.operators.policy.offers import choose_offer
from pitboss.operators.policy.player_policy_state import INDEFINITE, OpenReview, PlayerPolicyState
from pitboss.operators.policy.settings import PolicyRules, PolicySettings

INACTIVITY = "inactivity"
# Always in a decision's feature snapshot: what the gate and the offer choice read.
KEY_FEATURES = (
    "self_excluded",
    "marketing_consent",
    "at_limit",
    "limit_headroom",
    "adt",
    "theo_win_7d",
    "net_loss_7d",
    "minutes_since_last_activity",
    "frequency_days_7d",
    "quiet_gaps",
    "frequency_trend",
    "quiet_spreads",
)
# A status under which a decision counts as issued for the state (a shadow or holdout
# decision counts too, so that shadow and holdout mirror what live treatment would do).
_ISSUED = (EMITTED, SHADOW, HOLDOUT)


@dataclass(frozen=True, slots=True)
class _Rules:
    """The rules in force for one jurisdiction, with their markers of harm at hand."""

    rules: PolicyRules
    markers: MarkerTable
    features: tuple[str, ...]
    """Features every decision's snapshot keeps: the key features and the markers'."""

    @classmethod
    def of(cls, rules: PolicyRules) -> _Rules:
        """Read the markers of harm of `rules` once."""
        table = rules.harm_markers
        return cls(rules, table, tuple(dict.fromkeys((*KEY_FEATURES, *table.features))))


@dataclass(frozen=True, slots=True)
class _Point:
    """One scored point, read once: clean scores, markers met, the policy in force.

    Features are read by name from the point's tuple through `FEATURE_INDEX` (as
    `dict(zip(FEATURE_NAMES, features))` would, without building that dict per point).
    """

    scored: ScoredPoint
    scores: dict[str, float]
    versions: dict[str, str]
    rules: PolicyRules
    snapshot_features: tuple[str, ...]
    """Features every decision's snapshot keeps (`_Rules.features`)."""
    markers: list[str]
    """The markers of harm the features meet; left empty for inactivity timers (never read)."""

    @property
    def ts(self) -> int:
        return self.scored.point.ts_ms

    def feature(self, name: str) -> float | None:
        """Return the feature `name`, or None when the point has no such feature."""
        values = self.scored.point.features
        index = FEATURE_INDEX.get(name)
        return None if index is None or index >= len(values) else values[index]


def _clean(value: float) -> float:
    """Clamp a model score into [0, 1]; a NaN counts as 0 (no evidence).

    The same as `0.0 if math.isnan(value) else min(1.0, max(0.0, value))`, including
    which object comes back (`value` itself inside the range, else `0.0` or `1.0`).
    """
    if value != value:  # NaN
        return 0.0
    return 1.0 if value >= 1.0 else value if value > 0.0 else 0.0


def _at_least(value: float | None, threshold: float) -> bool:
    """Whether a feature meets a threshold; a point without the feature, or 0 (off), passes."""
    return not threshold or value is None or value >= threshold


def _unique(codes: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(code for code in codes if code))


class PolicyEngine:
    """Decide player-facing actions and reviews from scored points.

    Args:
        settings: the policy (thresholds, caps, ladder, rollout, per jurisdiction).
        facts: the durable compliance facts the gate consults (read at start).

    """

    def __init__(self, settings: PolicySettings, facts: ComplianceFacts = EMPTY_FACTS) -> None:
        self.settings = settings
        self.gate = ComplianceGate(settings, facts)
        self.policy_version = settings.policy_version
        # Each jurisdiction's rules, indexed once (`_Rules`): reading a point looks up
        # thresholds and harm-marker positions without walking the pydantic models.
        self._base_rules = _Rules.of(settings)
        self._jurisdiction_rules = {
            code: _Rules.of(settings.rules_for(code)) for code in settings.jurisdictions
        }

    def _rules_for(self, jurisdiction: str) -> _Rules:
        """Return what `settings.rules_for(jurisdiction)` returns, indexed."""
        return self._jurisdiction_rules.get(jurisdiction, self._base_rules)

    def new_state(self, player_id: str) -> PlayerPolicyState:
        """Return the policy state of a player seen for the first time."""
        return PlayerPolicyState(player_id)

    def decide(self, state: PlayerPolicyState, point: ScoredPoint) -> list[Decision]:
        """Fold the point into the state and return every decision it leads to, gated.

        Args:
            state: the player's policy state (updated in place).
            point: the scored point, in the player's event-time order.

        Returns:
            The decisions in the order decided, each with its status; those with
            `emitted` true go to their action topic, all go to the audit table.

        """
        view = self._read(point)
        candidates = self._observe(state, view)
        candidates += self._intervention(state, view)
        candidates += self._reviews(view)
        candidates += self._offer(state, view)
        return self._gate_all(state, candidates)

    # -- reading and observing -------------------------------------------------------

    def _read(self, scored: ScoredPoint) -> _Point:
        p = scored.point
        scores: dict[str, float] = {}
        versions: dict[str, str] = {}
        for kind in SCORE_KINDS:
            score = scored.scores.get(kind)
            if score is None:
                scores[kind] = 0.0
            else:
                scores[kind] = _clean(score.value)
                versions[kind] = score.model_version
        rules = self._rules_for(p.jurisdiction)
        markers = [] if p.trigger == INACTIVITY else rules.markers.met(p.features)
        return _Point(scored, scores, versions, rules.rules, rules.features, markers)

    def _observe(self, state: PlayerPolicyState, view: _Point) -> list[Candidate]:
        """Fold the point's event and risk into the state; return verdict candidates."""
        event, ts, gaps = view.scored.point.event, view.ts, view.rules.gaps
        block_ms = int(gaps.rg_offer_block_days * DAY_MS)
        if view.scores["risk"] >= view.rules.thresholds.offer_block_risk:
            state.offer_block_until_ms = max(state.offer_block_until_ms, ts + block_ms)
        if isinstance(event, Consent):
            state.consent = int(event.marketing)
        elif isinstance(event, SelfExclusion):
            state.excluded_until_ms = INDEFINITE if event.until_ms is None else event.until_ms
        elif isinstance(event, RgAssessment) and event.outcome == "harm_confirmed":
            state.offer_block_until_ms = max(state.offer_block_until_ms, ts + block_ms)
        elif isinstance(event, ReviewDecision):
            return self._verdict(state, view, event)
        return []

    def _verdict(
        self, state: PlayerPolicyState, view: _Point, event: ReviewDecision
    ) -> list[Candidate]:
        """Return the verdict's status row and, on approval, the action it finalises."""
        review = state.review_by_id(event.decision_id)
        status = APPROVED if event.verdict == "approve" else DENIED
        reasons = (f"review_{status}",)
        if review is None:
            record = self._record(view, REVIEW_VERDICT, "review", "high", reasons,
                                  review_decision_id=event.decision_id, requires_review=True)
            return [Candidate(record, self._snapshot(view, reasons), status, event.reviewer or "")]
        proposed = PROPOSED_BY_REVIEW[review.action]
        row = self._record(view, review.action, "review", "high", reasons, requires_review=True,
                           proposed_action=proposed, review_decision_id=review.decision_id,
                           decision=review.decision_id)
        out = [Candidate(row, self._snapshot(view, reasons), status, event.reviewer or "")]
        if status == APPROVED:
            why = ("review_approved", review.action)
            final = self._record(view, proposed, "intervention", "high", why,
                                 review_decision_id=review.decision_id)
            reviewer = event.reviewer or ""
            out.insert(0, Candidate(final, self._snapshot(view, why), reviewer=reviewer))
        return out

    # -- proposing -------------------------------------------------------------------

    def _intervention(self, state: PlayerPolicyState, view: _Point) -> list[Candidate]:
        """Return the ladder's intervention for the point's indicators, if any."""
        rules = view.rules
        if view.scored.point.trigger == INACTIVITY:
            return []
        markers = view.markers
        reset = view.ts - state.rg_last_ms > int(rules.gaps.ladder_reset_days * DAY_MS)
        last = -1 if reset else state.rg_level
        rung = next_rung(rules, view.scores["risk"], len(markers), last, state.rg_last_risk,
                         state.rg_last_markers)
        if rung < 0:
            return []
        step = rules.escalation[rung]
        reasons = self._reasons(view, "risk", markers)
        if 0 <= last < rung:
            reasons += ("indicators_grew",)
        record = self._record(view, step.action, "intervention", step.severity, reasons)
        return [Candidate(record, self._snapshot(view, reasons))]

    def _reviews(self, view: _Point) -> list[Candidate]:
        """Return the reviews the point's risk and fraud scores call for."""
        if view.scored.point.trigger == INACTIVITY:
            return []
        thresholds, out = view.rules.thresholds, []
        markers = view.markers
        for action, kind, threshold in ((RG_REVIEW, "risk", thresholds.rg_review),
                                        (FRAUD_REVIEW, "fraud", thresholds.fraud_review)):
            if view.scores[kind] >= threshold:
                reasons = self._reasons(view, kind, markers if kind == "risk" else [])
                record = self._record(view, action, "review", "high", reasons,
                                      requires_review=True,
                                      proposed_action=PROPOSED_BY_REVIEW[action])
                out.append(Candidate(record, self._snapshot(view, reasons)))
        return out

    def _offer(self, state: PlayerPolicyState, view: _Point) -> list[Candidate]:
        """Return a retention or re-activation offer if churn and worth call for one."""
        churn, thresholds = view.scores["churn"], view.rules.thresholds
        rising, state.churn_last = churn > state.churn_last, churn
        if view.scored.point.trigger == INACTIVITY:
            drifting = (
                _at_least(view.feature("quiet_gaps"), thresholds.reactivation_quiet_gaps)
                and _at_least(view.feature("quiet_spreads"), thresholds.reactivation_quiet_spreads))
            action, wanted, lead = REACTIVATION_OFFER, \
                drifting and churn >= thresholds.reactivation_churn, ["inactivity"]
        else:
            action, wanted, lead = RETENTION_OFFER, rising and churn >= thresholds.churn_offer, \
                ["churn_rising"]
        if not wanted:
            return []
        adt = view.feature("adt")
        offer = choose_offer(self.settings, view.rules, 0.0 if adt is None else adt)
        if offer is None:
            return []
        reasons = _unique([*lead, *self._reasons(view, "churn", []), "adt"])
        record = self._record(view, action, "offer", "low", reasons, offer=offer)
        return [Candidate(record, self._snapshot(view, reasons))]

    # -- building records ------------------------------------------------------------

    def _reasons(self, view: _Point, kind: str, markers: list[str]) -> tuple[str, ...]:
        score = view.scored.scores.get(kind)
        model = list(score.reasons) if score else []
        return _unique([f"{kind}_score", *model, *(f"marker:{m}" for m in markers)])

    def _snapshot(self, view: _Point, reasons: tuple[str, ...]) -> dict[str, float]:
        """Return the features a decision rests on: key features, markers', and those named."""
        names = sorted({*view.snapshot_features, *reasons})
        return {name: value for name in names if (value := view.feature(name)) is not None}

    def _record(
        self,
        view: _Point,
        action: str,
        kind: str,
        severity: str,
        reasons: tuple[str, ...],
        *,
        requires_review: bool = False,
        decision: str | None = None,
        offer: Offer | None = None,
        proposed_action: str | None = None,
        review_decision_id: str | None = None,
    ) -> ActionRecord:
        p = view.scored.point
        did = decision or decision_id(p.player_id, p.trigger_event_id, p.trigger, p.ts_ms, action,
                                      self.policy_version)
        return ActionRecord(
            did, p.player_id, kind, action, severity, p.ts_ms, p.trigger, p.trigger_event_id,
            reasons, dict(view.scores), dict(view.versions), self.policy_version,
            p.jurisdiction, requires_review, offer, proposed_action, review_decision_id,
        )

    # -- gating and bookkeeping ------------------------------------------------------

    def _gate_all(self, state: PlayerPolicyState, candidates: list[Candidate]) -> list[Decision]:
        """Pass every candidate through the gate, in order, recording each outcome.

        This is the only place decisions are made. An emitted review is followed by
        its `pending_review` row, which passes the gate too.
        """
        decisions: list[Decision] = []
        queue = list(candidates)
        while queue:
            decision = self.gate.check(queue.pop(0), state)
            decisions.append(decision)
            follow_up = self._record_outcome(state, decision)
            if follow_up is not None:
                queue.insert(0, follow_up)
        return decisions

    def _record_outcome(self, state: PlayerPolicyState, decision: Decision) -> Candidate | None:
        """Update the state with a gated decision; return a follow-up candidate, if any."""
        record = decision.action
        rules = self._rules_for(record.jurisdiction).rules
        if decision.status in (APPROVED, DENIED):
            state.reviews = [r for r in state.reviews if r.decision_id != record.decision_id]
        elif record.kind == "intervention":
            self._record_intervention(state, decision, rules)
        elif record.kind == "review" and decision.status in _ISSUED:
            self._record_review(state, record, rules)
            if decision.status == EMITTED:
                return Candidate(record, decision.features, PENDING_REVIEW)
        elif record.kind == "offer" and decision.status in _ISSUED:
            keep_ms = max(WEEK_MS, int(rules.gaps.offer_validity_days * DAY_MS))
            state.offers = [o for o in state.offers if o[0] > record.decided_at_ms - keep_ms]
            state.offers.append((record.decided_at_ms, record.action))
        return None

    def _record_intervention(
        self, state: PlayerPolicyState, decision: Decision, rules: PolicyRules
    ) -> None:
        record, ts = decision.action, decision.action.decided_at_ms
        if record.action == HOLD_WITHDRAWALS_AND_BONUSES:
            if decision.status in _ISSUED:
                state.hold_until_ms = ts + int(rules.gaps.fraud_hold_days * DAY_MS)
            return
        if record.severity in ("medium", "high"):
            block = ts + int(rules.gaps.rg_offer_block_days * DAY_MS)
            state.offer_block_until_ms = max(state.offer_block_until_ms, block)
        if decision.status not in _ISSUED:
            return
        state.rg_last_ms = ts
        state.rg_last_risk = record.scores.get("risk", 0.0)
        state.rg_last_markers = len(rules.harm_markers.met_by_name(decision.features))
        actions: list[str] = [step.action for step in rules.escalation]
        if record.action == MANDATORY_COOL_OFF:
            state.rg_level = len(actions) - 1
            state.cool_off_until_ms = ts + int(rules.gaps.mandatory_cool_off_days * DAY_MS)
        else:
            state.rg_level = actions.index(record.action)

    def _record_review(
        self, state: PlayerPolicyState, record: ActionRecord, rules: PolicyRules
    ) -> None:
        ts = record.decided_at_ms
        state.reviews = [r for r in state.reviews if r.action != record.action]
        state.reviews.append(OpenReview(record.decision_id, record.action, ts))
        if record.action == RG_REVIEW:
            state.rg_review_last_ms = ts
            block = ts + int(rules.gaps.rg_offer_block_days * DAY_MS)
            state.offer_block_until_ms = max(state.offer_block_until_ms, block)
        else:
            state.fraud_review_last_ms = ts
