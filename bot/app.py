"""The one place that wires everything: settings -> database -> services -> features -> adapters -> web.

Replace a part by changing one line here.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TextIO

from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.adapters.console.port import ConsolePort
from bot.clock import Clock, SystemClock
from bot.config import AppConfig, Settings, database_url
from bot.dispatcher import Dispatcher
from bot.feeds.ingest import IngestService
from bot.feeds.webhook import comments_route
from bot.handlers import help as help_handlers
from bot.handlers.registry import CommandRegistry
from bot.outbox import Outbox
from bot.retention import purge_expired
from bot.scope import ChannelScope
from bot.sentiment.base import Scorer
from bot.services import Services
from bot.storage.db import Database
from bot.wiring import Wiring

log = logging.getLogger(__name__)

# Features and adapters, wired in this order. Each module has `wire(app: Wiring)`.
FEATURE_WIRING = (
    "bot.sentiment.wiring",
    "bot.alerts.wiring",
    "bot.playbooks.wiring",
    "bot.replies.wiring",
    "bot.reports.wiring",
    "bot.feeds.wiring",
    "bot.adapters.slack.wiring",
    "bot.adapters.feishu.wiring",
)


def scorer_provider(config: AppConfig) -> Callable[[], Scorer]:
    """The sentiment engine, loaded on first use (the model costs time and memory to load)."""
    cache: list[Scorer] = []
    lock = threading.Lock()

    def get() -> Scorer:
        if not cache:
            with lock:
                if not cache:
                    from bot.sentiment import get_scorer

                    cache.append(get_scorer(config.sentiment.backend, model_path=config.sentiment.model_path))
        return cache[0]

    return get


@dataclass
class BotApp:
    services: Services
    wiring: Wiring
    console: ConsolePort
    web: Starlette | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _started: bool = False

    @property
    def dispatcher(self) -> Dispatcher:
        return self.services.dispatcher

    def start(self, *, scheduler: bool = True, replay_inbound: bool = False) -> None:
        """Start the outbox worker, the scheduler and the features' background parts; with
        `replay_inbound` (the serving process), also the commands a crash left unhandled."""
        if self._started:
            return
        self._started = True
        self._stop.clear()
        worker = threading.Thread(
            target=self.services.outbox.run_worker, args=(self._stop,), name="outbox", daemon=True
        )
        worker.start()
        self._threads.append(worker)
        if scheduler:
            self.wiring.scheduler.start()
        if replay_inbound:
            # before the hooks start Socket Mode and the Feishu long connection (and before uvicorn serves
            # requests, which waits for this start): the journal then holds only what a previous process left
            self.services.dispatcher.replay_journal()
        for hook in self.wiring.on_start:
            hook()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        for hook in reversed(self.wiring.on_stop):
            try:
                hook()
            except Exception:  # noqa: BLE001 - stop everything else even if one part fails
                log.exception("stop hook failed")
        if self.wiring.scheduler.running:
            self.wiring.scheduler.shutdown(wait=False)
        self._stop.set()
        self.services.outbox.notify()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        self.services.dispatcher.shutdown()

    def close(self) -> None:
        self.stop()
        self.services.db.dispose()


class _SkippedRunsOncePerHour(logging.Filter):
    """APScheduler warns every interval while a job's previous run is still going (a poll slower than its
    interval, a long report): once an hour per job says the same, the rest is noise in the operator's log."""

    EVERY_S = 3600.0

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances reached" not in record.msg:
            return True
        import time

        # the job's id, not str(job): that carries the next run time
        job = str(getattr(record.args[0], "id", record.args[0])) if record.args else ""
        now = time.monotonic()
        if now - self._last.get(job, -self.EVERY_S) < self.EVERY_S:
            return False
        self._last[job] = now
        return True


def _quiet_skipped_runs() -> None:
    logger = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _SkippedRunsOncePerHour) for f in logger.filters):
        logger.addFilter(_SkippedRunsOncePerHour())


def build_app(
    settings: Settings,
    config: AppConfig,
    *,
    clock: Clock | None = None,
    db: Database | None = None,
    console_echo: TextIO | None = None,
    upgrade: bool = True,
    features: tuple[str, ...] = FEATURE_WIRING,
) -> BotApp:
    """Wire the whole bot. Nothing runs until `start()` (or the ASGI lifespan) is called."""
    clock = clock or SystemClock()
    db = db or Database(database_url(settings, config))
    if upgrade:
        db.upgrade()
    registry = CommandRegistry()
    outbox = Outbox(db, clock)
    console = ConsolePort(echo=console_echo, language=config.channel_language)
    outbox.register_port(console)
    services = Services(
        settings=settings,
        config=config,
        db=db,
        clock=clock,
        scope=ChannelScope(config),
        outbox=outbox,
        registry=registry,
    )
    scorer = scorer_provider(config)
    services.extra["scorer"] = scorer
    own_authors = {(a.platform, a.account_id): set(a.author_ids) for a in config.accounts}
    services.extra["ingest"] = IngestService(db, clock, scorer, own_author_ids=own_authors)
    services.extra["dispatcher"] = Dispatcher(services)
    help_handlers.register(registry)

    _quiet_skipped_runs()
    scheduler = BackgroundScheduler(timezone=config.zone())
    wiring = Wiring(services=services, scheduler=scheduler)
    _add_foundation_jobs(wiring)
    for module_name in features:
        importlib.import_module(module_name).wire(wiring)
    app = BotApp(services=services, wiring=wiring, console=console)
    app.web = create_web_app(app)
    return app


def _add_foundation_jobs(wiring: Wiring) -> None:
    services = wiring.services
    # Batches a listener missed (it failed, or the process stopped first) are handed over again.
    wiring.ticks.append(services.ingest.retry_handoffs)
    retention = services.config.retention
    wiring.scheduler.add_job(
        lambda: purge_expired(services.db, services.clock.now(), retention),
        "interval", hours=6, id="retention-purge", coalesce=True, max_instances=1,
        # first run soon after each start: an interval job first fires one interval after the start, so
        # a bot restarted more often than every 6 hours (deploys, crashes) would never purge anything
        # (the handled chat event ids had an hourly job of their own with that flaw: they are purged here)
        next_run_time=datetime.now(UTC) + timedelta(minutes=2),
    )


def create_web_app(app: BotApp) -> Starlette:
    services = app.services

    async def healthz(_request: Request) -> JSONResponse:
        ok = await run_in_threadpool(services.db.ping)
        body = {"status": "ok" if ok else "unavailable", "database": "reachable" if ok else "unreachable"}
        return JSONResponse(body, status_code=200 if ok else 503)

    async def prometheus(_request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
        comments_route(
            services.ingest, token=services.settings.ingest_token, max_bytes=services.settings.ingest_max_bytes,
            accounts=[(account.platform, account.account_id) for account in services.config.accounts],
            clock=services.clock,
        ),
        *app.wiring.routes,
    ]
    # A request URL saved with a trailing slash ("…/slack/events/") was answered 307 to the path without it,
    # and logged nothing: Slack and Feishu do not follow a redirect when they verify or post to a URL, so the
    # bot looked deaf. Each POST endpoint answers at both spellings.
    routes += [Route(route.path + "/", route.endpoint, methods=sorted(route.methods or ()))
               for route in routes if isinstance(route, Route) and "POST" in (route.methods or ())
               and not route.path.endswith("/")]

    @asynccontextmanager
    async def lifespan(_web):
        await run_in_threadpool(app.start, replay_inbound=True)
        try:
            yield
        finally:
            await run_in_threadpool(app.stop)

    return Starlette(routes=routes, lifespan=lifespan)
