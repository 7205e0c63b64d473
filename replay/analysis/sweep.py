"""A population sweep: one configuration, many simulated populations, the worst case of each figure.

No decision-quality figure should depend on the one population the thresholds were
tuned on. A sweep file (`replay/simulator/populations/sweep.toml`, docs/evaluation.md) lists
populations as overrides of the default one (`pitboss.replay.simulator.population`); `run_sweep`
simulates each, replays it through the dataflow with ONE configuration, evaluates
it against its own ground truth (`pitboss.replay.analysis.evaluation_truth`) and tabulates the
figures of `MEASURES` per population with the worst case across them.

Each population runs in a process of its own (chDB allows one store path per
process; the run is single-worker inside it), so a population's figures do not
depend on how many run at once: `jobs` only changes how long the sweep takes.

Sweep file layout:

    [sweep]                 # defaults for every population below
    players = 500
    days = 21
    seed = 2026
    [[population]]
    name = "half_harm"      # required; names the population's directory
    file = "other.toml"     # optional: a population file the overrides apply to
    harm = { amplitude = 0.5 }   # any field of a population file

"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from pitboss.config.toml_file import read_toml
from pitboss.replay.simulator.population import (
    Population,
    PopulationError,
    load_population,
    validated,
)

SWEEP_KEYS = ("players", "days", "seed")


@dataclass(frozen=True)
class Measure:
    """One figure of the sweep table: where it is in an evaluation and what is good.

    Args:
        key: short stable name (the JSON key of the sweep document).
        label: what it measures, for the table.
        path: keys into the evaluation document; the value is a ratio document
            (its `share` is taken) or a number.
        better: "higher" or "lower", which decides the worst case.
        target: the issue's "done when" bound, or None.

    """

    key: str
    label: str
    path: tuple[str, ...]
    better: str
    target: float | None = None

    def value(self, evaluation: dict[str, Any]) -> float | None:
        """Return this figure in `evaluation` (None when it is absent or has no denominator)."""
        node: Any = evaluation
        for part in self.path:
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        if isinstance(node, dict):
            node = node.get("share")
        return None if node is None else float(node)

    def worst(self, values: list[float | None]) -> float | None:
        """Return the worst of `values` (None ones skipped)."""
        known = [v for v in values if v is not None]
        if not known:
            return None
        return min(known) if self.better == "higher" else max(known)

    def met(self, value: float | None) -> bool | None:
        """Whether `value` meets the target (None when there is no target or no value)."""
        if self.target is None or value is None:
            return None
        return value >= self.target if self.better == "higher" else value <= self.target


MEASURES: tuple[Measure, ...] = (
    Measure("rg_first_session", "harmed: RG action within the first harmful session",
            ("operator", "rg_reach", "within_first_session"), "higher"),
    Measure("rg_2h", "harmed: RG action within 2 h of first harmful play",
            ("operator", "rg_reach", "within_2h"), "higher", 0.85),
    Measure("rg_24h", "harmed: RG action within 24 h of first harmful play",
            ("operator", "rg_reach", "within_24h"), "higher", 0.97),
    Measure("rg_false_positives", "never harmed: medium/high RG intervention",
            ("operator", "rg_false_positives"), "lower", 0.03),
    Measure("rg_any_intervention", "never harmed: any RG intervention (low rung included)",
            ("operator", "rg_any_intervention"), "lower"),
    Measure("fraud_before_withdrawal", "fraudsters under review before first withdrawal completes",
            ("fraud", "reviewed_before_withdrawal"), "higher", 0.90),
    Measure("fraud_false_positives", "non-fraudsters under fraud review",
            ("fraud", "non_fraudsters_reviewed"), "lower", 0.02),
    Measure("winback_coverage", "churners who accept marketing: offer from 3 d before to 10 d "
            "after last activity", ("operator", "winback", "churners_covered"), "higher", 0.70),
    Measure("offer_lift", "offer lift: share of churners offered / share of steady players "
            "offered (both accepting marketing)", ("operator", "winback", "lift"), "higher", 3.0),
    Measure("all_winback_coverage", "all churners not refusing marketing (consented or not, "
            "holdout included): offer in the same window",
            ("operator", "winback", "all_churners_covered"), "higher"),
    Measure("all_offer_lift", "offer lift over all players not refusing marketing",
            ("operator", "winback", "all_lift"), "higher"),
    Measure("offers_not_drifting", "offers spent on players not drifting away",
            ("operator", "winback", "offers_to_not_drifting"), "lower"),
    Measure("offers_to_protected", "offers to excluded, non-consenting or RG-flagged players",
            ("offers", "to_protected"), "lower", 0.0),
    Measure("during_exclusion", "interventions or reviews during a self-exclusion",
            ("operator", "during_exclusion", "total"), "lower", 0.0),
    Measure("drift", "daily mean-score drift of the reference cohort (worst model, after warm-up)",
            ("operator", "drift", "worst"), "lower", 0.1),
    Measure("ece_risk", "risk model: expected calibration error",
            ("operator", "calibration", "risk", "ece"), "lower"),
    Measure("ece_fraud", "fraud model: expected calibration error",
            ("operator", "calibration", "fraud", "ece"), "lower"),
    Measure("ece_churn", "churn model: expected calibration error",
            ("operator", "calibration", "churn", "ece"), "lower"),
)


def load_sweep(path: Path) -> list[Population]:
    """Read a sweep file into its populations (each validated; names unique).

    Raises:
        PopulationError: naming the file and the population or field at fault.

    """
    document = read_toml(path, "sweep", PopulationError)
    defaults = {k: v for k, v in document.get("sweep", {}).items() if k in SWEEP_KEYS}
    unknown = set(document.get("sweep", {})) - set(SWEEP_KEYS)
    if unknown:
        raise PopulationError(f"{path}: [sweep]: unknown field {sorted(unknown)[0]!r} "
                              f"(known: {', '.join(SWEEP_KEYS)})")
    entries = document.get("population")
    if not isinstance(entries, list) or not entries:
        raise PopulationError(f"{path}: no [[population]] entries")
    populations = [_entry(path, defaults, entry, n) for n, entry in enumerate(entries)]
    names = [p.name for p in populations]
    for name in names:
        if names.count(name) > 1:
            raise PopulationError(f"{path}: population name {name!r} is used twice")
    return populations


def _entry(path: Path, defaults: dict[str, Any], entry: dict[str, Any], n: int) -> Population:
    if "name" not in entry:
        raise PopulationError(f"{path}: population #{n + 1}: no name")
    overrides = {k: v for k, v in entry.items() if k != "file"}
    if "file" in entry:
        base = load_population(path.parent / str(entry["file"]))
        return validated(path, base.to_toml_dict(), defaults, overrides)
    return validated(path, defaults, overrides)


def run_population(population_json: bytes, out_dir: str, config: str | None) -> dict[str, Any]:
    """Simulate, replay and evaluate one population; return its evaluation (a process's job).

    Writes `out_dir/population.json`, `log.parquet`, `truth.json`, the run directory
    `run/` and `run/evaluation.json`.
    """
    from pitboss.config.settings import load_settings
    from pitboss.replay.analysis.evaluation import evaluate_run
    from pitboss.replay.runner import run_replay
    from pitboss.replay.simulator.simulate import simulate_to

    population = Population.model_validate_json(population_json)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "population.json").write_bytes(
        orjson.dumps(population.to_toml_dict(), option=orjson.OPT_INDENT_2))
    log, truth = out / "log.parquet", out / "truth.json"
    began = time.perf_counter()
    simulate_to(log, population.players, population.days, population.seed,
                truth_path=truth, population=population)
    settings = load_settings(Path(config) if config else None)
    summary = run_replay([log], out / "run", settings)
    evaluation = evaluate_run(out / "run", truth, settings)
    (out / "run" / "evaluation.json").write_bytes(
        orjson.dumps(evaluation, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return {"population": population.name, "events": summary["events_in"],
            "seconds": round(time.perf_counter() - began, 1), "evaluation": evaluation}


def run_sweep(
    populations: list[Population],
    out_dir: Path,
    config: Path | None = None,
    jobs: int = 1,
    done: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run every population in its own process (`jobs` at a time) and tabulate them.

    Args:
        populations: the sweep's populations (`load_sweep`).
        out_dir: one directory per population is written under it, plus
            `sweep.json` and `sweep.md`.
        config: the one configuration file every population is replayed with.
        jobs: populations run at once (each single-worker, so figures do not change).
        done: called with each population's result as it finishes.

    Returns:
        The sweep document (see `sweep_document`).

    """
    out_dir.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")
    results: dict[str, dict[str, Any]] = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                             max_tasks_per_child=1) as pool:
        futures = [
            pool.submit(run_population, p.model_dump_json().encode(), str(out_dir / p.name),
                        str(config) if config else None)
            for p in populations
        ]
        for future in futures:
            result = future.result()
            results[result["population"]] = result
            if done is not None:
                done(result)
    document = sweep_document(populations, [results[p.name] for p in populations], config)
    (out_dir / "sweep.json").write_bytes(
        orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    (out_dir / "sweep.md").write_text(sweep_markdown(document), encoding="utf-8")
    return document


def sweep_document(
    populations: list[Population], results: list[dict[str, Any]], config: Path | None
) -> dict[str, Any]:
    """Return the sweep's figures: per population, and the worst case of each measure."""
    rows = {
        p.name: {m.key: m.value(r["evaluation"]) for m in MEASURES}
        for p, r in zip(populations, results, strict=True)
    }
    worst = {}
    for m in MEASURES:
        value = m.worst([rows[p.name][m.key] for p in populations])
        worst[m.key] = {"value": value, "target": m.target, "better": m.better,
                        "met": m.met(value), "label": m.label}
    return {
        "config": str(config) if config else "defaults",
        "populations": {p.name: {"description": p.description, "players": p.players,
                                 "days": p.days, "seed": p.seed} for p in populations},
        "figures": rows,
        "worst": worst,
    }


def _cell(measure: Measure, value: float | None) -> str:
    if value is None:
        return "n/a"
    if measure.key in ("offers_to_protected", "during_exclusion"):
        return f"{value:.0f}"
    if measure.key in ("offer_lift", "all_offer_lift"):
        return f"{value:.2f}"
    if measure.key.startswith(("ece_", "drift")):
        return f"{value:.3f}"
    return f"{value:.1%}"


def sweep_markdown(document: dict[str, Any]) -> str:
    """Return the sweep document as markdown: populations as columns, worst case last."""
    names = list(document["populations"])
    lines = ["| measure | " + " | ".join(names) + " | worst | target | met |",
             "| --- | " + " | ".join("---" for _ in names) + " | --- | --- | --- |"]
    for m in MEASURES:
        row = [_cell(m, document["figures"][n][m.key]) for n in names]
        worst = document["worst"][m.key]
        target = "" if m.target is None else ("<= " if m.better == "lower" else ">= ") + (
            _cell(m, m.target))
        met = {True: "yes", False: "**no**", None: ""}[worst["met"]]
        lines.append(f"| {m.label} | " + " | ".join(row)
                     + f" | {_cell(m, worst['value'])} | {target} | {met} |")
    lines.append("")
    lines += [f"- `{n}`: {d['description']} ({d['players']} players, {d['days']} days, "
              f"seed {d['seed']})" for n, d in document["populations"].items()]
    return "\n".join(lines) + "\n"
