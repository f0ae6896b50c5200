"""Wires the playbook feature: the run service (`services.playbooks`), `/crisis`, the reminder job."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from bot.wiring import Wiring

log = logging.getLogger(__name__)


_FIND_CONFIG = object()  # playbook_dir's default: look up the config file the way load_all does


def playbook_dir(directory: str | None, config_path: Path | None | object = _FIND_CONFIG) -> Path:
    """The folder of playbook files.

    No `directory`: the bundled config/playbooks. A relative one is read from the config file's folder,
    like the reply templates, so the result does not depend on where the bot was started (it used to
    be the working directory, which silently loaded the repository's playbooks instead of the
    operator's). When that folder does not exist, the config file's parent folder is tried too: the
    shipped config says `config/playbooks`, written from the project folder that holds config/. A folder
    found in neither place is returned as read from the config file's folder and reported missing.
    `config_path` is the config file in use (None: no file); by default it is looked up from
    CRISISBOT_CONFIG / ./config/crisisbot.yaml."""
    from bot.playbooks.validate import default_playbook_dir

    if not directory:
        return default_playbook_dir()
    path = Path(directory).expanduser()
    if path.is_absolute():
        return path
    if config_path is _FIND_CONFIG:
        config_path = _current_config_path()
    if config_path is None:  # a directory set in code, not in a file: nothing else to be relative to
        return Path.cwd() / path
    config_dir = Path(str(config_path)).resolve().parent
    for base in (config_dir, config_dir.parent):
        if (base / path).is_dir():
            return base / path
    return config_dir / path


def _current_config_path() -> Path | None:
    from bot.config import load_settings, resolve_config_path

    settings, _problems = load_settings()  # a bad variable is `config check`'s to report
    return resolve_config_path(settings)


def wire(app: Wiring) -> None:
    """Load and validate the playbooks (a bad file stops the start with every problem listed), attach
    the service, register `/crisis` and its buttons, and add the reminder job."""
    from bot.config import ConfigError, resolve_config_path
    from bot.handlers import crisis
    from bot.playbooks.service import PlaybookService
    from bot.playbooks.validate import load_playbooks

    services = app.services
    settings = services.config.playbooks
    directory = playbook_dir(settings.directory, resolve_config_path(services.settings))
    loaded = load_playbooks([directory])
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
    # debug: every one-shot command (ingest, report, poll) builds the bot and printed this to stderr
    log.debug("playbooks: %d loaded from %s", len(loaded.playbooks), directory)
