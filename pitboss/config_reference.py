"""Write docs/configuration.md from the settings models, so the reference cannot drift.

Every section and field of the configuration (`pitboss.config.settings.Settings`) and of the
policy file (`pitboss.operators.policy.settings.PolicySettings`) is listed with its type,
its default (the packaged `config/defaults.toml` and `config/policy.toml`, which
is what runs when nothing overrides it) and its description, taken from the
field's `Field(description=...)`: the models are the one home of the reference.
It stands beside the CLI rather than in `config/` because it reads the policy file's
models too (`operators/`), and `config/` imports no other folder.

    python -m pitboss.config_reference          # rewrite docs/configuration.md
    python -m pitboss.config_reference --check  # exit 1 if the checked-in file is not current

Example:
    >>> type_name(dict[str, float])
    'table of string to float'
    >>> toml_value({"EUR": 1.0, "US NJ": "America/New_York"})
    '{EUR = 1.0, "US NJ" = "America/New_York"}'

"""

from __future__ import annotations

import argparse
import re
import sys
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from pitboss.config.settings import DEFAULTS_FILE, ConfigError, Settings
from pitboss.config.sources import ENV_NESTED_DELIMITER, ENV_PREFIX
from pitboss.config.toml_file import read_toml
from pitboss.operators.policy.settings import (
    DEFAULT_POLICY_FILE,
    EscalationStep,
    OfferTypeSettings,
    PolicyRules,
    PolicySettings,
)

DOC_FILE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_SCALARS = {int: "integer", float: "float", str: "string", bool: "boolean",
            SecretStr: "secret string"}  # fmt: skip
_BOUNDS = ((annotated_types.Ge, "ge", ">="), (annotated_types.Gt, "gt", ">"),
           (annotated_types.Le, "le", "<="), (annotated_types.Lt, "lt", "<"))  # fmt: skip

INTRO = f"""# Configuration reference

<!-- Generated from the settings models by `python -m pitboss.config_reference`; do not edit. -->

Pitboss reads its configuration in three layers, each overriding the one before:

1. the packaged defaults, `config/defaults.toml` (the defaults below);
2. a TOML file given with `--config FILE`, in the same layout, holding any subset;
3. environment variables `{ENV_PREFIX}<SECTION>{ENV_NESTED_DELIMITER}<FIELD>`, nested
   further with `{ENV_NESTED_DELIMITER}` (e.g. `PITBOSS_KAFKA__TOPICS__BETS=casino1.bets`);
   a table or list set from the environment is JSON (`PITBOSS_CONTRACT__RATES='{{"GBP": 1.17}}'`).

Everything is validated once at start-up: a bad value, a misspelt field or an unknown
section stops the command with one line naming the file or variable and the field.
Secrets (`clickhouse.dsn`, the Kafka passwords) belong in environment variables.
The policy file (`policy_file`, by default `config/policy.toml`) has its own layout,
listed after the configuration; docs/policy.md explains what the policy does.
"""


def type_name(annotation: Any) -> str:
    """Return a reader's name for a field's type: `integer`, `table of string to float`, ..."""
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if origin is Literal:
        return "one of " + ", ".join(f"`{toml_value(a)}`" for a in args)
    if origin in (Union, types.UnionType):
        kinds = [type_name(a) for a in args if a is not type(None)]
        optional = ", or none" if type(None) in args else ""
        return " or ".join(kinds) + optional
    if origin is dict:
        value = type_name(args[1])
        return f"table of {type_name(args[0])} to " + (f"({value})" if " or " in value else value)
    if origin in (tuple, list):
        return f"list of {type_name(args[0])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return "any" if annotation is Any else str(annotation)


