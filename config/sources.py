"""Which file or environment variable set a configuration value, so an error can name it.

Configuration comes in three layers (`pitboss.config.settings.load_settings`): the packaged
`config/defaults.toml`, an optional `--config` file, then `PITBOSS_<SECTION>__<FIELD>`
environment variables. When a value fails validation, the operator must be told
where it came from: `ConfigSources.origin` names the variable that set it, else the
`--config` file that did, else the packaged defaults. Names that match nothing
(`[contrakt]`, `PITBOSS_CONTRAKT__MAX_AMOUNT`) are found here too, with the nearest
known name as a suggestion.

Example:
    >>> paths = environment_paths({"PITBOSS_CONTRACT__MAX_AMOUNT": "abc", "HOME": "/root"})
    >>> paths
    {('contract', 'max_amount'): 'PITBOSS_CONTRACT__MAX_AMOUNT'}
    >>> sources = ConfigSources(Path("defaults.toml"), {}, None, {}, paths)
    >>> sources.origin(("contract", "max_amount"))
    'environment variable PITBOSS_CONTRACT__MAX_AMOUNT'
    >>> sources.origin(("features", "shards"))
    'defaults.toml'
    >>> did_you_mean("contrakt", ["contract", "features"])
    " (did you mean 'contract'?)"

"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

ENV_PREFIX = "PITBOSS_"
ENV_NESTED_DELIMITER = "__"

Loc = tuple[str | int, ...]
"""A dotted field's path, as pydantic reports it: `("contract", "max_amount")`."""


def environment_paths(environ: Mapping[str, str]) -> dict[tuple[str, ...], str]:
    """Map the settings path of every `PITBOSS_` variable to the variable's name.

    Args:
        environ: the environment (`os.environ`); names are matched case-insensitively,
            as pydantic-settings reads them.

    Returns:
        `("kafka", "topics", "bets")` -> `"PITBOSS_KAFKA__TOPICS__BETS"`, one per variable.

    """
    paths: dict[tuple[str, ...], str] = {}
    for name in environ:
        if name.upper().startswith(ENV_PREFIX):
            rest = name[len(ENV_PREFIX):].lower()
            paths[tuple(rest.split(ENV_NESTED_DELIMITER))] = name
    return paths


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ` (did you mean 'x'?)` for the known name nearest `name`, or "" if none is near.

    Args:
        name: the unknown name.
        choices: the names that exist.

    """
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def field_names_at(model: type[BaseModel], loc: Loc) -> list[str] | None:
    """Return the field names of the section at `loc` under `model`, or None if not a section.

    Example:
        >>> from pitboss.config.settings import Settings
        >>> field_names_at(Settings, ("labels",))[:3]
        ['churn_horizon_s', 'negative_horizon_s', 'inactivity_checkpoints_s']
        >>> field_names_at(Settings, ("policy_file",)) is None
        True

    """
    current: type[BaseModel] = model
    for part in loc:
        field = current.model_fields.get(str(part))
        section = _section_type(field.annotation) if field is not None else None
        if section is None:
            return None
        current = section
    return list(current.model_fields)


def _section_type(annotation: Any) -> type[BaseModel] | None:
    """Return the model class of a field annotated `Model` or `Model | None`, else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        models = [a for a in get_args(annotation) if a is not type(None)]
        if len(models) == 1:
            return _section_type(models[0])
    return None


@dataclass(frozen=True)
class ConfigSources:
    """The layers of one configuration load, to tell which of them set a value.

    Attributes:
        defaults: the packaged defaults file.
        defaults_data: its parsed contents.
        user: the `--config` file, or None.
        user_data: its parsed contents (empty without one).
        environment: `environment_paths` of the environment at load time.

    """

    defaults: Path
    defaults_data: Mapping[str, Any]
    user: Path | None
    user_data: Mapping[str, Any]
    environment: Mapping[tuple[str, ...], str]

    def origin(self, loc: Loc) -> str:
        """Name what set the value at `loc`: a variable, else the `--config` file, else defaults.

        A variable counts when it sets `loc` itself, a field inside it, or the section
        holding it; the environment wins over files, as it does when loading.
        """
        path = tuple(str(part).lower() for part in loc)
        for env_path, name in self.environment.items():
            common = min(len(env_path), len(path))
            if common and env_path[:common] == path[:common]:
                return f"environment variable {name}"
        if self.user is not None and _sets(self.user_data, loc):
            return str(self.user)
        return str(self.defaults)


def _sets(data: Mapping[str, Any], loc: Loc) -> bool:
    """Whether the parsed file `data` holds a value at (or above) `loc`."""
    node: Any = data
    for part in loc:
        if not isinstance(node, Mapping) or str(part) not in node:
            return False
        node = node[str(part)]
    return bool(loc)
