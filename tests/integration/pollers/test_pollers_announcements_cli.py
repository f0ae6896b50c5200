"""Announcement watch (RSS 2.0, Atom, JSON), the scheduler jobs, /sources, /metrics and the CLI."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from tests.fakes.platforms import FakeBilibili, atom, rss
from tests.integration.pollers.helpers import outbox

pytestmark = pytest.mark.slow


def notices(db, prefix: str = "feeds:announcement:rules") -> list:
    return [m for m in outbox(db) if m.key.startswith(prefix)]


def test_rss_items_are_posted_once_and_changed_items_again(make_bot, fakes, clock, db):
    feed = fakes["announcements"]
    feed.document = rss([{"id": "old-1", "title": "旧规则", "url": "https://example.invalid/1",
                          "published": "Mon, 02 Nov 2026 10:00:00 +0800"}])
    app = make_bot()
    service = app.services.sources
    assert service.poll("rules").status == "ok"
    assert notices(db) == []  # the first run learns what exists instead of posting history

    feed.document = rss([
        {"id": "new-2", "title": "关于直播带货的新规", "url": "https://example.invalid/2",
         "published": "Sun, 22 Nov 2026 19:00:00 +0800"},
        {"id": "old-1", "title": "旧规则", "url": "https://example.invalid/1", "published": "Mon, 02 Nov 2026 10:00:00 +0800"},
    ])
    clock.advance(600)
    service.poll("rules")
    clock.advance(600)
    service.poll("rules")
    posted = notices(db)
    assert len(posted) == 1
    assert posted[0].channel == "console:general"
    assert posted[0].payload["title"] == "平台规则更新: 关于直播带货的新规（抖音）"
    assert posted[0].payload["text"] == "平台规则更新: 关于直播带货的新规（抖音）\nhttps://example.invalid/2"
    assert "https://example.invalid/2" in posted[0].payload["text"]
    assert posted[0].payload["buttons"][0]["url"] == "https://example.invalid/2"

    feed.document = rss([{"id": "new-2", "title": "关于直播带货的新规(修订版)", "url": "https://example.invalid/2",
                          "published": "Sun, 22 Nov 2026 20:00:00 +0800"}])
    clock.advance(600)
    service.poll("rules")
    changed = notices(db)[1:]
    assert len(changed) == 1
    assert changed[0].payload["title"] == "平台规则更新: 关于直播带货的新规(修订版)（抖音，已修改）"
    assert changed[0].payload["text"].startswith("平台规则更新: 关于直播带货的新规(修订版)（抖音，已修改）\n")


def test_atom_and_json_feeds(make_bot, fakes, clock, db):
    feed = fakes["announcements"]
    feed.document = atom([{"id": "urn:a1", "title": "创作者规范", "url": "https://example.invalid/a1",
                           "published": "2026-11-20T08:00:00Z"}])

    def backfill_week(sources):
        sources[4]["backfill"] = "7d"

    app = make_bot(backfill_week)
    app.services.sources.poll("rules")
    assert [n.payload["title"] for n in notices(db)] == ["平台规则更新: 创作者规范（抖音）"]

    feed.document = json.dumps([
        {"id": "j1", "title": "评论区管理规则", "url": "https://example.invalid/j1", "published": "2026-11-22T10:00:00+08:00"},
        {"id": "urn:a1", "title": "创作者规范", "url": "https://example.invalid/a1", "published": "2026-11-20T08:00:00Z"},
    ], ensure_ascii=False).encode()
    clock.advance(600)
    app.services.sources.poll("rules")
    titles = [n.payload["title"] for n in notices(db)]
    assert titles[-1] == "平台规则更新: 评论区管理规则（抖音）"


def test_scheduler_jobs_sources_command_and_metrics(make_bot, fakes, clock, db):
    import httpx

    from tests.support.asgi_server import running_server

    def disable_weibo(sources):
        sources[2]["enabled"] = False

    app = make_bot(disable_weibo)
    jobs = {job.id for job in app.wiring.scheduler.get_jobs()}
    assert {"feeds-poll-bili", "feeds-poll-dy", "feeds-poll-ks", "feeds-poll-rules"} <= jobs
    assert "feeds-poll-wb" not in jobs

    fakes["bilibili"].add_reply("170001", 1, mid=2, uname="u", message="m", ctime=int(clock.now().timestamp()) - 5)
    app.services.sources.poll("bili")
    # /sources in the xiaochu channel shows only the sources it may see (bilibili:42 is not its account).
    reply = app.services.registry.commands["sources"].handler(
        _ctx(app, "console:general"), _parsed()
    )
    text = "\n".join(s.text for s in reply.sections)
    assert "bili [bilibili] 正常 ok" in text and "wb [weibo] 已停用 disabled" in text
    scoped = app.services.registry.commands["sources"].handler(_ctx(app, "console:lanji"), _parsed())
    scoped_text = "\n".join(s.text for s in scoped.sections)
    assert "dy [douyin]" in scoped_text and "bili" not in scoped_text

    with running_server(app.web) as url:
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
    assert 'crisisbot_feed_source_healthy{source="bili"} 1.0' in metrics
    assert 'crisisbot_feed_polls_total{outcome="ok",source="bili"}' in metrics


def _ctx(app, channel):
    from bot.handlers.registry import CommandContext
    from bot.messages import Command

    command = Command(platform="console", channel=channel, user="console:ops", text="/sources")
    return CommandContext(services=app.services, command=command)


def _parsed():
    from bot.handlers.registry import parse_command_line

    return parse_command_line("/sources")


def test_cli_sources_and_poll(tmp_path, monkeypatch, sqlite_db):
    fake = FakeBilibili().start()
    try:
        import time

        fake.add_reply("170001", 11, mid=3, uname="u", message="来自命令行", ctime=int(time.time()) - 30)
        config = {
            "default_channel": "console:general",
            "feeds": {"sources": [
                {"id": "bili-cli", "type": "bilibili", "account": {"platform": "bilibili", "account_id": "42"},
                 "targets": ["170001"], "base_url": fake.url, "enabled": False},
            ]},
        }
        path = tmp_path / "crisisbot.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("CRISISBOT_CONFIG", str(path))
        monkeypatch.setenv("CRISISBOT_DATABASE_URL", sqlite_db.url)
        from bot.cli import app

        runner = CliRunner()
        result = runner.invoke(app, ["poll", "bili-cli"])
        assert result.exit_code == 0, result.output
        assert "bili-cli: ok" in result.output and "新增 new 1" in result.output
        listed = runner.invoke(app, ["sources"])
        assert listed.exit_code == 0, listed.output
        assert "bili-cli [bilibili] 已停用 disabled" in listed.output
        as_json = runner.invoke(app, ["sources", "--json"])
        assert json.loads(as_json.output)[0]["accepted"] == 1
        unknown = runner.invoke(app, ["poll", "nope"])
        assert unknown.exit_code == 2
    finally:
        fake.stop()