def toml_value(value: Any) -> str:
    """Return `value` as TOML writes it (secrets as empty strings, tables inline)."""
    if isinstance(value, SecretStr):
        return '""' if not value.get_secret_value() else '"(set)"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, BaseModel):
        return toml_value(value.model_dump())
    if isinstance(value, Mapping):
        items = (f"{_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else toml_value(key)


def _field_type(info: FieldInfo) -> str:
    bounds = [f"{sign} {getattr(meta, attr)}" for kind, attr, sign in _BOUNDS
              for meta in info.metadata if isinstance(meta, kind)]  # fmt: skip
    name = type_name(info.annotation)
    return f"{name} ({', '.join(bounds)})" if bounds else name


def _description(owner: type[BaseModel], name: str, info: FieldInfo) -> str:
    if not info.description:
        raise ValueError(f"{owner.__name__}.{name} has no Field(description=...)")
    return " ".join(info.description.split())


def _is_section(info: FieldInfo) -> bool:
    args = [a for a in get_args(info.annotation) if a is not type(None)] or [info.annotation]
    return all(isinstance(a, type) and issubclass(a, BaseModel) for a in args)


def _rows(model: BaseModel | None, cls: type[BaseModel]) -> Iterator[str]:
    """Table rows of a section's plain fields (subsections get sections of their own)."""
    for name, info in cls.model_fields.items():
        if _is_section(info) and model is not None:
            continue
        if model is not None:
            default = f"`{toml_value(getattr(model, name))}`"
        elif info.is_required():
            default = "required"
        else:
            default = f"`{toml_value(info.get_default(call_default_factory=True))}`"
        yield (f"| `{name}` | {_field_type(info)} | {default} | "
               f"{_description(cls, name, info)} |")


def _section(path: str, model: BaseModel | None, cls: type[BaseModel], about: str) -> list[str]:
    """Return the Markdown of one section, then that of each of its subsections."""
    lines = [f"### `[{path}]`", "", about, ""]
    rows = list(_rows(model, cls))
    if rows:
        lines += ["| Field | Type | Default | Description |", "|---|---|---|---|", *rows, ""]
    for name, info in cls.model_fields.items():
        if model is None or not _is_section(info):
            continue
        value = getattr(model, name)
        sub_cls = type(value) if value is not None else cls
        if value is None:
            lines += [f"### `[{path}.{name}]`", "", f"None by default. {info.description}", ""]
            continue
        lines += _section(f"{path}.{name}", value, sub_cls, _description(cls, name, info))
    return lines


def _configuration() -> list[str]:
    defaults = read_toml(DEFAULTS_FILE, "configuration", ConfigError)
    lines = ["## Configuration (`config/defaults.toml`, `--config`)", "",
             "### Top level", "", "| Field | Type | Default | Description |", "|---|---|---|---|"]
    sections = []
    for name, info in Settings.model_fields.items():
        if not _is_section(info):
            value = defaults.get(name, info.get_default(call_default_factory=True))
            lines.append(f"| `{name}` | {_field_type(info)} | `{toml_value(value)}` | "
                         f"{_description(Settings, name, info)} |")
            continue
        cls = info.annotation
        assert isinstance(cls, type) and issubclass(cls, BaseModel)
        model = cls.model_validate(defaults.get(name, {}))
        sections += _section(name, model, cls, _description(Settings, name, info))
    return [*lines, "", *sections]


def _policy() -> list[str]:
    policy = PolicySettings.model_validate(read_toml(DEFAULT_POLICY_FILE, "policy", ConfigError))
    lines = ["## Policy file (`config/policy.toml`, `policy_file`)", "",
             "### Top level", "", "| Field | Type | Default | Description |", "|---|---|---|---|"]
    sections = []
    for name, info in PolicySettings.model_fields.items():
        value = getattr(policy, name)
        if name in PolicyRules.model_fields and _is_section(info):
            sections += _section(name, value, type(value), _description(PolicySettings, name, info))
        elif name == "escalation":
            sections += _section("[escalation]", None, EscalationStep,
                                 _description(PolicySettings, name, info)
                                 + f" Default: `{toml_value(value)}`.")
        else:
            lines.append(f"| `{name}` | {_field_type(info)} | `{toml_value(value)}` | "
                         f"{_description(PolicySettings, name, info)} |")
    sections += _section("offers.types.<type>", None, OfferTypeSettings,
                         " ".join((OfferTypeSettings.__doc__ or "").split()))
    return [*lines, "", *sections]


def render() -> str:
    """Return the whole of docs/configuration.md."""
    body = [INTRO, *_configuration(), *_policy()]
    return "\n".join(body).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Rewrite docs/configuration.md, or with `--check` report whether it is current.

    Returns:
        0, or 1 when `--check` finds the file out of date.

    """
    parser = argparse.ArgumentParser(prog="python -m pitboss.config_reference",
                                     description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if docs/configuration.md is not current")
    args = parser.parse_args(argv)
    text = render()
    current = DOC_FILE.read_text(encoding="utf-8") if DOC_FILE.exists() else ""
    if args.check:
        if current != text:
            print(f"{DOC_FILE} is out of date: run `python -m pitboss.config_reference`",
                  file=sys.stderr)
            return 1
        return 0
    DOC_FILE.write_text(text, encoding="utf-8")
    print(f"written {DOC_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
