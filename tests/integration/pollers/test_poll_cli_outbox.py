"""`crisisbot poll SOURCE` leaves chat messages queued for `serve`, as `crisisbot ingest` does.

A one-shot command has no chat adapter that shows anything: delivering the outbox there marked console
messages sent that nobody saw (an announcement this poll found, and whatever earlier commands queued).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import yaml
from sqlmodel import select
from typer.testing import CliRunner

from bot.clock import SystemClock
from bot.messages import Message
from bot.outbox import Outbox
from bot.storage.models import OutboxMessage
from tests.fakes.platforms import FakeAnnouncements, rss


def _url(db) -> str:
    # The PostgreSQL fixture works in its own schema; the CLI reaches it through libpq's options.
    return db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"


def _statuses(db) -> dict[str, str]:
    with db.session() as session:
        return {m.key: m.status for m in session.exec(select(OutboxMessage))}


def test_poll_leaves_console_messages_queued_for_serve(db, tmp_path, monkeypatch):
    feed = FakeAnnouncements().start()
    try:
        config = {"default_channel": "console:general", "feeds": {"sources": [
            {"id": "rules", "type": "announcements", "base_url": feed.url + "/feed",
             "settings": {"platform_name": "抖音"}},
        ]}}
        path = tmp_path / "crisisbot.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("CRISISBOT_CONFIG", str(path))
        monkeypatch.setenv("CRISISBOT_DATABASE_URL", _url(db))
        from bot.cli import app

        runner = CliRunner()
        old = {"id": "old-1", "title": "旧规则", "url": "https://example.invalid/1",
               "published": "Mon, 02 Nov 2026 10:00:00 +0800"}
        feed.document = rss([old])
        first = runner.invoke(app, ["poll", "rules"])  # learns what exists, posts nothing
        assert first.exit_code == 0, first.output
        assert "放入发送队列" not in first.output

        # a notice an earlier command queued for the console channel (ingest leaves its notices queued)
        Outbox(db, SystemClock()).send(channel="console:general", message=Message(text="早先的风险提醒"),
                                       key="test:earlier-notice")
        feed.document = rss([{"id": "new-2", "title": "关于直播带货的新规", "url": "https://example.invalid/2",
                              "published": format_datetime(datetime.now(UTC))}, old])
        second = runner.invoke(app, ["poll", "rules"])
        assert second.exit_code == 0, second.output
        assert "1 条通知已放入发送队列，serve 运行时发送 / 1 notice(s) queued: serve delivers them" in second.output

        statuses = _statuses(db)
        announcements = [k for k in statuses if k.startswith("feeds:announcement:rules")]
        assert len(announcements) == 1, statuses
        # nothing was marked sent without being shown
        assert set(statuses.values()) == {"pending"}, statuses
        assert statuses["test:earlier-notice"] == "pending"
    finally:
        feed.stop()
