"""Loading pickled state, this version's and state pickled before the `pitboss` namespace.

Recovery snapshots, quiet players kept pickled and exported models are pickles, and a
pickle names each class by its module. The project's folders used to install as
top-level packages (`operators.player_state.PlayerState`); they are now under the
`pitboss` namespace, and a few modules moved (`operators.model_step` is now
`pitboss.models.model_step`; the model settings, `models.settings` then
`pitboss.models.settings`, are now `pitboss.config.models`). `load_pickled` reads them
all: each module a pickle names is mapped to where it lives now before it is imported,
so an old pickle never imports an unrelated package that happens to be called `models`
or `config`.

Example:
    >>> current_module("operators.player_state")
    'pitboss.operators.player_state'
    >>> current_module("operators.model_step")
    'pitboss.models.model_step'
    >>> current_module("pitboss.operators.outputs"), current_module("builtins")
    ('pitboss.operators.outputs', 'builtins')
    >>> current_module("models.settings"), current_module("pitboss.models.settings")
    ('pitboss.config.models', 'pitboss.config.models')
    >>> import pickle
    >>> from pitboss.operators.outputs import ClockTick
    >>> load_pickled(pickle.dumps(ClockTick(5, "s01")))
    ClockTick(ts_ms=5, shard='s01')
"""

from __future__ import annotations

import io
import pickle
from typing import Any

FOLDERS = ("config", "flows", "models", "operators", "replay", "sinks")
"""The project's folders, once installed as top-level packages of these names."""

MOVED_MODULES = {
    "operators.model_step": "models.model_step",
    "flows.log_source": "replay.log.source",
    "sinks.kafka_dev_cluster": "replay.live.dev_broker",
    "replay.recorded_log": "replay.log.recorded_log",
    "replay.simulator": "replay.simulator.simulate",
    "replay.archetypes": "replay.simulator.archetypes",
    "replay.games": "replay.simulator.games",
    "replay.player": "replay.simulator.player",
    "replay.population": "replay.simulator.population",
    "replay.delivery": "replay.simulator.delivery",
    "replay.run_facts": "replay.analysis.run_facts",
    "replay.operator_metrics": "replay.analysis.operator_metrics",
    "replay.evaluation_truth": "replay.analysis.evaluation_truth",
    "replay.live_demo": "replay.live.demo",
    "replay.live_view": "replay.live.view",
    "replay.producer": "replay.live.producer",
    "replay.log_producer": "replay.live.log_producer",
    "replay.token_bucket": "replay.live.token_bucket",
    "replay.worker_metrics": "replay.live.worker_metrics",
    "replay.worker_process": "replay.live.worker_process",
    "replay.action_watch": "replay.live.action_watch",
    "models.settings": "config.models",
}
"""Modules that moved when the folders went under the namespace: old name -> new name."""

MOVED_SINCE = {"pitboss.models.settings": "pitboss.config.models"}
"""Modules that moved under the namespace (so that `config/` imports no other folder)."""


def current_module(module: str) -> str:
    """Return where the module a pickle names lives now (unchanged if it did not move)."""
    top = module.partition(".")[0]
    if top == "pitboss":
        return MOVED_SINCE.get(module, module)
    if top not in FOLDERS:
        return module
    return "pitboss." + MOVED_MODULES.get(module, module)


class _RenamingUnpickler(pickle.Unpickler):
    """An unpickler that maps the modules of an older layout to the current ones."""

    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(current_module(module), name)


def load_pickled(data: bytes) -> Any:
    """Unpickle `data`, written by this version or by one before the `pitboss` namespace.

    Classes are looked up once per pickle (the pickle's memo holds them after), so this
    costs what `pickle.loads` does.
    """
    return _RenamingUnpickler(io.BytesIO(data)).load()


def written_before_namespace(data: bytes) -> bool:
    """Say whether a pickle of project objects was written before the `pitboss` namespace.

    Example:
        >>> import pickle
        >>> from pitboss.operators.outputs import ClockTick
        >>> written_before_namespace(pickle.dumps(ClockTick(5, "s01")))
        False
    """
    return b"pitboss." not in data
