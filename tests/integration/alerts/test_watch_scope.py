"""/watch between two clients' channels: a term one team watches without --account covers its own
accounts only, and another client's channel neither sees nor removes it (README: a client channel sees
only its client's accounts)."""

from __future__ import annotations

from sqlmodel import select

from bot.app import build_app
from bot.config import parse_config
from bot.messages import Command
from bot.storage.models import OutboxMessage

LANJI = {"platform": "douyin", "account_id": "lanji_official"}
XIAOCHU = {"platform": "bilibili", "account_id": "xiaochu_kitchen"}


def _record(account, comment_id, text, at):
    return {**account, "content_id": "v1", "comment_id": comment_id, "text": text, "created_at": at.isoformat()}


def test_a_term_watched_in_one_client_channel_stays_in_that_channel(db, settings, clock):
    config = parse_config({
        "accounts": [{**LANJI, "client": "lanji"}, {**XIAOCHU, "client": "xiaochu"}],
        "clients": [{"id": "lanji"}, {"id": "xiaochu"}],
        "channels": [{"id": "console:lanji", "client": "lanji"}, {"id": "console:xiaochu", "client": "xiaochu"}],
    }, source="test")
    app = build_app(settings, config, clock=clock, db=db, upgrade=False)
    events = iter(range(1, 1000))

    def run(text, channel):
        command = Command("console", channel, "console:alice", text, user_name="alice", event_id=f"e{next(events)}")
        return app.dispatcher.handle(command)

    try:
        added = run("/watch add 焦糊", "console:lanji")
        assert "本频道的全部账号" in added[0].text
        # the other client's channel neither lists nor removes it, and may watch the same word itself
        assert "焦糊" not in run("/watch list", "console:xiaochu")[0].text
        assert "没有找到" in run("/watch remove 焦糊", "console:xiaochu")[0].text
        assert "焦糊" in run("/watch list", "console:lanji")[0].text

        now = clock.now()
        app.services.ingest.ingest_records([_record(XIAOCHU, "x1", "锅底焦糊了", now),
                                            _record(LANJI, "l1", "面霜有股焦糊味", now)], source="test")
        app.services.outbox.drain()
        with db.session() as session:
            rows = session.exec(select(OutboxMessage)).all()
        notices = [r for r in rows if (r.payload.get("meta") or {}).get("kind") == "risk_notice"]
        assert [r.channel for r in notices] == ["console:lanji"]  # xiaochu's comment raised nothing

        run("/watch add 焦糊", "console:xiaochu")  # now xiaochu watches it too: its own watch, its own notices
        app.services.ingest.ingest_records([_record(XIAOCHU, "x2", "又焦糊了", now)], source="test")
        app.services.outbox.drain()
        with db.session() as session:
            rows = session.exec(select(OutboxMessage)).all()
        notices = [r for r in rows if (r.payload.get("meta") or {}).get("kind") == "risk_notice"]
        assert sorted(r.channel for r in notices) == ["console:lanji", "console:xiaochu"]
        assert "已取消" in run("/watch remove 焦糊", "console:xiaochu")[0].text
        assert "焦糊" in run("/watch list", "console:lanji")[0].text  # lanji's own watch is untouched
    finally:
        app.stop()


def test_an_empty_term_is_refused(bot, run_command):
    for line in ('/watch add ""', "/watch add 「　」"):
        assert "关键词为空" in run_command(line)[0].text
    assert "暂无" in run_command("/watch list")[0].text


def test_the_same_surge_declared_twice_is_one_surge(bot, run_command):
    line = "/watch surge lanji_official --from 2026-11-11T20:00 --until 2026-11-11T23:00 --factor 3"
    first, second = run_command(line)[0].text, run_command(line)[0].text
    number = first.split("#", 1)[1].split("：", 1)[0]
    assert f"#{number}：" in second


def test_a_batch_of_matching_comments_is_one_notice_message_not_one_per_comment(bot, clock, db, run_command):
    run_command("/watch add 过敏")
    now = clock.now()
    bot.services.ingest.ingest_records([_record(LANJI, f"b{i}", f"用了面霜过敏了 {i}", now) for i in range(50)],
                                       source="test")
    bot.services.ingest.ingest_records([_record(LANJI, f"c{i}", f"我也过敏 {i}", now) for i in range(30)],
                                       source="test")
    with db.session() as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    notices = [r for r in rows if (r.payload.get("meta") or {}).get("kind") == "risk_notice"]
    per_channel = {}
    for r in notices:
        per_channel.setdefault(r.channel, []).append(r)
    assert per_channel and all(len(v) == 2 for v in per_channel.values())  # the post, then one update
    assert all("80 条" in v[-1].payload["text"] for v in per_channel.values())


def test_account_option_without_a_value_is_refused(bot, run_command):
    """"/watch add 退款 --account" added a watch for every account of the channel, as if --account had not
    been typed; "/watch remove 退款 --account" removed the channel-wide one."""
    for line in ("/watch add 退款 --account", "/watch add 退款 --account=", "/watch remove 退款 --account"):
        assert "--account 需要账号" in run_command(line, channel="console:lanji")[0].text
    assert "暂无" in run_command("/watch list", channel="console:lanji")[0].text
    run_command("/watch add 退款", channel="console:lanji")
    assert "--account 需要账号" in run_command("/watch remove 退款 --account", channel="console:lanji")[0].text
    assert "退款" in run_command("/watch list", channel="console:lanji")[0].text
