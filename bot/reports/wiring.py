"""Wires client reports: the service, `/report`, and the schedule check."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from bot.wiring import Wiring


def build_service(services):
    from bot.reports.service import ReportService

    return ReportService(
        db=services.db,
        clock=services.clock,
        config=services.config,
        scope=services.scope,
        outbox=services.outbox,
        replies=lambda: services.extra.get("replies"),
    )


def wire(app: Wiring) -> None:
    from bot.handlers import report

    services = app.services
    service = build_service(services)
    services.extra["reports"] = service
    report.register(services.registry)
    if not service.settings.schedules:
        return
    every = timedelta(seconds=service.settings.check_every_seconds)
    last_check: list[datetime] = []

    def check_schedules() -> None:
        # A tick runs every few seconds (and after every step of a replay's simulated clock); the
        # schedules need a look only once per `check_every_seconds` of the bot's clock.
        now = services.clock.now()
        if last_check and now - last_check[0] < every:
            return
        last_check[:] = [now]
        service.run_schedules()

    app.ticks.append(check_schedules)
