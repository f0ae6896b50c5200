"""Turns the slack adapter on when its credentials are set: routes, the chat port, background clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from bot.wiring import Wiring


def wire(app: Wiring) -> None:
    """Not implemented yet."""
