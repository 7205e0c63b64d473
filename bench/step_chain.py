"""The pipeline's stateful steps chained in plain Python, as the dataflow chains them.

The benchmarks that time or count the Python stages without the engine
(`bench/stages.py`, `bench/instructions.py`) feed batches through this one chain:
player shards, then the models step (labels, wallet points and progress), then a
scoring shard per key (its points and progress with every release). Items reach each
step in the order the dataflow gives them on one worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pitboss.config.settings import Settings
from pitboss.models.model_set import ModelSet
from pitboss.models.model_step import ModelStep, learns_from
from pitboss.models.release import ModelRelease, ModelReplica, is_scoring_input
from pitboss.models.scoring_shard import ScoringShard
from pitboss.operators.ingest import is_shard_work
from pitboss.operators.ordered_merge import ShardProgress, Stamped
from pitboss.operators.out_of_rhythm import OutOfRhythm
from pitboss.operators.outputs import ScoredPoint
from pitboss.operators.player_shard import PlayerShard
from pitboss.operators.policy.engine import PolicyEngine
from pitboss.operators.policy.settings import PolicySettings
from pitboss.operators.policy_shard import PolicyShard
from pitboss.operators.sharding import shard_names

Keyed = list[tuple[str, object]]


@dataclass
class StepChain:
    """Player shards, the models step and the scoring shards of one configuration."""

    settings: Settings
    policy: PolicySettings
    shards: dict[str, PlayerShard] = field(default_factory=dict)
    scoring: dict[str, ScoringShard] = field(default_factory=dict)

    def __post_init__(self) -> None:
        models = self.settings.models
        every_ms = models.release_every_s * 1000
        self.models = ModelStep(ModelSet(models, self.policy.marker_book()),
                                shard_names(self.settings.features.shards), every_ms)
        self.learned = learns_from(models.anomaly_triggers)
        self.out_of_rhythm = OutOfRhythm.of_policy(self.policy)
        engine = PolicyEngine(self.policy)
        self.scoring = {name: ScoringShard(ModelReplica(every_ms), PolicyShard(engine))
                        for name in shard_names(self.settings.features.shards)}

    def player_shards(self, routed: Keyed) -> Keyed:
        """Run the shard work of a routed batch through the player shards; return their outputs."""
        out: Keyed = []
        for key, items in filter(is_shard_work, routed):
            shard = self.shards.get(key)
            if shard is None:
                shard = self.shards[key] = PlayerShard.from_settings(
                    self.settings.features, self.settings.labels, True,
                    out_of_rhythm=self.out_of_rhythm)
            out += [(key, o) for o in shard.process(items)]  # type: ignore[arg-type]
        return out

    def model_step(self, shard_out: Keyed) -> list[object]:
        """Hand the models step what it takes of the shards' outputs; return its outputs."""
        return self.models.process([o for _, o in shard_out if self.learned(o)])

    def scoring_shards(self, shard_out: Keyed, model_out: list[object]) -> list[object]:
        """Score and decide for each shard's points with the releases; return what they emit."""
        releases = [o for o in model_out if isinstance(o, ModelRelease)]
        by_key: dict[str, list[object]] = {}
        for key, item in shard_out:
            if is_scoring_input(item):
                by_key.setdefault(key, []).append(item)
        out: list[object] = []
        for key, step in self.scoring.items():
            items = [*by_key.get(key, ()), *releases]
            if items:
                out += step.process(items)
        return out

    @staticmethod
    def is_internal(item: object) -> bool:
        """Whether a step's output goes on to another step only, never to the sinks."""
        return isinstance(item, (Stamped, ShardProgress, ModelRelease))

    @staticmethod
    def scored(outputs: list[object]) -> int:
        """Return how many scored points `outputs` hold."""
        return sum(isinstance(o, ScoredPoint) for o in outputs)
