r"""An operator's mistake reaches the terminal as one line naming what to fix, and exit code 2.

Commands raise; they do not print their own errors. `OneLineErrors`, the group
class of the `pitboss` application, turns what a user can get wrong into one line
on stderr and exit code 2, never a traceback:

- a bad or missing flag (Typer's usage errors), naming the option and, when the
  value came from one, the environment variable;
- an exception of `operator_mistakes()`: a bad configuration or policy file or
  variable (`ConfigError`), an input that cannot be used (`InputError`: a missing,
  unreadable or wrong-format file, an output that cannot be written, a server
  that cannot be reached), a malformed ClickHouse DSN, a run directory without a
  store, a bad models export.

Anything else is a bug and keeps its traceback.

Example:
    >>> one_line("--input a.jsonl:\n  no such file")
    'error: --input a.jsonl: no such file'

"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

EXIT_MISTAKE = 2
"""Exit code of a user's mistake (the same as Typer's own usage errors)."""


class InputError(ValueError):
    """An input the operator named cannot be used; the message names the flag and the file."""


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `message` as one error line and exit with `code` (1: the job failed, not the user).

    Raises:
        typer.Exit: always.

    """
    typer.echo(one_line(message), err=True)
    raise typer.Exit(code)


def operator_mistakes() -> tuple[type[Exception], ...]:
    """Return the exception types that mean the operator must fix something, not the code."""
    from pitboss.config.settings import ConfigError
    from pitboss.models.storage import ModelStoreError
    from pitboss.replay.run_store import RunStoreError
    from pitboss.sinks.clickhouse_client import ClickHouseConfigError, ClickHouseUnavailableError

    return (InputError, ConfigError, ClickHouseConfigError, ClickHouseUnavailableError,
            RunStoreError, ModelStoreError)  # fmt: skip


def one_line(message: str) -> str:
    """Return `message` as the one line printed: `error: ...`, its whitespace collapsed."""
    return "error: " + " ".join(message.split())


def usage_message(exc: typer.TyperException) -> str:
    """Return a usage error's message, naming the environment variable a bad value came from.

    Args:
        exc: Typer's error about a command line (a missing option, a value out of range).

    Returns:
        The message, then the variable if the value was read from one, then where help is.

    """
    message = exc.format_message()
    ctx = getattr(exc, "ctx", None)
    param = getattr(exc, "param", None)
    if ctx is None:
        return message
    if param is not None and param.name and param.envvar:
        source = ctx.get_parameter_source(param.name)
        name = _envvar_set(param.envvar)
        if source is not None and source.name == "ENVIRONMENT" and name not in message:
            message += f" (from environment variable {name})"
    return f"{message} (see '{ctx.command_path} --help')"


def _envvar_set(envvar: str | Sequence[str]) -> str:
    """Return the variable, of the option's one or several, that is set."""
    names = [envvar] if isinstance(envvar, str) else list(envvar)
    return next((name for name in names if name in os.environ), names[0])


class OneLineErrors(TyperGroup):
    """The `pitboss` group: usage errors and operator mistakes as one line, exit code 2."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; in standalone mode, exit with one line for a mistake."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except typer.TyperException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # no subcommand: show the help
                help_text = exc.format_message()  # rich help prints itself and returns ""
                if help_text.strip():
                    typer.echo(help_text)
                sys.exit(EXIT_MISTAKE)
            typer.echo(one_line(usage_message(exc)), err=True)
            sys.exit(getattr(exc, "exit_code", EXIT_MISTAKE))
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        except Exception as exc:
            if not isinstance(exc, operator_mistakes()):
                raise
            typer.echo(one_line(str(exc)), err=True)
            sys.exit(EXIT_MISTAKE)
        sys.exit(result if isinstance(result, int) else 0)
