"""`make run`'s first minutes, as a new user sees them (first-run audit):

- loading the sample history posted six daily reports (one of an empty day before the feed starts) and two
  reminders of 300-odd overdue comments into the terminal before anything said what the demo does: the
  history is now summed up in one line, and only the answers to what the person types meanwhile print;
- nothing said what to expect: a line now says where the sample crisis alert appears and about when;
- at 600x the alert recovered 30 s after it appeared, buttons gone before they could be tried: the replay
  slows down once the first alert is posted.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from bot.app import build_app
from bot.clock import FakeClock, ReplayClock
from bot.config import parse_config
from bot.messages import Command, Message
from bot.serve import (
    SPEED_AFTER_ALERT,
    DemoReplay,
    demo_expectation,
    load_sample_feed,
    withheld_history,
)

SHIPPED_CONFIG = Path(__file__).resolve().parents[3] / "config" / "crisisbot.yaml"
CST = "+08:00"


def comment(n: int, account: tuple[str, str], at: str, text: str = "请问这个适合敏感肌吗") -> dict:
    platform, account_id = account
    return {"platform": platform, "account_id": account_id, "content_id": "v1", "comment_id": f"c{n}",
            "text": text, "created_at": f"2026-11-20T{at}:00{CST}", "author_id": f"u{n}", "author_name": f"用户{n}"}


LANJI, XIAOCHU = ("douyin", "lanji_official"), ("bilibili", "xiaochu_kitchen")
# History is the first 60% of 08:20-09:45, to the end of its 5-minute replay step: up to 09:15, past the daily reports due at 09:00 (lanji's covers
# 11-19, before the first comment; xiaochu's the 24 h to 09:00) and the 30-minute reply deadline of the two
# risk-flagged comments (退货, 质量问题) of 08:20 and 08:25.
SMALL_FEED = [comment(1, LANJI, "08:20", "退货运费谁出啊"), comment(2, XIAOCHU, "08:25", "涂层掉了一块，算质量问题吗"),
              comment(3, LANJI, "08:40"), comment(4, LANJI, "09:30"), comment(5, XIAOCHU, "09:45")]


def demo_bot(db, settings, echo, real: FakeClock):
    config = parse_config(yaml.safe_load(SHIPPED_CONFIG.read_text(encoding="utf-8")), source="shipped")
    start = datetime.fromisoformat(SMALL_FEED[0]["created_at"]) - timedelta(minutes=5)
    clock = ReplayClock(start, speed=600, real=real)
    return build_app(settings, config, clock=clock, db=db, upgrade=False, console_echo=echo), clock


def test_the_history_is_summed_up_in_one_line_instead_of_posted(sqlite_db, settings):
    echo = io.StringIO()
    app, clock = demo_bot(sqlite_db, settings, echo, FakeClock(datetime(2026, 12, 1, tzinfo=UTC)))
    try:
        replay = DemoReplay(app, SMALL_FEED, clock)
        withheld = replay.load_history()
        # one report (xiaochu's; lanji's covers a day before the feed) and the reminders of both accounts
        assert withheld.counts == {"report": 1, "reminder": 2}, withheld.counts
        line, = echo.getvalue().splitlines()  # nothing of the history in the terminal but this line
        assert "已载入示例历史：3 条评论（至 11-20 09:15），其间的定时报告 1 份、逾期提醒 2 条已省略（可用 /报告、/待回复 查看）" in line
        assert "its 1 scheduled report(s), 2 overdue reminder(s) are not shown" in line
        # the reminders' next run (wall clock) is one interval away: the backlog is not posted right after
        job = app.wiring.scheduler.get_job("reply-queue-reminders")
        assert job.next_run_time - datetime.now(UTC) > timedelta(minutes=14)
        # the console port is back: what comes next prints
        app.console.post("console:lanji", Message(text="实时消息"), idempotency_key="k")
        assert "实时消息" in echo.getvalue()
    finally:
        app.stop()


def test_answers_to_what_is_typed_while_the_history_loads_still_print(sqlite_db, settings):
    echo = io.StringIO()
    app, _ = demo_bot(sqlite_db, settings, echo, FakeClock(datetime(2026, 12, 1, tzinfo=UTC)))
    try:
        with withheld_history(app, feed_start=datetime(2026, 11, 20, tzinfo=UTC)) as withheld:
            with app.services.db.session() as session:
                app.services.outbox.enqueue(session, channel="console:lanji", key="notice-1",
                                            message=Message(title="示例历史提示", meta={"kind": "risk_notice"}))
            app.dispatcher.handle(Command("console", "console:lanji", "console:operator", "/help",
                                          user_name="operator", event_id="typed-1"))
            app.services.outbox.drain()
        assert "/reply-queue" in echo.getvalue()  # the /help answer
        assert "示例历史提示" not in echo.getvalue()
        assert withheld.counts == {"notice": 1}
    finally:
        app.stop()


def test_the_replay_slows_down_once_the_first_alert_is_posted(sqlite_db, settings, capsys):
    real = FakeClock(datetime(2026, 12, 1, tzinfo=UTC))
    app, clock = demo_bot(sqlite_db, settings, None, real)
    try:
        replay = DemoReplay(app, SMALL_FEED, clock)
        assert not replay.slow_down_after_alert() and clock.speed == 600
        app.console.post("console:lanji", Message(title="负面评论激增", meta={"kind": "alert"}), idempotency_key="a")
        before = clock.now()
        assert replay.slow_down_after_alert()
        assert clock.speed == SPEED_AFTER_ALERT
        assert clock.now() == before  # no jump in feed time
        real.advance(60)
        assert clock.now() == before + timedelta(seconds=60 * SPEED_AFTER_ALERT)
        assert "回放放慢到 10 倍速" in capsys.readouterr().out
    finally:
        app.stop()


def test_a_slower_replay_is_not_sped_up():
    real = FakeClock(datetime(2026, 12, 1, tzinfo=UTC))
    clock = ReplayClock(datetime(2026, 11, 20, tzinfo=UTC), speed=600, real=real)
    real.advance(10)
    clock.slow_to(1)
    real.advance(10)
    assert clock.now() == datetime(2026, 11, 20, tzinfo=UTC) + timedelta(seconds=6000 + 10)


def test_the_banner_says_where_and_about_when_the_sample_alert_appears():
    records = load_sample_feed()
    line = demo_expectation(records, "console:lanji", 600, console=True)
    assert line.startswith("示例危机告警约 1–2 分钟后出现在 #lanji，期间可试 /help、/待回复 / ")
    assert "appears in #lanji in about 1-2 minutes; meanwhile try /help, /reply-queue" in line
    # a slower replay says so (10.5 h of feed at 1x), and without the console there is nothing to type into
    slow = demo_expectation(records, "console:general", 1, console=False)
    assert slow.startswith("示例危机告警约 10 小时后出现在 #general / ") and "/help" not in slow


def test_the_sample_crisis_starts_when_the_demo_says():
    from bot.demo import SAMPLE_CRISIS_STARTS

    assert SAMPLE_CRISIS_STARTS in {r["created_at"] for r in load_sample_feed() if r["account_id"] == "lanji_official"}
