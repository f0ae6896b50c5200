"""Wires negative-spike alerts into the running bot: service, ingest listener, tick, /watch and buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from bot.wiring import Wiring


def wire(app: Wiring) -> None:
    """Attach `services.alerts`, listen to ingestion, close buckets on each tick, register /watch."""
    from bot.alerts.service import PRUNE_EVERY, AlertService
    from bot.handlers import watch

    services = app.services
    service = AlertService(services)
    services.extra["alerts"] = service
    ingest = services.extra.get("ingest")
    if ingest is not None:
        ingest.add_listener(service.on_comments, name="alerts")
    # `serve` runs ticks on the APScheduler every few seconds (the demo replay after each step)
    app.ticks.append(service.tick)
    # Old bucket counts go (each live stream adds a row per bucket). First run soon after each start, as
    # the retention purge: a bot restarted more often than every 6 hours would otherwise never prune.
    app.scheduler.add_job(service.prune_buckets, "interval", seconds=PRUNE_EVERY.total_seconds(),
                          id="alerts-bucket-prune", coalesce=True, max_instances=1,
                          next_run_time=datetime.now(UTC) + timedelta(minutes=3))
    watch.register(services.registry)
