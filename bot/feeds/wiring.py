"""Wires this feature into the running bot: services, command handlers, scheduled jobs, routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from bot.wiring import Wiring


def wire(app: Wiring) -> None:
    """Nothing to wire yet."""
