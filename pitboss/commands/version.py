"""`pitboss version`: the installed version."""

from importlib.metadata import version as _installed_version

import typer

from pitboss.app import app


@app.command()
def version() -> None:
    """Print the installed Pitboss version."""
    typer.echo(_installed_version("pitboss"))
