"""The compliance gate: the one choke point every decision passes, and the only maker of them.

The engine proposes `Candidate`s; `ComplianceGate.check` turns each into a `Decision`
with its status (`emitted`, `suppressed`, `holdout`, `shadow`, or an audit-only status
such as `pending_review`) and, when held back, `suppressed_by` naming the rule. A
`Decision` cannot be built anywhere else: its constructor requires a token private to
this module, so there is no path from a candidate to an emitted action around the gate.

Offers meet every rule in `OFFER_RULES` order (the first that fails names the
suppression); RG interventions never meet marketing rules, only the minimum gap;
reviews meet the pending and gap rules. Every kind meets the self-exclusion rules
first (after `external_register` for offers and interventions): while a
self-exclusion is in force nothing reaches the player or the specialists, and what
was decided is audited as suppressed by `self_excluded` (or
`durable_self_exclusion`, known only from the store). Then offers to
holdout players are held back (`holdout`), and in shadow mode what would be emitted
is recorded as `shadow`.
The gate reads the player's state and never changes it.

Beside the state, the gate consults the durable compliance facts read at start
(`pitboss.operators.policy.compliance_facts`), so a player whose state was lost (an empty
recovery directory, an expired topic) stays protected: an offer or intervention to a
player on an external self-exclusion register is held back as `external_register`,
anything for a player the store knows to be self-excluded as `durable_self_exclusion`
(`self_excluded` when the state or features know it too); a durable cool-off and
consent count as the state's do (see docs/policy.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import InitVar, dataclass, field

from pitboss.operators.policy.actions import FRAUD_REVIEW, RG_REVIEW, ActionRecord
from pitboss.operators.policy.audit import AuditRow
from pitboss.operators.policy.compliance_facts import EMPTY_FACTS, ComplianceFacts, PlayerFacts
from pitboss.operators.policy.holdout import in_holdout
from pitboss.operators.policy.player_policy_state import UNKNOWN_CONSENT, PlayerPolicyState
from pitboss.operators.policy.settings import PolicyRules, PolicySettings

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
EMITTED, SUPPRESSED, HOLDOUT, SHADOW = "emitted", "suppressed", "holdout", "shadow"
PENDING_REVIEW, APPROVED, DENIED = "pending_review", "approved", "denied"
STATUSES = (EMITTED, SUPPRESSED, HOLDOUT, SHADOW, PENDING_REVIEW, APPROVED, DENIED)
AUDIT_ONLY_STATUSES = (PENDING_REVIEW, APPROVED, DENIED)

_GATE_TOKEN = object()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A decision the engine proposes, before the gate has ruled on it.

    Args:
        action: the action record it would emit.
        features: the feature snapshot that led to it (for the audit row).
        audit_status: for a status-change row that is recorded, never emitted
            (`pending_review`, `approved`, `denied`); None for an action to emit.
        reviewer: who gave the verdict, for verdict rows.

    """

    action: ActionRecord
    features: dict[str, float]
    audit_status: str | None = None
    reviewer: str = ""


@dataclass(slots=True)
class Decision:
    """A gated decision: the action record, its status and why it was held back, if it was.

    Only `ComplianceGate.check` can build one. `emitted` is true exactly when the
    record is to be written to its action topic.
    """

    action: ActionRecord
    status: str
    suppressed_by: str | None
    features: dict[str, float] = field(default_factory=dict)
    reviewer: str = ""
    gate_token: InitVar[object] = None

    def __post_init__(self, gate_token: object) -> None:
        if gate_token is not _GATE_TOKEN:
            raise TypeError("a Decision is made only by ComplianceGate.check")

    @property
    def emitted(self) -> bool:
        """Whether the action record goes to its topic."""
        return self.status == EMITTED

    def as_audit_row(self) -> AuditRow:
        """Return the decision's row of the `decisions` audit table."""
        return AuditRow(self.action, self.status, self.suppressed_by or "", self.reviewer,
                        self.features)


