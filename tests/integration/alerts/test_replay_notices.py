"""`crisisbot backtest --comments`: what it prints is what would be posted, not every edit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from bot.alerts.cli import app

pytestmark = pytest.mark.slow


def test_a_notice_updated_with_counts_is_printed_once(tmp_path, monkeypatch):
    """A watched term posts one notice per window, then edits its count: the replay printed every edit
    as another 通知 NOTICE line (70 lines for one notice in a crisis hour)."""
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "crisisbot.yaml"
    config.write_text("alerts:\n  watch_terms: [{term: 过敏}]\n", encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(config))
    start = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    lines = [json.dumps({"platform": "douyin", "account_id": "acc", "content_id": "v1", "comment_id": f"c{i}",
                         "text": "用了就过敏，脸都红了", "created_at": (start + timedelta(minutes=2 * i)).isoformat()},
                        ensure_ascii=False) for i in range(10)]  # 20 minutes: one window, ten comments
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["backtest", "--comments", str(feed)])
    assert result.exit_code == 0, result.output
    notices = [line for line in result.output.splitlines() if "通知 NOTICE" in line and "过敏" in line]
    assert len(notices) == 1, notices


def test_a_replay_builds_no_scheduled_client_reports(tmp_path):
    """The replay prints alerts and notices; the config's client reports (charts included) were built for
    every simulated day and never shown, a large share of a backtest's time."""
    from sqlmodel import select

    from bot.alerts.replay import replay_feed
    from bot.config import parse_config
    from bot.storage.db import Database
    from bot.storage.models import OutboxMessage

    config = parse_config({"reports": {"schedules": [{"id": "hourly", "channel": "console:general",
                                                      "cron": "0 * * * *", "period": "1d"}]}}, source="test")
    start = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    records = [{"platform": "douyin", "account_id": "acc", "content_id": "v1", "comment_id": f"c{i}",
                "text": "今天几点直播", "created_at": start + timedelta(minutes=20 * i), "_t": start + timedelta(minutes=20 * i)}
               for i in range(12)]  # four hours: four report times
    for record in records:
        record["created_at"] = record["created_at"].isoformat()
    replay_feed(records, config=config, workdir=tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'replay.db'}")
    with db.session() as session:
        kinds = [(row.payload.get("meta") or {}).get("kind") for row in session.exec(select(OutboxMessage)).all()]
    db.dispose()
    assert "report" not in kinds
