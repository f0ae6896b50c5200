"""What a feature's `wire(app)` receives: the services, the scheduler, and the web app's routes/hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.services import Services


@dataclass
class Wiring:
    services: Services
    scheduler: BackgroundScheduler
    routes: list[Any] = field(default_factory=list)  # starlette.routing.Route / Mount
    on_start: list[Callable[[], None]] = field(default_factory=list)
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    # Periodic work that reads the services' clock (e.g. closing alert buckets). `serve` runs these on
    # the scheduler every few seconds; the demo replay runs them after each step of simulated time.
    ticks: list[Callable[[], None]] = field(default_factory=list)
