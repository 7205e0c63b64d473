"""Drive the three stateful steps over a simulated log and snapshot them (not a test module).

Written to work on both layouts: `module(name)` resolves a module by its name before the
`pitboss` namespace, so the same code wrote tests/fixtures/state-before-namespace.pickle
from a checkout of the older layout and reproduces it today:

    cd <checkout before the namespace> && python <this file> OUT.pickle

It imports nothing of the project at module level.
"""

from __future__ import annotations

import importlib
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

PLAYERS, DAYS, SEED = 40, 3, 11
CUT = 0.6
"""The share of the log the steps have read when they are snapshotted."""

Resolver = Callable[[str], ModuleType]


def old_layout(name: str) -> ModuleType:
    """Import a module by its name in the layout before the namespace."""
    return importlib.import_module(name)


def messages(module: Resolver) -> list[tuple[str, int, bytes]]:
    """Return the simulated log as raw messages `(source, position, value)`."""
    simulate = module("replay.simulator").simulate
    return [("log", i, value) for i, value in enumerate(simulate(PLAYERS, DAYS, SEED))]


class Steps:
    """The player shards, the models step and the policy shard, wired as the pipeline does.

    Since model releases, the models step learns and releases, and each shard's points
    are scored by a replica of its own (`pitboss.models.release`) before the one policy
    shard decides, in the run's order.

    `policy_version` overrides the default policy's version, which decision ids hash:
    a fixture's pending reviews keep the ids of the policy it was written under.
    `markers` overrides rows of the policy's marker table (`[markers.<name>]`): a fixture
    written before a marker existed is compared with runs that have it switched off.
    """

    def __init__(self, module: Resolver, resume: dict[str, Any] | None = None,
                 policy_version: str | None = None,
                 markers: dict[str, dict[str, float]] | None = None) -> None:
        settings = module("config.settings").load_settings()
        features = settings.features
        policy_module = module("operators.policy.settings")
        policy_settings = policy_module.load_policy(None)
        if markers:
            data = policy_settings.model_dump()
            data["markers"] = {**data.get("markers", {}), **markers}
            policy_settings = policy_module.PolicySettings(**data)
        self.m = module
        self.features, self.labels = features, settings.labels
        self.router = module("operators.ingest").IngestRouter(
            module("operators.contract").EventParser(settings.contract, lambda: 2**62),
            features.shards, features.clock_tick_s * 1000)
        engine = module("operators.policy.engine").PolicyEngine(policy_settings)
        if policy_version is not None:  # decide as the policy in force when a fixture was written
            engine.policy_version = policy_version
        shard = module("operators.player_shard")
        policy_shard = module("operators.policy_shard").PolicyShard
        self.engine = engine
        self.shards = {}
        self.names = set(module("operators.sharding").shard_names(features.shards))
        self.released = _releases(module)
        if resume is None:
            model_set = module("models.model_set").ModelSet(settings.models,
                                                              policy_settings.marker_book())
            names = module("operators.sharding").shard_names(features.shards)
            step = module("operators.model_step").ModelStep
            every = (settings.models.release_every_s * 1000,) if self.released else ()
            self.models = step(model_set, names, *every)
            self.policy = policy_shard(engine, None)
        else:
            self.shards = {key: self._shard(shard.load_state(data))
                           for key, data in resume["shards"].items()}
            # the steps' own readers of their state (this layout's only)
            self.models = module("operators.model_step").load_state(resume["models"])
            if self.released:
                self.models.every_ms = settings.models.release_every_s * 1000
            self.policy = policy_shard(
                engine, module("operators.policy_shard").load_state(resume["policy"]))
        if self.released:  # scoring moved to a scoring shard per key; one policy still
            self.replicas = {name: self.released.ModelReplica(
                settings.models.release_every_s * 1000) for name in sorted(self.names)}
            if resume is not None and "replicas" in resume:
                self.replicas = pickle.loads(resume["replicas"])
            self.learns = module("operators.model_step").learns_from(
                settings.models.anomaly_triggers)

    def _shard(self, state: Any) -> Any:
        return self.m("operators.player_shard").PlayerShard.from_settings(
            self.features, self.labels, True, state)

    def process(self, raw: list[tuple[str, int, bytes]]) -> list[Any]:
        """Run a batch through all steps; return every output, in order."""
        merge = self.m("operators.ordered_merge")
        scored_point = self.m("operators.outputs").ScoredPoint
        out: list[Any] = []
        keyed: list[tuple[str, Any]] = []
        for key, items in self.router.route_by_shard(raw):
            if key not in self.names:  # a dead letter or an input count (newer layout)
                out.append(items)
                continue
            if key not in self.shards:
                self.shards[key] = self._shard(None)
            shard_out = self.shards[key].process(items)
            out.extend(shard_out)
            keyed += [(key, o) for o in shard_out]
        if not self.released:  # the layout before releases: the models step scores
            bound = [o for o in out if isinstance(o, (merge.Stamped, merge.ShardProgress))]
            scored = self.models.process(bound)
            points = [o for o in scored if isinstance(o, scored_point)]
            return [*out, *scored, *self.policy.process(points)]
        model_out = self.models.process([o for _, o in keyed if self.learns(o)])
        releases = [o for o in model_out if isinstance(o, self.released.ModelRelease)]
        points = [o for o in model_out if isinstance(o, scored_point)]  # held from before
        for key, replica in self.replicas.items():
            for item in [*releases, *(o for k, o in keyed
                                      if k == key and self.released.is_scoring_input(o))]:
                points += replica.take(item)
        points.sort(key=lambda p: p.order)  # the one policy takes them in the run's order
        kept = [o for o in model_out if not isinstance(
            o, (self.released.ModelRelease, scored_point))]  # releases and points go on
        return [*out, *kept, *points, *self.policy.process(points)]

    def snapshot(self) -> dict[str, Any]:
        """Return every step's state as the dataflow snapshots it: bytes per step and key."""
        snapshot = {
            "shards": {key: getattr(shard, "snapshot_bytes", shard.snapshot)()
                       for key, shard in sorted(self.shards.items())},
            "models": pickle.dumps(self.models, protocol=pickle.HIGHEST_PROTOCOL),
            "policy": pickle.dumps(self.policy.state, protocol=pickle.HIGHEST_PROTOCOL),
        }
        if self.released:
            snapshot["replicas"] = pickle.dumps(self.replicas, protocol=pickle.HIGHEST_PROTOCOL)
        return snapshot


def _releases(module: Resolver) -> ModuleType | None:
    """Return the module of model releases, or None in a layout before them."""
    try:
        return module("models.release")
    except ImportError:
        return None


def run(log: list[tuple[str, int, bytes]], steps: Steps) -> list[Any]:
    """Feed `log` to `steps` in batches of 500; return every output."""
    out: list[Any] = []
    for start in range(0, len(log), 500):
        out.extend(steps.process(log[start:start + 500]))
    return out


def cut(log: list[Any]) -> int:
    """Return where the log is cut for the snapshot."""
    return int(len(log) * CUT)


if __name__ == "__main__":
    sys.path.insert(0, ".")
    log = messages(old_layout)
    steps = Steps(old_layout)
    run(log[: cut(log)], steps)
    Path(sys.argv[1]).write_bytes(pickle.dumps(steps.snapshot(), protocol=5))
