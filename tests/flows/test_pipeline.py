"""The shared dataflow: stable step ids, and records that go straight from ingest to outputs."""

from __future__ import annotations

import threading
from typing import Any

from bytewax.testing import TestingSink, TestingSource, run_main

from pitboss.config.settings import load_settings
from pitboss.flows.live import build_live_flow
from pitboss.flows.pipeline import build_flow, models_step
from pitboss.operators.events import DeadLetter, Event
from pitboss.operators.ingest import RECORDS
from pitboss.operators.outputs import FeatureRow, IngestCount, ShardStats
from pitboss.replay.simulator.simulate import simulate
from tests.models.factories import RECREATIONAL, features
from tests.operators.policy.factories import policy

# Renaming any of these orphans a live worker's recovery state (docs/operations.md).
LIVE_STEP_IDS = {
    "pitboss_live.kafka_input", "pitboss_live.validate_and_route",
    "pitboss_live.player_shards", "pitboss_live.models", "pitboss_live.policy",
    "pitboss_live.run_outputs",
}


def test_the_live_flow_keeps_the_step_ids_its_recovery_state_is_stored_under() -> None:
    never_built = lambda: None  # noqa: E731  # the flow is only built, never run
    flow = build_live_flow(load_settings(), never_built, threading.Event())  # type: ignore[arg-type]
    assert LIVE_STEP_IDS.issubset(step.step_id for step in flow.substeps)


def test_input_counts_and_parser_dead_letters_reach_the_outputs_without_a_shard() -> None:
    messages = list(simulate(players=4, days=1, seed=3))[:200]
    raw = [("log", i, m) for i, m in enumerate(messages)]
    raw[7] = ("log", 7, b'{"not": "json')
    out: list[tuple[str, Any]] = []
    flow = build_flow(TestingSource(raw, batch_size=100), load_settings(), TestingSink(out),
                      flow_id="test", input_id="input")
    run_main(flow)

    records = [value for key, value in out if key == RECORDS]
    assert sum(r.messages for r in records if isinstance(r, IngestCount)) == 200
    assert [(r.reason, r.position) for r in records if isinstance(r, DeadLetter)] == [
        ("malformed_json", 7)]
    from_shards = [value for key, value in out if key != RECORDS]
    assert any(isinstance(v, FeatureRow) for v in from_shards)
    assert not any(isinstance(v, IngestCount | Event) for v in from_shards)
    assert sum(v.accepted for v in from_shards if isinstance(v, ShardStats)) > 150


def test_a_resumed_models_step_scores_with_the_marker_table_configured_now() -> None:
    """The marker table is configuration, not learned state: a restart after a change reads it."""
    settings = load_settings()
    written = models_step(settings, policy(), None)(None).snapshot()
    silent = policy(markers={"loss_chasing": {"weight": 0.0}})
    resumed = models_step(settings, silent, None)(written)
    chasing = features(RECREATIONAL, chase_share_24h=0.6)
    assert resumed.models.models["risk"].rule.score(chasing, "hourly") == (0.0, ())
    fresh = models_step(settings, silent, None)(None)
    assert resumed.models.versions() == fresh.models.versions()
