"""Layer 6: the ``wk`` command line (typer): query, compile, tables, ingest, demo, serve."""

from watchkeeper.cli.app import app, main

__all__ = ["app", "main"]
