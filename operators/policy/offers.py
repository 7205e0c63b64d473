"""Which offer a player's worth earns: type and value within the configured caps.

Worth is the average daily theoretical win (ADT): what the player is expected to be
worth to the operator from stakes and house edge, not the luck-driven net loss. The
type is the one with the highest `min_adt` the player reaches (whether or not the
jurisdiction allows it: the compliance gate decides that, and audits it); the value
is `worth_multiplier` x ADT, clamped to the type's [`min_value`, `max_value`].

Example:
    >>> from pitboss.operators.policy.settings import load_policy
    >>> policy = load_policy()
    >>> choose_offer(policy, policy, adt=4.0)
    Offer(type='free_spins', value=8.0, currency='EUR')
    >>> choose_offer(policy, policy, adt=1000.0)
    Offer(type='cashback', value=250.0, currency='EUR')
    >>> choose_offer(policy, policy, adt=0.0) is None
    True

"""

from __future__ import annotations

from pitboss.operators.policy.actions import Offer
from pitboss.operators.policy.settings import PolicyRules, PolicySettings


def choose_offer(settings: PolicySettings, rules: PolicyRules, adt: float) -> Offer | None:
    """Return the offer a player worth `adt` per active day earns, or None if worth nothing.

    Args:
        settings: the policy (for the currency).
        rules: the rules in force for the player's jurisdiction.
        adt: average daily theoretical win, in the policy currency.

    Returns:
        The `Offer`, or None when `adt` is not positive or no type's `min_adt` is reached.

    """
    if not adt > 0.0:
        return None
    reached = [(t.min_adt, name) for name, t in rules.offers.types.items() if adt >= t.min_adt]
    if not reached:
        return None
    _, name = max(reached)
    kind = rules.offers.types[name]
    value = min(max(kind.worth_multiplier * adt, kind.min_value), kind.max_value)
    return Offer(name, round(value, 2), settings.currency)
