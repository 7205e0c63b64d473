"""The replay dataflow: recorded logs through the full pipeline to files and ClickHouse.

The live worker wires the same pipeline (`pitboss.flows.pipeline`) behind a Kafka source,
so replay and live differ only in their input and output connectors.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import bytewax.operators as op
from bytewax.dataflow import Dataflow

from pitboss.config.settings import Settings
from pitboss.flows.outputs_sink import OutputsSink
from pitboss.flows.pipeline import build_pipeline
from pitboss.models.model_set import ModelSet
from pitboss.operators.policy.compliance_facts import EMPTY_FACTS, ComplianceFacts
from pitboss.replay.log.source import ProgressHook, RecordedLogSource
from pitboss.sinks.run_outputs import RunOutputs


def build_replay_flow(
    inputs: list[Path],
    settings: Settings,
    make_outputs: Callable[[], RunOutputs],
    batch_size: int = 1000,
    models: ModelSet | None = None,
    progress: ProgressHook | None = None,
    compliance: ComplianceFacts = EMPTY_FACTS,
) -> Dataflow:
    """Return the replay dataflow over `inputs`, writing through `make_outputs()`.

    `compliance` is the durable compliance facts snapshot the gate consults.
    """
    flow = Dataflow("pitboss_replay")
    window_ms = settings.features.reorder_window_s * 1000
    source = RecordedLogSource(inputs, batch_size, progress, window_ms)
    raw = op.input("recorded_logs", flow, source)
    build_pipeline(raw, settings, OutputsSink(lambda _resume: make_outputs()), models,
                   compliance=compliance)
    return flow
