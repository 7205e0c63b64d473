from pitboss.console.explain import RULE_MEANINGS
from pitboss.operators.policy import gate
from pitboss.operators.policy.audit import TABLE


def test_every_gate_rule_has_a_plain_language_meaning() -> None:
    rules = {name for rules in (*gate.RULES_BY_KIND.values(), gate.VERDICT_RULES)
             for name, _ in rules}
    assert rules
    assert rules <= set(RULE_MEANINGS), rules - set(RULE_MEANINGS)
    assert TABLE == "decisions"
