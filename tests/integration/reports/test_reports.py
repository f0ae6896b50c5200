"""Client reports: on demand with /report, on a schedule, once per due time across restarts, scoped to
the channel's client; on SQLite and PostgreSQL with the real sentiment engine and a moved clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.config import parse_config
from bot.storage.models import OutboxMessage
from tests.conftest import TEST_CONFIG

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SCHEDULES = {
    "schedules": [
        {"id": "lanji-daily", "channel": "console:lanji", "cron": "0 9 * * *", "period": "1d"},
        {"id": "xiaochu-weekly", "channel": "console:xiaochu", "cron": "0 9 * * 1", "period": "7d"},
    ],
    "catch_up_hours": 12,
}


@pytest.fixture
def app_config():
    return parse_config({**TEST_CONFIG, "reports": SCHEDULES}, source="tests")


@pytest.fixture
def clock():
    from bot.clock import FakeClock

    # 2026-11-23 08:30 in Shanghai (a Monday).
    return FakeClock(datetime(2026, 11, 23, 0, 30, tzinfo=UTC))


def record(comment_id: str, account: tuple[str, str], text: str, created_at: datetime, likes: int = 0) -> dict:
    platform, account_id = account
    return {
        "platform": platform, "account_id": account_id, "content_id": "v1", "comment_id": comment_id,
        "text": text, "created_at": created_at.isoformat(), "like_count": likes,
        "content_url": f"https://example.com/{platform}/v1",
    }


LANJI = ("douyin", "lanji_official")
XIAOCHU = ("bilibili", "xiaochu_kitchen")


def seed(bot, clock) -> None:
    now = clock.now()
    records = [
        record("l-angry", LANJI, "用了过敏烂脸，太差了，要求退款，我要投诉！", now - timedelta(hours=3), likes=120),
        record("l-angry2", LANJI, "垃圾产品，过敏了，客服也不理人，退款！", now - timedelta(hours=2), likes=40),
        record("l-happy", LANJI, "很好用，回购第三次了，推荐", now - timedelta(hours=5)),
        record("l-old", LANJI, "上周买的，还行", now - timedelta(days=1, hours=2)),
        record("x-secret", XIAOCHU, "小厨这个锅质量太差，涂层掉了，要投诉", now - timedelta(hours=1), likes=999),
    ]
    report = bot.services.ingest.ingest_records(records, source="test")
    assert report.accepted == len(records)


def reports_in_outbox(db) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.key.like("report:%"))
                                 .order_by(OutboxMessage.id)).all())


def run_ticks(bot) -> None:
    for tick in bot.wiring.ticks:
        tick()


def test_report_command_shows_only_the_channels_client_with_a_chart(bot, clock, run_command):
    seed(bot, clock)
    [reply] = run_command("/report", channel="console:lanji")
    # the last 24 hours up to now ("/report 日报" is yesterday, the last whole day)
    assert "近 24 小时报告" in reply.title and "澜肌护肤" in reply.title
    assert "评论 / comments：3（" in reply.text  # the three lanji comments of the last day
    assert "澜肌官方旗舰店" in reply.text
    assert "用了过敏烂脸" in reply.text  # most-liked negative comment
    assert "小厨" not in reply.text and "涂层" not in reply.text  # the other client's data never shows
    assert reply.images and reply.images[0].png.startswith(PNG_MAGIC)
    [weekly] = run_command("/report 7d", channel="console:lanji")  # 7 days up to now (周报: the last ISO week)
    assert "近 7 天报告" in weekly.title and "评论 / comments：4（" in weekly.text


def test_report_quotes_as_negative_only_comments_that_lean_negative(bot, clock, run_command):
    now = clock.now()
    report = bot.services.ingest.ingest_records([
        record("l-tie", LANJI, "三连了，求抽奖[星星眼]", now - timedelta(hours=2), likes=900),  # neg, P(pos) > P(neg)
        record("l-angry", LANJI, "用了过敏烂脸，太差了，要求退款，我要投诉！", now - timedelta(hours=3), likes=120),
    ], source="test")
    assert report.accepted == 2
    [reply] = run_command("/report", channel="console:lanji")
    assert "用了过敏烂脸" in reply.text and "三连了" not in reply.text


def test_report_command_refuses_a_bad_period(bot, run_command):
    [reply] = run_command("/report 3x", channel="console:lanji")
    assert "周期无效" in reply.text


def test_scheduled_report_is_sent_once_per_due_time_across_restarts(bot, db, clock, settings, app_config):
    from bot.app import build_app

    seed(bot, clock)
    run_ticks(bot)
    assert reports_in_outbox(db) == []  # 08:30: the 09:00 report is not due yet
    clock.advance(timedelta(minutes=31))  # 09:01 Shanghai
    run_ticks(bot)
    sent = reports_in_outbox(db)
    assert [row.channel for row in sent] == ["console:lanji", "console:xiaochu"]
    assert sent[0].key == "report:lanji-daily:20261123T0100Z"
    clock.advance(timedelta(minutes=5))
    run_ticks(bot)
    assert len(reports_in_outbox(db)) == 2  # not again
    restarted = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    try:
        run_ticks(restarted)
        assert len(reports_in_outbox(db)) == 2  # a restart does not send it twice
    finally:
        restarted.stop()
    bot.services.outbox.drain()
    lanji = [m for m in bot.console.messages("lanji") if m.meta.get("kind") == "report"]
    assert len(lanji) == 1 and lanji[0].meta["comments"] == 3
    assert lanji[0].meta["end"] == "2026-11-23T01:00:00+00:00"


def test_a_report_missed_while_down_is_sent_late_but_not_after_the_catch_up_window(bot, db, clock):
    clock.set(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # 15:00 Shanghai: six hours late
    run_ticks(bot)
    keys = [row.key for row in reports_in_outbox(db)]
    assert "report:lanji-daily:20261123T0100Z" in keys
    clock.set(datetime(2026, 11, 24, 14, 0, tzinfo=UTC))  # 22:00 the next day: 13 hours late
    run_ticks(bot)
    keys = [row.key for row in reports_in_outbox(db)]
    assert "report:lanji-daily:20261124T0100Z" not in keys
    clock.set(datetime(2026, 11, 25, 1, 0, 30, tzinfo=UTC))  # the day after, on time
    run_ticks(bot)
    assert "report:lanji-daily:20261125T0100Z" in [row.key for row in reports_in_outbox(db)]


def hourly_bot(db, settings, clock):
    from bot.app import build_app

    config = parse_config({**TEST_CONFIG, "reports": {
        "schedules": [{"id": "lanji_hourly", "channel": "console:lanji", "cron": "0 * * * *", "period": "1h"}],
        "catch_up_hours": 12,
    }}, source="tests")
    return build_app(settings, config, clock=clock, db=db, upgrade=False)


def test_every_report_due_while_down_is_sent_after_a_restart_within_the_catch_up_window(db, clock, settings):
    """Down from 09:30 to 12:30: the 10:00, 11:00 and 12:00 reports are each sent once, oldest first."""
    bot = hourly_bot(db, settings, clock)
    try:
        clock.set(datetime(2026, 11, 23, 1, 0, 30, tzinfo=UTC))  # 09:00:30 Shanghai
        run_ticks(bot)
    finally:
        bot.stop()
    assert [row.key for row in reports_in_outbox(db)] == ["report:lanji_hourly:20261123T0100Z"]
    clock.set(datetime(2026, 11, 23, 4, 30, tzinfo=UTC))  # 12:30: three reports fell due meanwhile
    restarted = hourly_bot(db, settings, clock)
    try:
        run_ticks(restarted)
        run_ticks(restarted)
    finally:
        restarted.stop()
    assert [row.key for row in reports_in_outbox(db)] == [
        "report:lanji_hourly:20261123T0100Z", "report:lanji_hourly:20261123T0200Z",
        "report:lanji_hourly:20261123T0300Z", "report:lanji_hourly:20261123T0400Z",
    ]
    # never more than the window: down for a day, only the due times of the last 12 hours come back
    clock.set(datetime(2026, 11, 24, 4, 30, tzinfo=UTC))
    again = hourly_bot(db, settings, clock)
    try:
        run_ticks(again)
    finally:
        again.stop()
    late = [row.key for row in reports_in_outbox(db)][4:]
    assert late == [f"report:lanji_hourly:202611{d:02d}T{h:02d}00Z"
                    for d, h in [(23, 17), (23, 18), (23, 19), (23, 20), (23, 21), (23, 22), (23, 23),
                                 (24, 0), (24, 1), (24, 2), (24, 3), (24, 4)]]


def test_a_check_that_comes_late_does_not_skip_a_due_time(db, clock, settings):
    """The checks run about once a minute but drift; two due times between two checks are both sent."""
    from bot.app import build_app

    config = parse_config({**TEST_CONFIG, "reports": {
        "schedules": [{"id": "often", "channel": "console:lanji", "cron": "*/5 * * * *", "period": "1h"}],
        "check_every_seconds": 60,
    }}, source="tests")
    bot = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        clock.set(datetime(2026, 11, 23, 1, 4, 59, tzinfo=UTC))
        run_ticks(bot)  # 01:00 is sent
        clock.set(datetime(2026, 11, 23, 1, 10, 1, tzinfo=UTC))  # the check came after 01:05 and 01:10
        run_ticks(bot)
    finally:
        bot.stop()
    assert [row.key for row in reports_in_outbox(db)] == [
        "report:often:20261123T0100Z", "report:often:20261123T0105Z", "report:often:20261123T0110Z"]


def test_cli_report_writes_markdown_and_png_for_a_channel(sqlite_db, tmp_path, settings, app_config):
    from typer.testing import CliRunner

    from bot.app import build_app
    from bot.cli import app as cli
    from bot.clock import FakeClock

    now = datetime.now(UTC)
    bot = build_app(settings, app_config, clock=FakeClock(now), db=sqlite_db, upgrade=False)
    try:
        seed(bot, FakeClock(now))
    finally:
        bot.close()
    config = tmp_path / "c.yaml"
    config.write_text(
        "clients: [{id: lanji, name: 澜肌护肤}]\n"
        "accounts: [{platform: douyin, account_id: lanji_official, name: 澜肌官方旗舰店, client: lanji}]\n"
        "channels: [{id: 'console:lanji', client: lanji}]\n",
        encoding="utf-8",
    )
    env = {"CRISISBOT_DATABASE_URL": sqlite_db.url, "CRISISBOT_CONFIG": str(config)}
    result = CliRunner().invoke(cli, ["report", "--channel", "console:lanji", "--out", str(tmp_path / "out")], env=env)
    assert result.exit_code == 0, result.output
    [markdown_file] = list((tmp_path / "out").glob("report-*.md"))
    text = markdown_file.read_text(encoding="utf-8")
    assert text.startswith("# 近 24 小时报告 / report for the last 24 hours｜澜肌护肤｜") and "评论 / comments：3（" in text
    assert markdown_file.with_suffix(".png").read_bytes().startswith(PNG_MAGIC)
    # another period (or another channel) in the same minute gets its own files instead of overwriting
    weekly = CliRunner().invoke(cli, ["report", "--channel", "console:lanji", "--period", "7d", "--out",
                                      str(tmp_path / "out")], env=env)
    assert weekly.exit_code == 0, weekly.output
    names = sorted(f.name for f in (tmp_path / "out").glob("report-*.md"))
    assert len(names) == 2 and all(n.startswith("report-console-lanji-") for n in names)
    assert any("-1d-" in n for n in names) and any("-7d-" in n for n in names)
    by_name = CliRunner().invoke(cli, ["report", "--channel", "lanji"], env=env)  # as `console --channel` takes it
    assert by_name.exit_code == 0 and "澜肌护肤" in by_name.output
    unknown = CliRunner().invoke(cli, ["report", "--channel", "console:nowhere"], env=env)
    assert unknown.exit_code == 2 and "unknown channel" in unknown.output
    bad = CliRunner().invoke(cli, ["report", "--channel", "console:lanji", "--period", "3x"], env=env)
    assert bad.exit_code == 2
