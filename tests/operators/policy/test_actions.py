"""The action record contract: fields, formats, Kafka key and headers, byte-stable JSON."""

from __future__ import annotations

import orjson
import pytest

from pitboss.operators.policy.actions import KINDS, ActionRecord, rfc3339_ms
from pitboss.operators.policy.gate import Decision
from tests.operators.policy.factories import T0, engine, scored

CONTRACT_FIELDS = ["decision_id", "player_id", "kind", "action", "severity", "decided_at",
                   "trigger", "trigger_event_id", "reasons", "scores", "model_versions",
                   "policy_version", "jurisdiction", "requires_review"]


def decide_all() -> list[Decision]:
    eng = engine()
    point = scored(ts=T0 + 7, event_id="e-1", risk=0.95, churn=0.7, fraud=0.8)
    return eng.decide(eng.new_state("p1"), point)


def test_every_record_carries_the_contract_fields_in_order() -> None:
    for decision in decide_all():
        doc = orjson.loads(decision.action.to_json_bytes())
        assert list(doc)[: len(CONTRACT_FIELDS)] == CONTRACT_FIELDS
        assert doc["decided_at"] == "2026-01-01T12:00:00.007Z"
        assert doc["reasons"] and all(isinstance(r, str) for r in doc["reasons"])
        assert doc["scores"] == {"churn": 0.7, "risk": 0.95, "fraud": 0.8}
        assert doc["model_versions"] == {"churn": "churn-v1", "fraud": "fraud-v1",
                                         "risk": "risk-v1"}
        assert doc["kind"] in ("intervention", "offer", "review")
        assert doc["severity"] in ("low", "medium", "high")
        assert doc["policy_version"] == engine().policy_version


def test_offers_carry_type_value_and_currency_and_nothing_else_does() -> None:
    eng = engine()
    (offer,) = eng.decide(eng.new_state("p1"), scored(churn=0.7, adt=4.0))
    doc = orjson.loads(offer.action.to_json_bytes())
    assert doc["offer"] == {"type": "free_spins", "value": 8.0, "currency": "EUR"}
    assert all("offer" not in orjson.loads(d.action.to_json_bytes()) for d in decide_all()
               if d.action.kind != "offer")


def test_offer_value_follows_worth_not_net_loss() -> None:
    eng = engine()
    (lucky,) = eng.decide(eng.new_state("a"), scored(player="a", churn=0.7, adt=30.0,
                                                     net_loss_7d=-500.0))
    (unlucky,) = eng.decide(eng.new_state("b"), scored(player="b", churn=0.7, adt=30.0,
                                                       net_loss_7d=5000.0))
    assert lucky.action.offer == unlucky.action.offer
    assert lucky.action.offer is not None and lucky.action.offer.value == 90.0


def test_key_and_headers() -> None:
    by_kind = {d.action.kind: d.action for d in decide_all()}
    assert set(by_kind) == set(KINDS)
    record = by_kind["intervention"]
    assert record.kafka_key() == b"p1"
    assert record.kafka_headers() == [("decision_id", record.decision_id.encode()),
                                      ("policy_version", record.policy_version.encode())]


def test_json_is_byte_identical_for_the_same_decision() -> None:
    assert [d.action.to_json_bytes() for d in decide_all()] == [
        d.action.to_json_bytes() for d in decide_all()]


def test_a_record_needs_a_reason_and_a_known_kind() -> None:
    record = decide_all()[0].action
    fields = {f: getattr(record, f) for f in record.__dataclass_fields__}
    with pytest.raises(ValueError, match="reason"):
        ActionRecord(**{**fields, "reasons": ()})
    with pytest.raises(ValueError, match="kind"):
        ActionRecord(**{**fields, "kind": "marketing"})


@pytest.mark.parametrize(("ms", "text"), [(0, "1970-01-01T00:00:00.000Z"),
                                          (1_767_268_800_999, "2026-01-01T12:00:00.999Z"),
                                          (-1, "1969-12-31T23:59:59.999Z")])
def test_rfc3339_with_milliseconds(ms: int, text: str) -> None:
    assert rfc3339_ms(ms) == text
