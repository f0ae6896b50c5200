"""Generate a feature's alembic migration as its own branch off the foundation revision.

    python scripts/new_migration.py 0002 "alert tables"

Upgrades a scratch SQLite database to every current head, then autogenerates what the models add.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

from bot.storage.db import MIGRATIONS_DIR, Database


def main() -> None:
    rev_id, message = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'scratch.db'}"
        Database(url).upgrade()
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("sqlalchemy.url", url)
        command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id, head="0001", splice=True)


if __name__ == "__main__":
    main()
