"""The intervention ladder: which RG intervention, if any, a player's indicators call for.

Escalation is graduated (UK Gambling Commission customer-interaction requirement 9):
the first intervention is the lowest rung; the next one is at most one rung above the
last, and above it only when the indicators grew since then (risk up by
`min_risk_increase`, or more markers of harm met, `PolicyRules.harm_markers.met`); and
never above the rung the current risk reaches. A player with no intervention for
`ladder_reset_days` starts over.

Example:
    >>> from pitboss.operators.policy.settings import load_policy
    >>> rules = load_policy()
    >>> next_rung(rules, risk=0.95, markers=0, last_rung=-1, last_risk=0.0, last_markers=0)
    0
    >>> next_rung(rules, risk=0.95, markers=0, last_rung=0, last_risk=0.6, last_markers=0)
    1
    >>> next_rung(rules, risk=0.6, markers=0, last_rung=2, last_risk=0.75, last_markers=0)
    1

"""

from __future__ import annotations

from pitboss.operators.policy.settings import PolicyRules


def reached_rung(rules: PolicyRules, risk: float, markers: int = 0) -> int:
    """Return the highest rung the risk (or the markers met) reaches, or -1 for none.

    The first rung is reached by its `min_risk` or by `thresholds.first_rung_markers`
    markers met; every other rung by its `min_risk` only.
    """
    first = rules.thresholds.first_rung_markers
    reached = 0 if rules.escalation and first and markers >= first else -1
    for i, step in enumerate(rules.escalation):
        if risk >= step.min_risk:
            reached = i
    return reached


def next_rung(
    rules: PolicyRules,
    risk: float,
    markers: int,
    last_rung: int,
    last_risk: float,
    last_markers: int,
) -> int:
    """Return the rung of the next intervention, or -1 when the risk reaches none.

    Args:
        rules: the rules in force.
        risk: the current risk score.
        markers: how many markers the current features meet.
        last_rung: the rung of the last intervention (-1 none, or the ladder was reset).
        last_risk: the risk score at the last intervention.
        last_markers: the markers met at the last intervention.

    Returns:
        An index into `rules.escalation`, or -1.

    """
    reached = reached_rung(rules, risk, markers)
    if reached < 0:
        return -1
    if last_rung < 0:
        return 0
    grew = risk >= last_risk + rules.thresholds.min_risk_increase or markers > last_markers
    return min(reached, last_rung + 1 if grew else last_rung)
