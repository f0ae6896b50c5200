"""Every module that declares SQLModel tables. Alembic and the test fixtures import them all.

Each feature keeps its tables in its own `models.py` and its own migration (down_revision = the
foundation's revision; `db upgrade` applies all heads), so features never edit each other's files.
"""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "bot.storage.models",
    "bot.sentiment.models",
    "bot.alerts.models",
    "bot.playbooks.models",
    "bot.replies.models",
    "bot.feeds.models",
    "bot.reports.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside the module must not be hidden
                raise
