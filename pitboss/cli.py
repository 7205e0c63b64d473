"""The `pitboss` console command: one entry point, one subcommand module per job.

Each module in `pitboss/commands/` registers its subcommands on `pitboss.app.app`
when imported; this module imports them all, so adding a command is adding a file.
"""

import importlib
import pkgutil

import pitboss.commands
from pitboss.app import app

for _module in pkgutil.iter_modules(pitboss.commands.__path__):
    importlib.import_module(f"pitboss.commands.{_module.name}")

__all__ = ["app"]

if __name__ == "__main__":
    app()
