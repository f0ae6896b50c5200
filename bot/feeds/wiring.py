"""Wires the platform pollers into the running bot: the service, one APScheduler job per enabled source,
and the `/sources` chat command. The webhook and file import are wired by the foundation (bot/app.py)."""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from bot.feeds.pollers.service import FeedsService
    from bot.services import Services
    from bot.wiring import Wiring

log = logging.getLogger(__name__)

SERVICE_NAME = "sources"


def notice_channels(services: Services, source: Any, notice: Any) -> list[str]:
    """Where a source's notice goes: the notice's own channel, the source's `notify_channel`, the
    account's channels, or the default channel (in that order)."""
    if notice.channel:
        return [notice.channel]
    if source.notify_channel:
        return [source.notify_channel]
    if source.account is not None:
        return services.scope.channels_for_account(source.account.platform, source.account.account_id)
    return [services.config.default_channel]


def build_service(services: Services, *, env=None, http=None) -> FeedsService:
    """The FeedsService on the bot's database, ingestion service and outbox."""
    from bot.feeds.pollers.base import IngestTally
    from bot.feeds.pollers.service import FeedsService
    from bot.feeds.pollers.store import DatabaseStateStore
    from bot.messages import Button, Message

    ingest_service = services.ingest

    def ingest(records: list[dict[str, Any]], source: str) -> IngestTally:
        report = ingest_service.ingest_records(records, source=source)
        rejected = [r for r in report.results if r.status == "rejected"]
        return IngestTally(accepted=report.accepted, duplicates=report.duplicates, rejected=len(rejected),
                           first_rejection=rejected[0].reason if rejected else None,
                           rejected_indexes=frozenset(r.index for r in rejected))

    def notify(notice, source) -> None:
        buttons = (Button(label="查看详情 / Open", action_id="feeds:open", url=notice.url),) if notice.url else ()
        message = Message(text=notice.text, title=notice.title, buttons=buttons, meta={"source": source.id})
        for channel in notice_channels(services, source, notice):
            services.outbox.send(channel=channel, message=message, key=f"{notice.key}:{channel}")

    return FeedsService(
        services.config.feeds,
        store=DatabaseStateStore(services.db, services.clock, secrets=services.settings.secret_box()),
        ingest=ingest,
        notify=notify,
        clock=services.clock,
        env=env,
        http=http,
    )


def warn_if_tokens_unencrypted(service: FeedsService) -> bool:
    """Log one warning when an enabled source stores refreshed tokens and no key encrypts them.

    Only then: the quick start (example sources disabled, no credentials) stays quiet."""
    from bot.feeds.pollers.service import ADAPTERS
    from bot.feeds.pollers.store import DatabaseStateStore
    from bot.storage.secrets import GENERATE_KEY_COMMAND, SECRET_KEY_ENV

    if not isinstance(service.store, DatabaseStateStore) or service.store.secrets is not None:
        return False
    ids = [
        s.id for s in service.config.sources
        if s.enabled and getattr(ADAPTERS.get(s.type), "stores_tokens", False)
    ]
    if not ids:
        return False
    log.warning(
        "数据源 %s 刷新后的令牌将以明文写入数据库（能读取数据库或备份的人可接管账号的接口权限）。"
        "请设置环境变量 %s 以加密保存，生成密钥：%s / "
        "Tokens are stored UNENCRYPTED: source(s) %s write refreshed OAuth tokens to the database in plain "
        "text (anyone with a database dump can use them). Set %s to encrypt them; generate a key with: %s",
        ", ".join(ids), SECRET_KEY_ENV, GENERATE_KEY_COMMAND, ", ".join(ids), SECRET_KEY_ENV, GENERATE_KEY_COMMAND,
    )
    return True


def schedule(wiring: Wiring, service: FeedsService) -> list[str]:
    """One interval job per enabled source (jittered; one run at a time; a late run still runs once)."""
    job_ids = []
    now = wiring.services.clock.now()
    for source in service.config.sources:
        if not source.enabled:
            continue
        job_id = f"feeds-poll-{source.id}"

        def run(source_id: str = source.id) -> None:
            try:
                service.poll(source_id)
            except Exception:  # noqa: BLE001 - a bug in one source must not stop the scheduler
                log.exception("poll crashed: source=%s", source_id)

        # Spread the first polls over one interval so 200 sources do not start in the same second.
        first = now + timedelta(seconds=random.uniform(0, min(source.interval, 60.0)))
        wiring.scheduler.add_job(
            run,
            "interval",
            seconds=source.interval,
            jitter=source.effective_jitter or None,
            id=job_id,
            name=f"poll {source.id}",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(source.interval)),
            next_run_time=first,
            replace_existing=True,
        )
        job_ids.append(job_id)
    return job_ids


def wire(app: Wiring) -> None:
    """Attach the pollers' service as `services.sources`, schedule enabled sources, add `/sources`."""
    services = app.services
    if getattr(services.config, "feeds", None) is None:
        return
    service = build_service(services)
    services.extra[SERVICE_NAME] = service
    warn_if_tokens_unencrypted(service)
    schedule(app, service)

    def publish_health() -> None:
        try:
            service.publish_health()
        except Exception:  # noqa: BLE001 - the gauges fill in on the first poll; never block the start
            log.exception("could not read the sources' stored health for /metrics")

    app.on_start.append(publish_health)
    app.on_stop.append(service.close)
    from bot.feeds.pollers.commands import register

    register(services.registry)
