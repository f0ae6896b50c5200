"""建议回复 and saved templates, /precheck, stats on a fixture history, overdue reminders."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.replies.models import ReplyQueueItem, SavedReplyTemplate

from .conftest import ago, cmd, own, press, rec


def item_id(db, comment_id: str) -> int:
    with db.session() as s:
        return s.exec(select(ReplyQueueItem.id).where(ReplyQueueItem.comment_id == comment_id)).one()


def test_suggest_then_use_a_suggestion(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10), "用了面霜过敏了，脸又红又痒", author_name="小鹿")],
                                          source="test")
    target = item_id(db, "q")
    (suggested,) = rq_bot.dispatcher.handle(press(f"reply.suggest:{target}", str(target)))
    first = suggested.sections[0]
    assert "过敏" in first.text and "小鹿您好" in first.text
    use = first.buttons[0]
    assert use.action_id.startswith("reply.use:")
    (done,) = rq_bot.dispatcher.handle(press(use.action_id, use.value))
    assert "已记录为已回复" in done.text and "停用产品" in done.text


def test_save_a_reply_as_a_template_and_get_it_suggested(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([
        rec("a", ago(clock, 10), "下次做个螺蛳粉吧", platform="bilibili", account_id="xiaochu_kitchen"),
        rec("b", ago(clock, 5), "螺蛳粉什么时候安排", platform="bilibili", account_id="xiaochu_kitchen"),
    ], source="test")
    (saved,) = rq_bot.dispatcher.handle(cmd(
        f'/reply-queue save-template 螺蛳粉预告 "{{author_name}}您好，螺蛳粉菜谱下周上线～" --item {item_id(db, "a")} '
        "--topics 螺蛳粉", channel="console:xiaochu"))
    assert "已保存模板" in saved.text
    (suggested,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue suggest {item_id(db, 'b')}", channel="console:xiaochu"))
    assert "螺蛳粉菜谱下周上线" in suggested.sections[0].text
    # Saved templates belong to their account: lanji does not get it.
    rq_bot.services.ingest.ingest_records([rec("c", ago(clock, 5), "螺蛳粉能用吗")], source="test")
    (other,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue suggest {item_id(db, 'c')}"))
    assert all("螺蛳粉菜谱" not in s.text for s in other.sections)
    # A template with a blocking term is refused.
    (refused,) = rq_bot.dispatcher.handle(cmd('/reply-queue save-template 坏模板 "全网第一好用，加微信"'))
    assert "禁用词" in refused.text
    with db.session() as s:
        assert len(s.exec(select(SavedReplyTemplate)).all()) == 1


def test_precheck_command(rq_bot):
    (reply,) = rq_bot.dispatcher.handle(cmd('/precheck 我们是行业第一，100%纯天然，点赞关注送小样，加VX领券'))
    body = reply.text + "".join(s.text for s in reply.sections)
    assert "必须修改" in body and "第一" in body and "100%" in body and "VX" in body
    assert "诱导" in body and "广告法" in body and "建议改写" in body
    (clean,) = rq_bot.dispatcher.handle(cmd("/precheck 您好，非常抱歉，请私信我们订单号"))
    assert "未发现问题" in clean.text
    (empty,) = rq_bot.dispatcher.handle(cmd("/precheck"))
    assert "用法" in empty.text


def test_stats_on_a_fixture_history(rq_bot, db, clock):
    """Four comments: answered in 10 and 30 minutes (in the feed and in the bot), one skipped, one overdue."""
    ingest = rq_bot.services.ingest
    service = rq_bot.services.replies
    start = clock.now()
    ingest.ingest_records([
        rec("fast", start - timedelta(minutes=300)),
        rec("slow", start - timedelta(minutes=300), "几点开播"),
        rec("skip", start - timedelta(minutes=300), "哈哈"),
        rec("late", start - timedelta(minutes=200), "用了过敏"),      # negative: 30-minute SLA, still open
        rec("lanji_prev", start - timedelta(days=30)),               # outside --since
    ], source="test")
    ingest.ingest_records([own("fast1", start - timedelta(minutes=290), "fast")], source="test")
    clock.set(start - timedelta(minutes=150))  # alice answers "slow" after 150 minutes: past the 120-minute SLA
    service.mark_replied(item_id(db, "slow"), user="console:alice", user_name="alice", channel="console:lanji")
    clock.set(start)
    service.skip(item_id(db, "skip"), user="console:bob", user_name="bob", channel="console:lanji", reason="无需回复")
    stats = service.stats(channel="console:lanji", since=start - timedelta(days=7))
    assert stats.open == 2 and stats.overdue == 2  # late, and lanji_prev (old)
    assert stats.responded == 2 and stats.skipped == 1
    assert stats.median_first_response == timedelta(minutes=80)
    assert stats.p90_first_response == timedelta(minutes=136)
    assert (stats.sla_met, stats.sla_total) == (1, 3)  # fast in SLA; slow late; late still open past SLA
    assert stats.per_responder["alice"] == {"replied": 1, "skipped": 0, "claimed": 0}
    assert stats.per_responder["bob"] == {"replied": 0, "skipped": 1, "claimed": 0}
    (reply,) = rq_bot.dispatcher.handle(cmd("/reply-queue stats --since 7d"))
    fields = {f.label: f.value for f in reply.fields}
    assert fields["待回复 Open"] == "2" and fields["首次响应中位数 Median first response"] == "1 小时 20 分钟 / 1 h 20 min"
    assert "alice" in reply.text and "33%" in fields["时限达成率 SLA compliance"]
    assert "自 2026-11-" in reply.text  # with the year: --since 400d reaches into another one
    (bad,) = rq_bot.dispatcher.handle(cmd("/reply-queue stats --since yesterday-ish"))
    assert "--since" in bad.text
    (other,) = rq_bot.dispatcher.handle(cmd("/reply-queue stats", channel="console:xiaochu"))
    assert {f.label: f.value for f in other.fields}["待回复 Open"] == "0"


def test_overdue_reminders_go_to_the_accounts_channel_once(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([
        rec("late", ago(clock, 20), "用了过敏"),
        rec("x", ago(clock, 100), "能做红烧肉吗", platform="bilibili", account_id="xiaochu_kitchen"),
    ], source="test")
    clock.advance(timedelta(minutes=180))  # both overdue now, while the bot watched
    rq_bot.services.ingest.ingest_records([rec("fresh", ago(clock, 5))], source="test")
    service = rq_bot.services.replies
    assert service.overdue_reminders() == 2
    rq_bot.services.outbox.drain()
    lanji = rq_bot.console.messages("lanji")
    assert len(lanji) == 1 and "逾期" in lanji[0].title and "用了过敏" in lanji[0].sections[0].text
    assert len(lanji[0].sections) == 1
    assert len(rq_bot.console.messages("xiaochu")) == 1
    # Not again within the repeat window; again after it.
    clock.advance(timedelta(minutes=20))
    assert service.overdue_reminders() == 0
    clock.advance(timedelta(minutes=50))
    assert service.overdue_reminders() == 2


def test_reminder_job_is_scheduled(rq_bot):
    job = rq_bot.wiring.scheduler.get_job("reply-queue-reminders")
    assert job is not None


def test_an_item_overdue_later_in_the_same_period_is_still_reminded(rq_bot, db, clock):
    # two processes (console beside serve) or two runs in one reminder period: the second run's items
    # must not be taken for a duplicate of the first run's message (they were marked reminded, unsent)
    rq_bot.services.ingest.ingest_records([rec("first", ago(clock, 10), "用了过敏"),
                                           rec("second", ago(clock, 9), "我要投诉")], source="test")
    service = rq_bot.services.replies
    clock.advance(timedelta(minutes=20, seconds=30))  # "first" is overdue now, "second" 60 s later
    assert service.overdue_reminders() == 1
    clock.advance(timedelta(seconds=60))  # same reminder period: "second" is overdue now
    assert service.overdue_reminders() == 1
    rq_bot.services.outbox.drain()
    texts = ["\n".join(s.text for s in m.sections) for m in rq_bot.console.messages("lanji")]
    assert len(texts) == 2 and "我要投诉" in texts[1]


def test_a_template_saved_in_a_clients_channel_is_never_offered_to_another_client(rq_bot, db, clock):
    """Without --item it was stored for "any account": lanji's template showed up in xiaochu's suggestions."""
    rq_bot.services.ingest.ingest_records([
        rec("l", ago(clock, 5), "这个多少钱"),
        rec("x", ago(clock, 5), "这个锅多少钱", platform="bilibili", account_id="xiaochu_kitchen"),
    ], source="test")
    answers = []
    for extra in ("", f" --item {item_id(db, 'l')} --all-accounts"):
        (saved,) = rq_bot.dispatcher.handle(cmd(f'/reply-queue save-template 澜肌价格 "澜肌面霜价格以商品页为准" --topics 多少钱{extra}'))
        assert "已保存模板" in saved.text
        answers.append(saved.text)
    (mine,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue suggest {item_id(db, 'l')}"))
    assert any("澜肌面霜价格" in s.text for s in mine.sections)
    (other,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue suggest {item_id(db, 'x')}", channel="console:xiaochu"))
    assert all("澜肌面霜价格" not in s.text for s in other.sections)
    with db.session() as s:
        keys = {t.account_key for t in s.exec(select(SavedReplyTemplate)).all()}
    assert keys == {"douyin:lanji_official"}
    assert all("适用账号：澜肌官方旗舰店" in text for text in answers)  # the answer says whose it is


def test_a_template_with_stray_braces_or_unknown_variables_is_refused(rq_bot, db, clock):
    """A stray brace was saved and then failed every suggestion of the account ("something went wrong")."""
    for text, expected in (("您好 {", "花括号不成对"), ("您好{foo}", "未知变量：foo"),
                           ("{author_name:>99}您好", "不能带格式")):
        (refused,) = rq_bot.dispatcher.handle(cmd(f'/reply-queue save-template 坏 "{text}" --topics 多少钱'))
        assert "模板未保存" in refused.text and expected in refused.text
    (saved,) = rq_bot.dispatcher.handle(cmd('/reply-queue save-template 好 "{author_name}您好，{{订单号}}请私信" --topics 多少钱'))
    assert "已保存模板" in saved.text
    with db.session() as s:
        assert [t.name for t in s.exec(select(SavedReplyTemplate)).all()] == ["好"]
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 5), "这个多少钱")], source="test")
    (suggested,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue suggest {item_id(db, 'q')}"))
    assert any("用户q您好，{订单号}请私信" in s.text for s in suggested.sections)


def test_a_stored_template_with_stray_braces_does_not_break_suggestions(rq_bot, db, clock):
    """Rows saved before the check existed: suggestions leave them out instead of failing."""
    with db.session() as s:
        s.add(SavedReplyTemplate(name="旧的", text="您好 {", topics=["多少钱"], account_key="douyin:lanji_official",
                                 created_by="console:alice", created_at=clock.now()))
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 5), "这个多少钱")], source="test")
    (suggested,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue suggest {item_id(db, 'q')}"))
    assert "建议回复" in suggested.title and suggested.sections
    assert all("您好 {" not in s.text for s in suggested.sections)


def test_saved_templates_are_listed_replaced_by_name_and_deleted_per_channel(rq_bot, db, clock):
    """Templates could be saved but not listed or deleted, and saving a name again added a second one."""
    rq_bot.services.ingest.ingest_records([rec("l", ago(clock, 5), "这个多少钱")], source="test")
    rq_bot.dispatcher.handle(cmd('/reply-queue save-template 价格 "价格以商品页为准" --topics 多少钱'))
    rq_bot.dispatcher.handle(cmd('/reply-queue save-template 价格 "{author_name}您好，价格以商品页为准哦" --topics 多少钱'))
    with db.session() as s:
        assert [t.text for t in s.exec(select(SavedReplyTemplate)).all()] == ["{author_name}您好，价格以商品页为准哦"]

    (listed,) = rq_bot.dispatcher.handle(cmd("/reply-queue templates"))
    assert "已保存的回复模板" in listed.title and "**价格**" in listed.text and "澜肌官方旗舰店" in listed.text
    assert "{author_name}您好，价格以商品页为准哦" in listed.text
    # another client's channel neither sees nor deletes it
    (other,) = rq_bot.dispatcher.handle(cmd("/reply-queue 模板", channel="console:xiaochu"))
    assert "还没有保存的模板" in other.text
    (refused,) = rq_bot.dispatcher.handle(cmd("/reply-queue delete-template 价格", channel="console:xiaochu"))
    assert "没有名为「价格」的模板" in refused.text

    (deleted,) = rq_bot.dispatcher.handle(cmd("/reply-queue 删除模板 价格"))
    assert "已删除模板「价格」" in deleted.text
    (suggested,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue suggest {item_id(db, 'l')}"))
    assert all("价格以商品页为准" not in s.text for s in suggested.sections)
    with db.session() as s:
        assert s.exec(select(SavedReplyTemplate)).all() == []


def test_a_template_saved_in_the_default_channel_stays_out_of_client_channels(rq_bot, db, clock):
    """The default channel sees the accounts of no client; its template was stored for "any account" and
    offered (and listed) in every client's channel, internal wording included."""
    rq_bot.services.ingest.ingest_records([
        rec("x", ago(clock, 5), "这个锅多少钱", platform="bilibili", account_id="xiaochu_kitchen"),
    ], source="test")
    (saved,) = rq_bot.dispatcher.handle(cmd('/reply-queue save-template 内部 "内部口径：价格以商品页为准" --topics 多少钱',
                                            channel="console:general"))
    assert "已保存模板" in saved.text
    (other,) = rq_bot.dispatcher.handle(cmd(f"/reply-queue suggest {item_id(db, 'x')}", channel="console:xiaochu"))
    assert all("内部口径" not in s.text for s in other.sections)
    (listed,) = rq_bot.dispatcher.handle(cmd("/reply-queue templates", channel="console:xiaochu"))
    assert "内部口径" not in listed.text
    (listed,) = rq_bot.dispatcher.handle(cmd("/reply-queue templates", channel="console:general"))
    assert "内部口径" in listed.text and "未归属客户的账号" in listed.text
