"""The Typer application that every `pitboss` subcommand registers on."""

import typer

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Pitboss: real-time player protection and engagement for online gambling operators.",
)


@app.callback()
def _main() -> None:
    """Pitboss: real-time player protection and engagement for online gambling operators."""
