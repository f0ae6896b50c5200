"""Wires the playbook feature: the run service (`services.playbooks`), `/crisis`, the reminder job."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from bot.wiring import Wiring

log = logging.getLogger(__name__)


def playbook_dir(directory: str | None) -> Path:
    """The configured folder (relative paths: to the working directory, else to the repository), or
    the repository's config/playbooks."""
    from bot.playbooks.validate import default_playbook_dir

    if not directory:
        return default_playbook_dir()
    path = Path(directory)
    if path.is_absolute() or path.exists():
        return path
    return Path(__file__).resolve().parents[2] / path


def wire(app: Wiring) -> None:
    """Load and validate the playbooks (a bad file stops the start with every problem listed), attach
    the service, register `/crisis` and its buttons, and add the reminder job."""
    from bot.config import ConfigError
    from bot.handlers import crisis
    from bot.playbooks.service import PlaybookService
    from bot.playbooks.validate import load_playbooks

    services = app.services
    settings = services.config.playbooks
    loaded = load_playbooks([playbook_dir(settings.directory)])
    if loaded.problems:
        raise ConfigError([f"playbooks: {problem}" for problem in loaded.problems])
    service = PlaybookService(
        db=services.db,
        clock=services.clock,
        outbox=services.outbox,
        config=services.config,
        playbooks=loaded,
        settings=settings,
        scope=services.scope,
    )
    services.extra["playbooks"] = service
    crisis.register(services.registry)
    app.scheduler.add_job(
        service.tick,
        "interval",
        seconds=settings.reminder_interval_seconds,
        id="crisis-reminders",
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )
    log.info("playbooks: %d loaded from %s", len(loaded.playbooks), playbook_dir(settings.directory))
