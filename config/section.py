"""The base of every configuration section: frozen once validated, and strict about names.

A misspelt key in a TOML file (`max_amout`) is an error naming the section and the
key, never silently ignored, and a loaded section cannot be changed afterwards.
Every settings model of Pitboss (`pitboss.config.settings`, `pitboss.config.kafka`,
`pitboss.config.models`, `pitboss.operators.policy.settings`, and the simulator's
`pitboss.replay.simulator.population`) derives its sections from `Section`; their files
are read and layered by `pitboss.config.toml_file`.

Example:
    >>> class Limits(Section):
    ...     max_amount: float = 1.0
    >>> Limits(max_amout=2.0)
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for Limits
    ...

"""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A frozen configuration section that rejects keys it does not declare."""

    model_config = ConfigDict(frozen=True, extra="forbid")
