"""Deterministic decision ids, so a replay or a resume decides the very same ids.

A decision is identified by who it is for, what triggered it, what it does and under
which policy. An event trigger is named by its event id; a timer (which has no event)
by its kind and due time. Consumers deduplicate on the id; the audit table keys its
rows on (decision_id, status).

Example:
    >>> a = decision_id("p1", "e1", "session_end", 0, "rg_message", "v1+00")
    >>> a == decision_id("p1", "e1", "session_end", 0, "rg_message", "v1+00")
    True
    >>> a == decision_id("p1", "e1", "session_end", 0, "reality_check", "v1+00")
    False
    >>> len(a)
    32

"""

from __future__ import annotations

from hashlib import blake2b

_SEPARATOR = "\x1f"  # ASCII unit separator: cannot be confused with text in an id


def trigger_key(trigger_event_id: str, trigger: str, ts_ms: int) -> str:
    """Name a trigger: its event id, or `timer:<kind>@<due ms>` for a timer.

    >>> trigger_key("", "inactivity", 1000)
    'timer:inactivity@1000'
    """
    return trigger_event_id or f"timer:{trigger}@{ts_ms}"


def decision_id(
    player_id: str,
    trigger_event_id: str,
    trigger: str,
    ts_ms: int,
    action: str,
    policy_version: str,
) -> str:
    """Return the 128-bit hex id of the decision of `action` for a player's trigger.

    Args:
        player_id: whom the decision is for.
        trigger_event_id: the triggering event's id, empty for timers.
        trigger: the trigger kind (names a timer when there is no event id).
        ts_ms: the trigger's event time (a timer's due time).
        action: the action decided.
        policy_version: the policy that decided it.

    Returns:
        32 lowercase hex characters.

    """
    parts = (player_id, trigger_key(trigger_event_id, trigger, ts_ms), action, policy_version)
    text = _SEPARATOR.join(parts).encode("utf-8", "surrogatepass")
    return blake2b(text, digest_size=16).hexdigest()
