"""Subcommands of `pitboss`, one module each, registered on import."""
