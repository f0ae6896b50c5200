"""Wires the sentiment feature: the correction service and the `/sentiment` command."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from bot.wiring import Wiring


def wire(app: Wiring) -> None:
    """Attach `services.sentiment_corrections` and register `/sentiment fix` + the `sentiment.fix` button.

    The scorer itself is provided by bot.app (`services.scorer`, via `bot.sentiment.get_scorer`).
    """
    from bot.handlers import sentiment as handlers
    from bot.sentiment.corrections import CorrectionService

    services = app.services
    services.extra["sentiment_corrections"] = CorrectionService(services.db, services.scope, services.clock)
    handlers.register(services.registry)
