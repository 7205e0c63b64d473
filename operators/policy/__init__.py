"""The decision layer: policy engine, compliance gate, review state, audit rows, configuration.

Engine-agnostic (no Bytewax): the flow calls `PolicyEngine.decide(state, scored_point)`
per player in event-time order and routes the returned `Decision`s: every one to the
`decisions` audit table (`Decision.as_audit_row()`), the `emitted` ones to their
action topic (the configured `KafkaSettings.topics.for_action(record.kind)`, key
`kafka_key()`, headers `kafka_headers()`, value `to_json_bytes()`). See docs/policy.md.
"""

from pitboss.operators.policy.actions import ActionRecord, Offer
from pitboss.operators.policy.audit import COLUMNS as AUDIT_COLUMNS
from pitboss.operators.policy.audit import TABLE as AUDIT_TABLE
from pitboss.operators.policy.audit import AuditRow
from pitboss.operators.policy.engine import PolicyEngine
from pitboss.operators.policy.gate import Candidate, ComplianceGate, Decision
from pitboss.operators.policy.player_policy_state import PlayerPolicyState
from pitboss.operators.policy.settings import PolicySettings, load_policy

__all__ = [
    "AUDIT_COLUMNS",
    "AUDIT_TABLE",
    "ActionRecord",
    "AuditRow",
    "Candidate",
    "ComplianceGate",
    "Decision",
    "Offer",
    "PlayerPolicyState",
    "PolicyEngine",
    "PolicySettings",
    "load_policy",
]
