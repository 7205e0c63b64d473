"""Evaluate a replay's run against the simulator's truth: the truth figures and the operator's.

`evaluate_run(run_dir, truth_path)` reads what the run decided and scored from its
store, then returns `pitboss.replay.analysis.evaluation_truth.evaluate`'s document
(docs/backtests.md) with the figures of `pitboss.replay.analysis.operator_metrics`
under `operator` (docs/evaluation.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from pitboss.config.settings import Settings, load_settings
from pitboss.replay.analysis.evaluation_truth import (
    evaluate,
    load_truth,
    lowest_thresholds,
    policy_of,
    run_jurisdictions,
)
from pitboss.replay.analysis.operator_metrics import operator_figures
from pitboss.replay.analysis.run_facts import (
    progressive_auc,
    read_decisions,
    read_scores_above,
    scored_players,
)
from pitboss.replay.run_store import StoreLocation, open_store


def evaluate_run(
    run_dir: Path,
    truth_path: Path,
    settings: Settings | None = None,
    client: Any = None,
) -> dict[str, Any]:
    """Evaluate a replay's run directory against a truth file.

    Args:
        run_dir: the replay's output directory (`summary.json` and its store).
        truth_path: the simulator's truth file.
        settings: the configuration the run used (policy thresholds); defaults if None.
        client: an open client on the run's store; None opens `run_dir`'s own store
            (see `pitboss.replay.run_store`), which must then be the only chDB path of the process.

    Returns:
        The evaluation document (docs/backtests.md), with the operator figures of
        `pitboss.replay.analysis.operator_metrics` under `operator` (docs/evaluation.md).
        A truth file that does not say who accepted marketing (no `marketing_consent_ms`)
        is completed from the consents the run read from its log (`compliance_state`).

    """
    settings = settings or load_settings()
    policy = policy_of(settings)
    truth = load_truth(truth_path)
    summary = orjson.loads((run_dir / "summary.json").read_bytes())
    own = client is None
    if own:
        client = open_store(StoreLocation.of_run(run_dir, database=settings.clickhouse.database))
    try:
        decisions = read_decisions(client)
        risk_min, fraud_min = lowest_thresholds(
            policy, run_jurisdictions(truth, decisions))
        crossings = read_scores_above(client, risk_min, fraud_min)
        auc = progressive_auc(client)
        players = int(summary.get("players") or len(scored_players(client)))
        operator = operator_figures(client, truth, decisions, policy)
    finally:
        if own:
            client.close()
    evaluation = evaluate(truth, decisions, crossings, policy, players, auc)
    evaluation["operator"] = operator
    return evaluation
