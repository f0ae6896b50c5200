"""The container of wired services handed to handlers and jobs. Built only by `bot.app`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from bot.clock import Clock
    from bot.config import AppConfig, Settings
    from bot.handlers.registry import CommandRegistry
    from bot.outbox import Outbox
    from bot.scope import ChannelScope
    from bot.storage.db import Database


@dataclass
class Services:
    settings: Settings
    config: AppConfig
    db: Database
    clock: Clock
    scope: ChannelScope
    outbox: Outbox
    registry: CommandRegistry
    # Feature services are attached by bot.app as they are wired (ingest, sentiment, alerts, playbooks,
    # replies, reports, sources). Handlers reach them as attributes, e.g. services.alerts.
    extra: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(name)
