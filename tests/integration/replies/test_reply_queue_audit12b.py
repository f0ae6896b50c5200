"""Audit 12b of /reply-queue, through the real dispatcher and console (and the fake reply webhook):

1. a reply the webhook refuses for good reopens the item AND shows it open again on the queue card;
2. a reply addressed to the account with a full-width ＠, in another case, or by account id is queued;
5. a typed skip needs a reason, as the 跳过 button does;
6. escalate respects other people's claims, is not repeated, and refuses closed items;
7. extra arguments, a repeated option and an unknown subcommand are refused and named;
8. --help / -h show the help;
9. the English line carries English only; the unknown-account hint names the client id; a negative
   comment shows its negative probability.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.config import parse_config
from bot.replies.models import ReplyQueueItem
from bot.storage.models import Comment
from tests.conftest import TEST_CONFIG

from .conftest import KeywordScorer, ago, cmd, own, press, rec
from .test_cards_in_place import _cards, _run, _section
from .test_replying import FakeReplyWebhook, webhook  # noqa: F401 - the fixture is used by name

BOB = {"user": "console:bob", "name": "bob"}
ERIN = {"user": "console:erin", "name": "erin"}


def _ids(db) -> dict[str, int]:
    with db.session() as s:
        return {i.comment_id: i.id for i in s.exec(select(ReplyQueueItem)).all()}


def _item(db, comment_id: str) -> ReplyQueueItem:
    with db.session() as s:
        return s.exec(select(ReplyQueueItem).where(ReplyQueueItem.comment_id == comment_id)).one()


def _one(bot, text: str, **who):
    (answer,) = bot.dispatcher.handle(cmd(text, **who))
    return answer


# ---- 1. a refused reply shows the item open again on its card --------------------------------------------
def test_a_reply_refused_for_good_reopens_the_item_on_its_card(make_bot, db, clock, webhook):  # noqa: F811
    bot = make_bot(replies={"posting": {"webhook_url": webhook.url}})
    bot.services.ingest.ingest_records([rec("q", ago(clock, 10)), rec("r", ago(clock, 20))], source="test")
    ids = _ids(db)
    _run(bot, "/reply-queue")
    webhook.statuses = [400]
    _run(bot, f'/reply-queue done {ids["q"]} "您好，请私信我们订单号"')  # queued, posted, refused
    bot.services.outbox.drain()
    assert _item(db, "q").state == "open"
    assert any("发布失败" in m.text for m in bot.console.messages("lanji"))
    (card,) = _cards(bot)
    line = _section(card.message, ids["q"])
    assert "已回复" not in line.text and line.buttons  # it said "✅ 已回复 · alice" with no buttons


# ---- 2. replies addressed to the account -------------------------------------------------------------
@pytest.mark.parametrize("text", ["＠澜肌官方旗舰店 在吗", "@lanji_official 在吗", "@LANJI_OFFICIAL 在吗",
                                  "＠lanji_official在吗"])
def test_a_reply_addressed_to_the_account_is_queued(rq_bot, db, clock, text):
    rq_bot.services.ingest.ingest_records(
        [rec("top", ago(clock, 30), "好用"), rec("re", ago(clock, 10), text, parent_id="top")], source="test")
    assert "re" in _ids(db)


def test_a_reply_to_someone_else_or_to_a_longer_id_is_not_queued(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records(
        [rec("top", ago(clock, 30), "好用"), rec("r1", ago(clock, 10), "@小红 我也觉得", parent_id="top"),
         rec("r2", ago(clock, 10), "@lanji_official2 你好", parent_id="top")], source="test")
    assert not {"r1", "r2"} & set(_ids(db))


def test_an_account_without_a_name_is_matched_by_its_id(db, settings, clock):
    from bot.app import build_app

    data = dict(TEST_CONFIG)
    data["accounts"] = [{**a, "name": ""} if a["account_id"] == "lanji_official" else a for a in TEST_CONFIG["accounts"]]
    app = build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False)
    app.services.ingest._scorer = lambda: KeywordScorer()
    try:
        app.services.ingest.ingest_records(
            [rec("top", ago(clock, 30), "好用"), rec("re", ago(clock, 10), "＠lanji_official 在吗", parent_id="top")],
            source="test")
        assert "re" in _ids(db)
    finally:
        app.stop()


def test_our_own_reply_still_answers_a_mention(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records(
        [rec("top", ago(clock, 30), "好用"), rec("re", ago(clock, 10), "＠澜肌官方旗舰店 在吗", parent_id="top")],
        source="test")
    rq_bot.services.ingest.ingest_records([own("ans", ago(clock, 5), "re")], source="test")
    assert _item(db, "re").state == "answered"


# ---- 5. a typed skip needs a reason ------------------------------------------------------------------
@pytest.mark.parametrize("verb", ["skip", "跳过"])
def test_a_typed_skip_without_a_reason_is_refused(rq_bot, db, clock, verb):
    rq_bot.services.ingest.ingest_records([rec("s", ago(clock, 10))], source="test")
    target = _ids(db)["s"]
    answer = _one(rq_bot, f"/reply-queue {verb} {target}")
    assert "跳过需要说明原因" in answer.text and f"/reply-queue skip {target} 原因" in answer.text
    assert _item(db, "s").state == "open"
    # a reason that shows nothing (a zero-width space, ideographic spaces, empty quotes) is no reason either
    for blank in ("\u200b", "\u3000\u3000", "“”"):
        answer = _one(rq_bot, f"/reply-queue {verb} {target} {blank}")
        assert "跳过需要说明原因" in answer.text and _item(db, "s").state == "open"
    answer = _one(rq_bot, f"/reply-queue {verb} {target} 广告")
    assert "已跳过" in answer.text and _item(db, "s").skip_reason == "广告"


# ---- 6. escalate ---------------------------------------------------------------------------------------
def test_escalating_an_item_claimed_by_someone_else_is_refused(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("e", ago(clock, 10), "用了过敏")], source="test")
    target = _ids(db)["e"]
    _one(rq_bot, f"/reply-queue claim {target}", **ERIN)
    answer = _one(rq_bot, f"/reply-queue escalate {target}", **BOB)
    assert f"⛔ #{target} 已被 erin 认领" in answer.text
    assert _item(db, "e").escalated_at is None
    assert rq_bot.services.playbooks.active_runs("console:lanji") == []
    # the holder may
    assert "已升级" in _one(rq_bot, f"/reply-queue escalate {target}", **ERIN).text


def test_escalating_twice_says_already_escalated_and_adds_nothing(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("e", ago(clock, 10), "用了过敏")], source="test")
    target = _ids(db)["e"]
    first = _one(rq_bot, f"/reply-queue escalate {target} 批次问题")
    (run,) = rq_bot.services.playbooks.active_runs("console:lanji")
    assert f"#{run.id}" in first.text
    for text, who in ((f"/reply-queue escalate {target}", BOB), (f"/reply-queue 升级 {target}", {})):
        answer = _one(rq_bot, text, **who)
        assert "已升级过" in answer.text and f"already escalated (run #{run.id})" in answer.text
    (pressed,) = rq_bot.dispatcher.handle(press(f"reply.escalate:{target}", str(target)))
    assert "已升级过" in pressed.text
    notes = [e.text for e in rq_bot.services.playbooks.timeline(run.id) if "升级评论" in e.text]
    assert len(notes) == 1


@pytest.mark.parametrize("close", ["/reply-queue skip {id} 广告", "/reply-queue done {id}"])
def test_escalating_a_closed_item_is_refused(rq_bot, db, clock, close):
    rq_bot.services.ingest.ingest_records([rec("e", ago(clock, 10), "用了过敏")], source="test")
    target = _ids(db)["e"]
    _one(rq_bot, close.format(id=target))
    answer = _one(rq_bot, f"/reply-queue escalate {target}", **BOB)
    assert answer.text.startswith(f"⛔ #{target} 已") and "不能升级" in answer.text and "cannot be escalated" in answer.text
    assert "alice" in answer.text
    assert _item(db, "e").escalated_at is None
    assert rq_bot.services.playbooks.active_runs("console:lanji") == []


# ---- 7. bad arguments ----------------------------------------------------------------------------------
@pytest.mark.parametrize("verb", ["claim", "认领", "release", "suggest"])
def test_a_second_number_is_refused_not_ignored(rq_bot, db, clock, verb):
    rq_bot.services.ingest.ingest_records([rec("a", ago(clock, 10)), rec("b", ago(clock, 20))], source="test")
    ids = _ids(db)
    answer = _one(rq_bot, f"/reply-queue {verb} {ids['a']} {ids['b']}")
    assert "多余的参数" in answer.text and str(ids["b"]) in answer.text
    assert _item(db, "a").claimed_by is None and _item(db, "b").claimed_by is None


@pytest.mark.parametrize("text", ["/reply-queue --limit 5 --limit 6", "/reply-queue --limit=5 --limit 6",
                                  "/reply-queue stats --since 7d --since 1d"])
def test_a_repeated_option_is_refused(rq_bot, db, clock, text):
    rq_bot.services.ingest.ingest_records([rec("a", ago(clock, 10))], source="test")
    answer = _one(rq_bot, text)
    assert "重复" in answer.text and "more than once" in answer.text


def test_one_limit_still_works(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("a", ago(clock, 10)), rec("b", ago(clock, 20))], source="test")
    assert len(_one(rq_bot, "/reply-queue --limit 1").sections) == 1
    assert len(_one(rq_bot, "/reply-queue lanji_official --mine --limit 5").sections) == 0


def test_an_unknown_subcommand_is_named(rq_bot):
    answer = _one(rq_bot, "/reply-queue frobnicate 1")
    assert "未知的子命令或账号 / unknown subcommand or account: frobnicate" in answer.text
    assert "claim" in answer.text and "escalate" in answer.text and "多余的参数" not in answer.text
    # a real account with a stray word still says which word is extra
    answer = _one(rq_bot, "/reply-queue lanji_official 1")
    assert "多余的参数" in answer.text and "未知的子命令" not in answer.text


# ---- 8. --help -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("flag", ["--help", "-h", "－－help"])
def test_help_flag_shows_the_help(rq_bot, flag):
    helped = _one(rq_bot, "/reply-queue help")
    answer = _one(rq_bot, f"/reply-queue {flag}")
    assert "未知选项" not in answer.text
    assert answer.text == helped.text and answer.title == helped.title


# ---- 9. wording ------------------------------------------------------------------------------------------
def test_the_english_line_of_an_item_answered_in_the_app_is_english(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("q", ago(clock, 10))], source="test")
    target = _ids(db)["q"]
    rq_bot.services.ingest.ingest_records([own("ans", ago(clock, 5), "q")], source="test")
    answer = _one(rq_bot, f"/reply-queue done {target}")
    zh, en = answer.text.split("\n")
    assert "品牌账号在平台内回复" in zh
    # the account's name is a name; apart from it the English line is English
    assert "answered in the app" in en and not any("\u4e00" <= ch <= "\u9fff" for ch in en.replace("澜肌官方旗舰店", ""))


def test_the_unknown_account_hint_names_the_client_id(rq_bot):
    answer = _one(rq_bot, "/reply-queue nosuch")
    assert "未知账号 nosuch" in answer.text and "客户ID" in answer.text and "client id" in answer.text


def test_a_negative_comment_shows_its_negative_probability(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec("n", ago(clock, 10), "用了过敏，退款")], source="test")
    with db.session() as s:
        row = s.exec(select(Comment).where(Comment.comment_id == "n")).one()
        row.sentiment_label, row.sentiment_score, row.sentiment_neg = "neg", 0.02, 0.94
        s.add(row)
    queue = _one(rq_bot, "/reply-queue")
    text = queue.text + "".join(s.text for s in queue.sections)
    assert "负面概率 P(neg) 0.94" in text and "P(pos)" not in text


# ---- review: an escalation that failed can be pressed again ---------------------------------------------------
def test_an_escalation_the_playbooks_refused_can_be_tried_again(make_bot, db, clock):
    """The item was marked escalated before the playbooks were asked; when they refused (here: bob may not
    start a run), every later press answered "已升级过" although no run had it."""
    bot = make_bot(roles={"lead": ["console:lead"]}, playbooks={"permissions": {"start": ["lead"]}})
    bot.services.ingest.ingest_records([rec("e", ago(clock, 10), "用了过敏")], source="test")
    target = _ids(db)["e"]
    first = _one(bot, f"/reply-queue escalate {target}", **BOB)
    assert "失败" in first.text and not bot.services.playbooks.active_runs("console:lanji")
    second = _one(bot, f"/reply-queue escalate {target}", user="console:lead", name="lead")
    assert "已升级过" not in second.text, second.text
    assert len(bot.services.playbooks.active_runs("console:lanji")) == 1


def test_a_mention_ending_a_sentence_still_addresses_the_account(rq_bot, db, clock):
    # review: "." and "-" count as id characters, so "@lanji_official." was taken for a longer id
    ingest = rq_bot.services.ingest
    ingest.ingest_records([rec("root", ago(clock, 30))], source="test")
    ingest.ingest_records([rec("dot", ago(clock, 20), "谢谢 @Lanji_Official.", parent_id="root"),
                           rec("dash", ago(clock, 10), "@lanji_official-请回复", parent_id="root"),
                           rec("longer", ago(clock, 5), "@lanji_official.cn 在吗", parent_id="root")], source="test")
    queued = _ids(db)
    assert "dot" in queued and "dash" in queued and "longer" not in queued
