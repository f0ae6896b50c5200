"""Overdue reminders after an import of history, and how reminders name accounts (probe findings).

docs/alerts.md recommends importing a week of comments to seed the alert baseline. With
`replies.history_after_hours` off (the default: a fixture history must count in the queue and the SLA
figures), every unanswered comment of that import is in the queue past its deadline. Reminders used to
count them all and nag every hour ("有 2492 条评论超过回复时限 … 逾期 2 天 23 小时") although no one had
ever been late on them. They stay in the queue and the SLA figures; reminders count only the items that
became overdue while the bot was watching, and name the imported ones once, as a count.
"""

from __future__ import annotations

import copy
from datetime import timedelta

from bot.config import parse_config
from bot.messages import Command
from tests.conftest import TEST_CONFIG

from .conftest import KeywordScorer, ago, rec


def three_days(clock, n: int = 30) -> list[dict]:
    """Three days of history, none answered: what a baseline import through the webhook carries."""
    return [rec(f"old{i}", clock.now() - timedelta(hours=3 + i * 2), "用了过敏，要投诉" if i % 3 == 0 else "请问敏感肌能用吗")
            for i in range(n)]


def reminders(bot, channel: str = "lanji"):
    bot.services.outbox.drain()
    return [m for m in bot.console.messages(channel) if (m.title or "").startswith("⏰")]


def test_imported_history_is_queued_and_counted_but_never_reminded_about(rq_bot, clock):
    service = rq_bot.services.replies
    rq_bot.services.ingest.ingest_records(three_days(clock), source="webhook")

    # in the queue and the SLA figures, as issue #7 asks ...
    assert len(service.list_queue(channel="console:lanji", user="console:alice", overdue=True, limit=50)) == 30
    stats = service.stats(channel="console:lanji", since=clock.now() - timedelta(days=7))
    assert (stats.open, stats.overdue, stats.sla_total, stats.history) == (30, 30, 30, 0)

    # ... but no reminder: nobody was ever late on them, now or an hour later
    assert service.overdue_reminders() == 0
    clock.advance(timedelta(hours=2))
    assert service.overdue_reminders() == 0
    assert reminders(rq_bot) == []


def test_an_item_overdue_while_watched_is_reminded_and_history_is_named_once_as_a_count(rq_bot, clock):
    service = rq_bot.services.replies
    rq_bot.services.ingest.ingest_records(three_days(clock) + [rec("fresh", ago(clock, 10), "用了过敏")],
                                          source="webhook")
    clock.advance(timedelta(hours=1))  # "fresh" (30-minute deadline) is overdue now, while the bot watched
    assert service.overdue_reminders() == 1
    (reminder,) = reminders(rq_bot)
    assert "有 1 条评论超过回复时限" in reminder.text, reminder.text
    assert "另有导入的历史评论 30 条到达时已超时，未计入提醒" in reminder.text
    assert "30 imported comment(s) were already overdue on arrival" in reminder.text
    assert [s.text.split("\n")[1] for s in reminder.sections] == ["> 用了过敏 —— 用户fresh"]
    # the card, refreshed after the item is answered, counts as the reminder did (history left out)
    (item_id,) = reminder.meta["reply_queue_card"]["items"]
    rq_bot.dispatcher.handle(Command("console", "console:lanji", "console:alice", f"/reply-queue done {item_id}",
                                     user_name="alice", event_id="rh-done"))
    (reminder,) = reminders(rq_bot)
    assert "已没有超过回复时限的评论" in reminder.text, reminder.text


def test_reminders_name_an_account_without_a_configured_name_by_its_platform_and_id(make_bot, db, settings, clock):
    from bot.app import build_app

    data = copy.deepcopy(TEST_CONFIG)
    data["accounts"].append({"platform": "douyin", "account_id": "brand_new_acct", "client": "lanji"})
    bot = build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False)
    bot.services.ingest._scorer = lambda: KeywordScorer()
    try:
        bot.services.ingest.ingest_records([rec("n", ago(clock, 10), "用了过敏", account_id="brand_new_acct"),
                                            rec("l", ago(clock, 10), "用了过敏")], source="test")
        clock.advance(timedelta(hours=1))
        assert bot.services.replies.overdue_reminders() == 2
        by_title = {m.title: m for m in reminders(bot)}
        assert set(by_title) == {"⏰ 逾期未回复提醒 / Overdue replies · 抖音 brand_new_acct",
                                 "⏰ 逾期未回复提醒 / Overdue replies · 澜肌官方旗舰店"}
        nameless = by_title["⏰ 逾期未回复提醒 / Overdue replies · 抖音 brand_new_acct"]
        assert "douyin:" not in nameless.text + "".join(s.text for s in nameless.sections)
        assert "· 抖音 brand_new_acct ·" in nameless.sections[0].text
        named = by_title["⏰ 逾期未回复提醒 / Overdue replies · 澜肌官方旗舰店"]
        assert "· 抖音 澜肌官方旗舰店 ·" in named.sections[0].text
    finally:
        bot.stop()


def test_the_queue_names_an_account_without_a_configured_name_by_platform_and_id(db, settings, clock):
    # the reminders did; the /reply-queue answer's own heading still said "douyin:brand_new_acct"
    from bot.app import build_app

    data = copy.deepcopy(TEST_CONFIG)
    data["accounts"].append({"platform": "douyin", "account_id": "brand_new_acct", "client": "lanji"})
    bot = build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False)
    bot.services.ingest._scorer = lambda: KeywordScorer()
    try:
        bot.services.ingest.ingest_records([rec("n", ago(clock, 10), "用了过敏", account_id="brand_new_acct")],
                                           source="test")
        bot.dispatcher.handle(Command("console", "console:lanji", "console:alice", "/reply-queue douyin:brand_new_acct",
                                      user_name="alice", event_id="rq-nameless"))
        bot.services.outbox.drain()
        answer = bot.console.messages("lanji")[-1]
        shown = (answer.title or "") + answer.text + "".join(s.text for s in answer.sections)
        assert "抖音 brand_new_acct" in shown and "douyin:brand_new_acct" not in shown, shown
    finally:
        bot.stop()


def test_reply_queue_counts_carry_thousands_separators(rq_bot, clock):
    from bot.replies.render import stats_message
    from bot.replies.service import ReplyStats

    stats = ReplyStats(since=clock.now() - timedelta(days=7), open=2639, overdue=1204, responded=12000,
                       sla_met=9876, sla_total=12345, history=4321)
    message = stats_message(stats, scope_text="澜肌护肤")
    fields = {f.label: f.value for f in message.fields}
    assert fields["待回复 Open"] == "2,639" and fields["逾期 Overdue"] == "1,204"
    assert fields["已回复 Responded"] == "12,000"
    assert "（9,876/12,345）" in fields["时限达成率 SLA compliance"]
    assert fields["历史评论（不计时限）History, no SLA"] == "4,321"


def test_queue_cards_show_likes_as_the_reports_do(rq_bot, clock):
    from bot.replies.render import item_section

    rq_bot.services.ingest.ingest_records([rec("liked", ago(clock, 5), like_count=2639),
                                           rec("viral", ago(clock, 5), like_count=12_000)], source="test")
    shown = {e.comment.comment_id: item_section(e.item, e.comment, now=clock.now(), score=e.score, overdue=False,
                                                account_name="澜肌官方旗舰店").text
             for e in rq_bot.services.replies.list_queue(channel="console:lanji", user="console:alice")}
    assert "👍 2,639" in shown["liked"] and "👍 1.2万" in shown["viral"]  # 万 from ten thousand on, as before