def has_consent(
    player: PlayerPolicyState, features: dict[str, float], default: bool,
    durable: int = UNKNOWN_CONSENT,
) -> bool:
    """Return whether marketing consent holds: any refusal wins, then any consent, else default.

    The latest `consent` event (in the state) and the feature snapshot both count; the
    durable consent (`durable`, from the store) counts only when the state has seen none.
    """
    state = player.consent if player.consent != UNKNOWN_CONSENT else durable
    seen = {state, int(features.get("marketing_consent", UNKNOWN_CONSENT))}
    if 0 in seen:
        return False
    if 1 in seen:
        return True
    return default


Rule = Callable[[Candidate, PlayerPolicyState, PolicyRules, PlayerFacts], bool]


def _external_register(c: Candidate, p: PlayerPolicyState, r: PolicyRules,
                       f: PlayerFacts) -> bool:
    return f.registered(c.action.decided_at_ms)


def _self_excluded(c: Candidate, p: PlayerPolicyState, r: PolicyRules, f: PlayerFacts) -> bool:
    return p.excluded_at(c.action.decided_at_ms) or c.features.get("self_excluded", 0.0) >= 1.0


def _durable_exclusion(c: Candidate, p: PlayerPolicyState, r: PolicyRules,
                       f: PlayerFacts) -> bool:
    return f.excluded_at(c.action.decided_at_ms)


def _cool_off(c: Candidate, p: PlayerPolicyState, r: PolicyRules, f: PlayerFacts) -> bool:
    now = c.action.decided_at_ms
    return max(p.cool_off_until_ms, f.cool_off_until(now)) > now


def _no_consent(c: Candidate, p: PlayerPolicyState, r: PolicyRules, f: PlayerFacts) -> bool:
    durable = f.consent_at(c.action.decided_at_ms)
    return not has_consent(p, c.features, r.offers.default_consent, durable)


def _rg_flagged(c: Candidate, p: PlayerPolicyState, r: PolicyRules, f: PlayerFacts) -> bool:
    now = c.action.decided_at_ms
    risky = c.action.scores.get("risk", 0.0) >= r.thresholds.offer_block_risk
    return risky or p.offer_block_until_ms > now or p.open_review(
        RG_REVIEW, now, int(r.gaps.review_expiry_days * DAY_MS)) is not None


def _at_limit(c: Candidate, p: PlayerPolicyState, r: PolicyRules, f: PlayerFacts) -> bool:
    features = c.features
    return features.get("at_limit", 0.0) >= 1.0 or features.get("limit_headroom", 1.0) <= 0.0


def _fraud_hold(c: Candidate, p: PlayerPolicyState, r: PolicyRules, f: PlayerFacts) -> bool:
    now = c.action.decided_at_ms
    return p.hold_until_ms > now or p.open_review(
        FRAUD_REVIEW, now, int(r.gaps.review_expiry_days * DAY_MS)) is not None


def _type_disabled(c: Candidate, p: PlayerPolicyState, r: PolicyRules, f: PlayerFacts) -> bool:
    offer = c.action.offer
    settings = r.offers.types.get(offer.type) if offer else None  # type: ignore[call-overload]
    return settings is None or not settings.enabled


def _pending_offer(c: Candidate, p: PlayerPolicyState, r: PolicyRules, f: PlayerFacts) -> bool:
    since = c.action.decided_at_ms - int(r.gaps.offer_validity_days * DAY_MS)
    return p.offers_since(since, c.action.action) > 0


def _fatigued(c: Candidate, p: PlayerPolicyState, r: PolicyRules, f: PlayerFacts) -> bool:
    return p.offers_since(c.action.decided_at_ms - WEEK_MS) >= r.caps.max_offers_per_7d


OFFER_RULES: tuple[tuple[str, Rule], ...] = (
    ("external_register", _external_register),
    ("self_excluded", _self_excluded),
    ("durable_self_exclusion", _durable_exclusion),
    ("cool_off", _cool_off),
    ("no_marketing_consent", _no_consent),
    ("rg_offer_block", _rg_flagged),
    ("at_limit", _at_limit),
    ("fraud_hold", _fraud_hold),
    ("jurisdiction_offer_disabled", _type_disabled),
    ("pending_decision", _pending_offer),
    ("offer_fatigue", _fatigued),
)


def _unknown_review(c: Candidate, p: PlayerPolicyState, r: PolicyRules, f: PlayerFacts) -> bool:
    ref = c.action.review_decision_id
    return ref is not None and p.review_by_id(ref) is None


