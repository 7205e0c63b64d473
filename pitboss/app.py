"""The Typer application that every `pitboss` subcommand registers on.

Its group class (`pitboss.mistakes.OneLineErrors`) prints a user's mistake as one
line with exit code 2, so commands raise errors rather than print them.
"""

import typer

from pitboss.mistakes import OneLineErrors

app = typer.Typer(
    cls=OneLineErrors,
    no_args_is_help=True,
    add_completion=False,
    help="Pitboss: real-time player protection and engagement for online gambling operators.",
)


@app.callback()
def _main() -> None:
    """Pitboss: real-time player protection and engagement for online gambling operators."""
