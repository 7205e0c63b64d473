"""Reading TOML files of settings, and layering one over another: one home for both.

Every file a user hands Pitboss (`--config`, a policy file, a population or a sweep)
is read by `read_toml`, so a file that is missing or is not TOML always stops the
program with one line that names the file, and `deep_merge` is the one rule for
laying a file (or a jurisdiction's override) over the defaults: table by table,
later values winning.

Example:
    >>> deep_merge({"a": {"x": 1, "y": 2}, "b": 3}, {"a": {"y": 20}})
    {'a': {'x': 1, 'y': 20}, 'b': 3}
    >>> read_toml(Path("nope.toml"), "policy", ValueError)
    Traceback (most recent call last):
    ...
    ValueError: nope.toml: cannot read policy: No such file or directory

"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def read_toml(path: Path, what: str, error: type[Exception]) -> dict[str, Any]:
    """Read a TOML file into plain data.

    Args:
        path: the file.
        what: what the file holds, for the message (`configuration`, `policy`, ...).
        error: the exception raised when the file cannot be read or is not TOML.

    Returns:
        The file's tables and values.

    Raises:
        error: one line naming `path` and what is wrong with it.

    """
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:  # TOML is UTF-8 text
        raise error(f"{path}: not valid TOML: not UTF-8 text (byte {exc.start})") from exc


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """Return `base` with `top` merged in, table by table (neither is changed).

    Args:
        base: the lower layer (defaults).
        top: the layer that wins where both set a value; a table in both is merged.

    Returns:
        A new dict; tables merged on the way are new dicts too.

    """
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = deep_merge(below, value)
        else:
            merged[key] = value
    return merged
