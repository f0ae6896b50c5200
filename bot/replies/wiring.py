"""Wires the reply queue: the service, the ingest listener, /reply-queue and /precheck, the reply
webhook port, and the overdue-reminder job."""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:  # pragma: no cover
    from bot.config import Settings
    from bot.wiring import Wiring

log = logging.getLogger(__name__)

REPO_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


def find_list_file(name: str, settings: Settings | None) -> Path:
    """A lists/templates file: absolute, else next to the config file, ./config/, or the repo's config/."""
    path = Path(name)
    if path.is_absolute():
        return path
    candidates = []
    config_path = getattr(settings, "config_path", None) if settings is not None else None
    if config_path:
        candidates.append(Path(config_path).parent / path)
    candidates += [Path.cwd() / "config" / path, Path.cwd() / path, REPO_CONFIG_DIR / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return candidates[-1]


def check_files(settings: Settings | None, config) -> list[str]:
    """Problems in the precheck lists and reply templates (for `crisisbot config check`); [] when fine."""
    from bot.replies.precheck import PrecheckConfigError, Prechecker
    from bot.replies.templates import TemplateConfigError, TemplateLibrary

    cfg = config.replies
    problems: list[str] = []
    try:
        Prechecker.from_file(find_list_file(cfg.precheck_file, settings))
    except PrecheckConfigError as exc:
        problems += str(exc).splitlines()
    try:
        TemplateLibrary.from_file(find_list_file(cfg.templates_file, settings))
    except TemplateConfigError as exc:
        problems += str(exc).splitlines()
    return problems


def config_warnings(config, environ=None) -> list[str]:
    """What in `replies:` is valid but probably a mistake (`config check` prints these without failing).

    A typo in an account or role name is valid YAML that quietly turns a safeguard off: replies to the
    intended account would be posted without approval, or anyone could approve."""
    environ = os.environ if environ is None else environ
    cfg = config.replies
    warnings: list[str] = []
    listed = {a.key for a in config.accounts}
    if listed:
        for section, keys in (("replies.approval.accounts", cfg.approval.accounts),
                              ("replies.posting.accounts", cfg.posting.accounts)):
            for key in keys:
                if key not in listed:
                    warnings.append(f"{section}: 账号 {key!r} 不在 accounts: 中（拼写错误？）/ account {key!r} is not "
                                    f"listed under accounts: (a typo?)")
    approval = cfg.approval
    if (approval.accounts or approval.negative or approval.risk) and config.roles and approval.role not in config.roles:
        warnings.append(f"replies.approval.role: 角色 {approval.role!r} 不在 roles: 中，作者以外的任何人都能审批 / role "
                        f"{approval.role!r} is not under roles: anyone but the writer may approve")
    if cfg.posting.webhook_url and webhook_secret(cfg.posting, environ) is None:
        # Allowed (documented: a bridge on this machine may do without), but the receiver then cannot tell the
        # bot's requests from anyone else's: no bearer header and no X-Crisisbot-Signature.
        warnings.append(f"replies.posting: 未设置环境变量 {cfg.posting.secret_env}，回复将以未签名方式发往 webhook（没有 "
                        f"Authorization 和 X-Crisisbot-Signature），接收方无法确认请求来自机器人 / "
                        f"{cfg.posting.secret_env} is not set: replies are posted to the webhook unsigned (no "
                        f"Authorization, no X-Crisisbot-Signature): the receiver cannot tell them from forged ones")
    if _plain_http_elsewhere(cfg.posting.webhook_url):
        # the secret travels as a bearer header: over plain HTTP to another machine anyone on the way reads it
        warnings.append("replies.posting.webhook_url: 使用 http:// 发往其他主机，密钥和回复内容以明文传输，请改用 https:// / "
                        "plain http:// to another host: the secret and the replies travel unencrypted; use https://")
    return warnings


def _plain_http_elsewhere(url: str | None) -> bool:
    """An http:// URL whose host is not this machine (loopback is where a local bridge listens)."""
    if not url:
        return False
    parts = urlsplit(url)
    if parts.scheme.lower() != "http":
        return False
    host = (parts.hostname or "").lower()
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def build_service(services, *, playbooks=None):
    """The reply-queue service for a Services container (also used by tests and the benchmark)."""
    from bot.config import ConfigError
    from bot.replies.precheck import PrecheckConfigError, Prechecker
    from bot.replies.service import ReplyQueueService
    from bot.replies.templates import TemplateConfigError, TemplateLibrary

    cfg = services.config.replies
    problems = []
    try:
        prechecker = Prechecker.from_file(find_list_file(cfg.precheck_file, services.settings))
    except PrecheckConfigError as exc:
        problems += str(exc).splitlines()
    try:
        templates = TemplateLibrary.from_file(find_list_file(cfg.templates_file, services.settings))
    except TemplateConfigError as exc:
        problems += str(exc).splitlines()
    if problems:
        raise ConfigError(problems)
    return ReplyQueueService(
        db=services.db, clock=services.clock, app_config=services.config, scope=services.scope,
        outbox=services.outbox, prechecker=prechecker, templates=templates,
        playbooks=playbooks or (lambda: services.extra.get("playbooks")),
    )


def webhook_secret(posting, environ=None) -> str | None:
    """The reply webhook's secret (`replies.posting.secret_env`), None when unset or blank. Stripped, as every
    secret the bot reads from the environment: a line end from an env file sent a different secret."""
    environ = os.environ if environ is None else environ
    return (environ.get(posting.secret_env) or "").strip() or None


def wire(app: Wiring) -> None:
    from bot.handlers import precheck as precheck_handlers
    from bot.handlers import reply_queue as reply_queue_handlers
    from bot.replies.webhook import ReplyWebhookPort

    services = app.services
    cfg = services.config.replies
    service = build_service(services)
    services.extra["replies"] = service
    ingest = services.extra.get("ingest")
    if ingest is not None:
        ingest.add_listener(service.on_comments, name="reply_queue")
    reply_queue_handlers.register(services.registry)
    precheck_handlers.register(services.registry)

    if cfg.posting.webhook_url:
        services.outbox.register_port(ReplyWebhookPort(
            cfg.posting.webhook_url, secret=webhook_secret(cfg.posting),
            timeout=cfg.posting.timeout_seconds, on_result=service.delivery_result,
            on_delay=service.delivery_delayed,
        ))

    if cfg.reminders.enabled:
        app.scheduler.add_job(
            service.overdue_reminders, "interval", minutes=cfg.reminders.every_minutes, id="reply-queue-reminders",
            coalesce=True, max_instances=1,
            # a minute after start, then every N minutes: a bot restarted more often than N minutes would
            # otherwise never remind (repeats are safe: items remember when they were last reminded)
            next_run_time=datetime.now(UTC) + timedelta(minutes=1),
        )

    # Claims run out (claim_minutes): the cards showing a claimed item stop saying "认领中" within a minute
    # of the end, not at the next press on the card.
    app.scheduler.add_job(
        service.expire_claims, "interval", minutes=1, id="reply-queue-claims-expire", coalesce=True, max_instances=1,
    )

    # A database that had comments before this feature's migration: build the queue once, from the
    # comments stored up to now (the listener, attached above, sees every later one).
    try:
        bound = service.backfill_bound()
    except Exception:  # noqa: BLE001 - e.g. tables not migrated yet (tests that skip the upgrade)
        log.warning("reply queue: could not check for a backfill", exc_info=True)
        bound = None

    def backfill() -> None:
        try:
            count = service.rebuild(up_to_id=bound)
            if count:
                log.info("reply queue built from %d stored comments", count)
        except Exception:  # noqa: BLE001 - the bot runs without the backfill; it is logged
            log.exception("reply queue backfill failed")

    if bound:
        app.on_start.append(lambda: threading.Thread(target=backfill, name="reply-queue-backfill", daemon=True).start())

    # Stored scores from an older priority formula (or other weights) would keep old items ranked by it:
    # after this upgrade a day-old backlog still buried fresh viral complaints until each item was handled.
    def rescore() -> None:
        try:
            if service.scores_stale():
                count = service.rescore_open()
                log.info("reply queue: %d unanswered items rescored with the current priority weights", count)
        except Exception:  # noqa: BLE001 - the queue works with the stored scores meanwhile; it is logged
            log.exception("reply queue rescore failed")

    if not bound:  # (a backfill writes current scores anyway)
        app.on_start.append(lambda: threading.Thread(target=rescore, name="reply-queue-rescore", daemon=True).start())
