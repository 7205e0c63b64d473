"""Plain-language meaning of audit statuses and gate rules, for the explain page.

`docs/policy.md` is the reference; these sentences say the same for a compliance
officer reading one decision. `tests/pitboss/console/test_explain.py` checks that
every rule `operators/policy/gate.py` can name has a sentence here.
"""

from __future__ import annotations

STATUS_MEANINGS: dict[str, str] = {
    "emitted": "sent to its action topic: it reached the player or the review queue",
    "suppressed": "held back by the compliance gate: nothing was sent",
    "holdout": "held back because the player is in the offers holdout (control) group",
    "shadow": "decided in shadow mode: recorded, not sent",
    "pending_review": "a case waiting for a human reviewer",
    "approved": "a reviewer approved the review; the proposed action was finalised",
    "denied": "a reviewer denied the review; nothing was finalised",
}

RULE_MEANINGS: dict[str, str] = {
    "external_register": "the player is on an external self-exclusion register "
                         "(imported with `pitboss exclusions import`)",
    "self_excluded": "the player had a self-exclusion in force",
    "durable_self_exclusion": "the durable compliance store knew of a self-exclusion in "
                              "force that the player's state had lost",
    "cool_off": "an approved mandatory cool-off was running",
    "no_marketing_consent": "the player had not consented to marketing (or refused it)",
    "rg_offer_block": "the player was flagged for gambling harm (high risk, a recent RG "
                      "intervention, review or confirmed harm): no offers",
    "at_limit": "the player was at a deposit, loss or wager limit they had set",
    "fraud_hold": "a fraud review was open or a fraud hold was in force",
    "jurisdiction_offer_disabled": "the player's jurisdiction does not allow this offer type",
    "pending_decision": "the same decision was already issued and still valid (or open)",
    "offer_fatigue": "the player had already received the most offers allowed in 7 days",
    "min_gap": "too soon after the previous decision of this kind",
    "already_in_force": "what the review would propose is already in force",
    "unknown_review": "the verdict names no open review (unknown id or already answered)",
}


def status_meaning(status: str) -> str:
    """Return what an audit status means, or the status itself if unknown."""
    return STATUS_MEANINGS.get(status, status)


def rule_meaning(rule: str) -> str:
    """Return what a gate rule means, or the rule itself if unknown."""
    return RULE_MEANINGS.get(rule, rule)
