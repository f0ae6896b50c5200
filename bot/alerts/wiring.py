"""Wires negative-spike alerts into the running bot: service, ingest listener, tick, /watch and buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from bot.wiring import Wiring


def wire(app: Wiring) -> None:
    """Attach `services.alerts`, listen to ingestion, close buckets on each tick, register /watch."""
    from bot.alerts.service import AlertService
    from bot.handlers import watch

    services = app.services
    service = AlertService(services)
    services.extra["alerts"] = service
    ingest = services.extra.get("ingest")
    if ingest is not None:
        ingest.add_listener(service.on_comments, name="alerts")
    # `serve` runs ticks on the APScheduler every few seconds (the demo replay after each step)
    app.ticks.append(service.tick)
    watch.register(services.registry)
