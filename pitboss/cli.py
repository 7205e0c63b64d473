"""The `pitboss` console command: one entry point, one subcommand per job."""

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.command()
def version() -> None:
    """Print the installed Pitboss version."""
    from importlib.metadata import version as _v

    typer.echo(_v("pitboss"))
