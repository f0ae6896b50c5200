"""`crisisbot` subcommands of this feature. Keep imports here light: load heavy parts inside commands."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="(not implemented yet)")