def _intervention_gap(c: Candidate, p: PlayerPolicyState, r: PolicyRules, f: PlayerFacts) -> bool:
    if c.action.review_decision_id is not None:
        return False  # a human approved it: no gap holds it back
    gap = int(r.gaps.min_intervention_gap_hours * HOUR_MS)
    return c.action.decided_at_ms - p.rg_last_ms < gap


INTERVENTION_RULES: tuple[tuple[str, Rule], ...] = (
    ("external_register", _external_register),
    ("self_excluded", _self_excluded),
    ("durable_self_exclusion", _durable_exclusion),
    ("unknown_review", _unknown_review),
    ("min_gap", _intervention_gap),
)


def _pending_review(c: Candidate, p: PlayerPolicyState, r: PolicyRules, f: PlayerFacts) -> bool:
    expiry = int(r.gaps.review_expiry_days * DAY_MS)
    return p.open_review(c.action.action, c.action.decided_at_ms, expiry) is not None


def _review_gap(c: Candidate, p: PlayerPolicyState, r: PolicyRules, f: PlayerFacts) -> bool:
    last = p.rg_review_last_ms if c.action.action == RG_REVIEW else p.fraud_review_last_ms
    return c.action.decided_at_ms - last < int(r.gaps.review_min_gap_days * DAY_MS)


def _in_force(c: Candidate, p: PlayerPolicyState, r: PolicyRules, f: PlayerFacts) -> bool:
    """Whether what the review proposes (a cool-off, a hold) is already running."""
    until = p.cool_off_until_ms if c.action.action == RG_REVIEW else p.hold_until_ms
    return until > c.action.decided_at_ms


REVIEW_RULES: tuple[tuple[str, Rule], ...] = (
    ("self_excluded", _self_excluded),
    ("durable_self_exclusion", _durable_exclusion),
    ("pending_decision", _pending_review),
    ("min_gap", _review_gap),
    ("already_in_force", _in_force),
)
VERDICT_RULES: tuple[tuple[str, Rule], ...] = (("unknown_review", _unknown_review),)
RULES_BY_KIND = {"offer": OFFER_RULES, "intervention": INTERVENTION_RULES, "review": REVIEW_RULES}


class ComplianceGate:
    """Rule on candidates: which are emitted, and which are held back by which rule.

    Args:
        settings: the policy; rules are taken per the action's jurisdiction.
        facts: the durable compliance facts read at start (none by default).

    """

    def __init__(self, settings: PolicySettings, facts: ComplianceFacts = EMPTY_FACTS) -> None:
        self.settings = settings
        self.facts = facts

    def check(self, candidate: Candidate, player: PlayerPolicyState) -> Decision:
        """Return the decision for `candidate` given the player's state.

        Args:
            candidate: the proposed action (or audit-only status row).
            player: the player's policy state, read only.

        Returns:
            The `Decision`, with `suppressed_by` set when status is `suppressed`.

        """
        action = candidate.action
        rules = self.settings.rules_for(action.jurisdiction)
        facts = self.facts.for_player(action.player_id)
        if candidate.audit_status is not None:
            return self._decide(candidate, player, rules, facts, VERDICT_RULES,
                                candidate.audit_status)
        decision = self._decide(candidate, player, rules, facts, RULES_BY_KIND[action.kind],
                                EMITTED)
        if decision.status == EMITTED and action.kind == "offer" and in_holdout(
            action.player_id, rules.rollout.holdout_share, rules.rollout.holdout_salt
        ):
            decision.status = HOLDOUT
        if decision.status == EMITTED and rules.rollout.mode == "shadow":
            decision.status = SHADOW
        return decision

    @staticmethod
    def _decide(
        candidate: Candidate,
        player: PlayerPolicyState,
        rules: PolicyRules,
        facts: PlayerFacts,
        checks: tuple[tuple[str, Rule], ...],
        status: str,
    ) -> Decision:
        held_by = next(
            (name for name, rule in checks if rule(candidate, player, rules, facts)), None)
        return Decision(
            candidate.action,
            SUPPRESSED if held_by else status,
            held_by,
            candidate.features,
            candidate.reviewer,
            gate_token=_GATE_TOKEN,
        )

