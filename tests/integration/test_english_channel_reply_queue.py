"""/reply-queue's answers in a channel set to English are English alone; a Chinese channel's read as before.

They used to be Chinese first with English after, in every channel: claim, release, done, skip, escalate,
suggest, approve/reject, templates and stats answers, their refusals, the queue cards' button answers, the
approval card, a queue card's items and buttons, and the notices of a posted reply refused or delayed.
Each family is run in both channels of one install (the English channel sees 澜肌's Douyin account, the
Chinese one 小厨's Bilibili account): the English answer must carry no Chinese outside what it quotes
(comments, reasons, reply texts, account names), the Chinese answer must be today's text exactly.

Real database, dispatcher and console port, as tests/integration/test_english_channel_replies.py; posted
replies go to the loopback receiver of tests/integration/replies/test_reply_webhook_audit14.py.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.config import parse_config
from bot.replies import render
from bot.replies.models import ReplyDraft, ReplyQueueItem
from tests.conftest import TEST_CONFIG
from tests.integration.replies.test_reply_webhook_audit14 import ScriptedReceiver

#: Chinese characters and Chinese (full-width) punctuation: none belongs in an English answer's own words
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
EN, ZH = "console:lanji", "console:xiaochu"
ACCOUNT = {EN: ("douyin", "lanji_official"), ZH: ("bilibili", "xiaochu_kitchen")}
APPROVER, BOB = "console:rita", "console:bob"
COMMENT = "这个面霜怎么用？"
#: what the answers quote as typed or as stored: the comment, a skip reason, a reply, a template, names
QUOTED = (
    COMMENT,
    "广告",
    "谢谢您的支持",
    "谢谢您",
    "支持",
    "澜肌官方旗舰店",
    "怎么用",
    "感谢",
    "全网最好",
    "太长",
)


@pytest.fixture
def app_config():
    data = copy.deepcopy(TEST_CONFIG)
    data["channels"] = [{"id": EN, "client": "lanji", "language": "en"}, {"id": ZH, "client": "xiaochu"}]
    data["roles"] = {"approver": [APPROVER]}
    data["replies"] = {
        "approval": {"accounts": ["douyin:lanji_official", "bilibili:xiaochu_kitchen"]},
        "history_after_hours": 72,
    }
    return parse_config(data, source="tests")


class Channel:
    """One channel of the install: typed commands and pressed buttons there, and a comment queued for it."""

    def __init__(self, bot, db, clock, run_command, press_button, channel: str):
        self.bot, self.db, self.clock, self.channel = bot, db, clock, channel
        self._run, self._press = run_command, press_button

    def item(self, hours: float = 0.2) -> int:
        """Queue a comment written `hours` ago on the channel's account; its item number."""
        platform, account = ACCOUNT[self.channel]
        comment_id = f"{self.channel}-{hours}"
        self.bot.services.ingest.ingest_records(
            [
                {
                    "platform": platform,
                    "account_id": account,
                    "content_id": "v1",
                    "comment_id": comment_id,
                    "text": COMMENT,
                    "created_at": (self.clock.now() - timedelta(hours=hours)).isoformat(),
                }
            ],
            source="test",
        )
        self.bot.services.outbox.drain()
        with self.db.session() as session:
            return session.exec(
                select(ReplyQueueItem.id).where(ReplyQueueItem.comment_id == comment_id)
            ).one()

    def draft(self) -> int:
        """The number of the newest reply draft (the typed approve / reject take it)."""
        with self.db.session() as session:
            return session.exec(select(ReplyDraft.id).order_by(ReplyDraft.id.desc())).first()

    def say(self, text: str, user: str = "console:alice"):
        [reply] = self._run(text, channel=self.channel, user=user)
        return reply

    def press(self, action: str, value: str = "", user: str = "console:alice", form: dict | None = None):
        [reply] = self._press(action, value, channel=self.channel, user=user, form=form)
        return reply


# ---- the reply families: each returns the answer to check, after what leads up to it ----------------------
def _claimed(ch):
    return ch.say(f"/reply-queue claim {ch.item()}")


def _claimed_by_other(ch):
    n = ch.item()
    ch.say(f"/reply-queue claim {n}", user=BOB)
    return ch.say(f"/reply-queue claim {n}")


def _claim_handled(ch):
    n = ch.item()
    ch.say(f"/reply-queue skip {n} 广告", user=BOB)
    return ch.say(f"/reply-queue claim {n}")


def _claim_history(ch):
    return ch.say(f"/reply-queue claim {ch.item(hours=100)}")


def _released(ch):
    n = ch.item()
    ch.say(f"/reply-queue claim {n}")
    return ch.say(f"/reply-queue release {n}")


def _release_not_held(ch):
    return ch.say(f"/reply-queue release {ch.item()}")


def _done_by_hand(ch):
    return ch.say(f"/reply-queue done {ch.item()}")


def _done_empty(ch):
    return ch.say(f'/reply-queue done {ch.item()} "  "')


def _done_blocked(ch):
    return ch.say(f'/reply-queue done {ch.item()} "我们的面霜是全网最好的"')


def _done_claimed_by_other(ch):
    n = ch.item()
    ch.say(f"/reply-queue claim {n}", user=BOB)
    return ch.say(f"/reply-queue done {n}")


def _done_handled(ch):
    n = ch.item()
    ch.say(f"/reply-queue done {n}", user=BOB)
    return ch.say(f"/reply-queue done {n}")


def _done_awaiting_approval(ch):
    return ch.say(f'/reply-queue done {ch.item()} "谢谢您的支持"')


def _done_while_a_draft_waits(ch):
    n = ch.item()
    ch.say(f'/reply-queue done {n} "谢谢您的支持"')
    return ch.say(f"/reply-queue skip {n} 广告")


def _approved(ch):
    n = ch.item()
    ch.say(f'/reply-queue done {n} "谢谢您的支持"')
    return ch.say(f"/reply-queue approve {ch.draft()}", user=APPROVER)


def _approve_own(ch):
    ch.say(f'/reply-queue done {ch.item()} "谢谢您的支持"')
    return ch.say(f"/reply-queue approve {ch.draft()}")


def _reject_not_approver(ch):
    ch.say(f'/reply-queue done {ch.item()} "谢谢您的支持"')
    return ch.say(f"/reply-queue reject {ch.draft()} 太长", user=BOB)


def _rejected(ch):
    ch.say(f'/reply-queue done {ch.item()} "谢谢您的支持"')
    return ch.say(f"/reply-queue reject {ch.draft()} 广告", user=APPROVER)


def _approve_decided(ch):
    ch.say(f'/reply-queue done {ch.item()} "谢谢您的支持"')
    ch.say(f"/reply-queue reject {ch.draft()} 广告", user=APPROVER)
    return ch.say(f"/reply-queue approve {ch.draft()}", user=APPROVER)


def _skipped(ch):
    return ch.say(f"/reply-queue skip {ch.item()} 广告")


def _skip_without_reason(ch):
    return ch.say(f"/reply-queue skip {ch.item()}")


def _escalated(ch):
    return ch.say(f"/reply-queue escalate {ch.item()}")


def _escalated_again(ch):
    n = ch.item()
    ch.say(f"/reply-queue escalate {n}", user=BOB)
    return ch.say(f"/reply-queue escalate {n}")


def _escalate_handled(ch):
    n = ch.item()
    ch.say(f"/reply-queue skip {n} 广告", user=BOB)
    return ch.say(f"/reply-queue escalate {n}")


def _escalate_claimed_by_other(ch):
    n = ch.item()
    ch.say(f"/reply-queue claim {n}", user=BOB)
    return ch.say(f"/reply-queue escalate {n}")


def _suggested(ch):
    return ch.say(f"/reply-queue suggest {ch.item()}")


def _template_saved(ch):
    return ch.say('/reply-queue save-template 感谢 "谢谢您的支持"')


def _template_empty(ch):
    return ch.say('/reply-queue save-template 感谢 "  "')


def _template_blocked(ch):
    return ch.say('/reply-queue save-template 感谢 "全网最好的面霜"')


def _template_bad_variable(ch):
    return ch.say('/reply-queue save-template 感谢 "谢谢{nobody}"')


def _templates_none(ch):
    return ch.say("/reply-queue templates")


def _templates_listed(ch):
    ch.say('/reply-queue save-template 感谢 "谢谢您的支持"')
    return ch.say("/reply-queue templates")


def _template_deleted(ch):
    ch.say('/reply-queue save-template 感谢 "谢谢您的支持"')
    return ch.say("/reply-queue delete-template 感谢")


def _template_not_there(ch):
    return ch.say("/reply-queue delete-template 感谢")


def _stats(ch):
    n = ch.item()
    ch.say(f"/reply-queue claim {n}")
    ch.say(f"/reply-queue skip {n} 广告")
    return ch.say("/reply-queue stats")


def _button_claim(ch):
    n = ch.item()
    return ch.press(f"reply.claim:{n}", str(n))


def _button_skip_without_reason(ch):
    n = ch.item()
    return ch.press(f"reply.skip:{n}", str(n))


def _button_suggestion_gone(ch):
    n = ch.item()
    return ch.press(f"reply.use:{n}:0", "no-such-template")


def _button_no_longer_active(ch):
    n = ch.item()
    return ch.press(f"reply.frobnicate:{n}", str(n))


FAMILIES = [
    pytest.param(
        _claimed,
        None,
        "🔒 #1 claimed by alice until 11-22 20:15.",
        ["🔒 alice 认领了 #2，至 11-22 20:15。\n#2 claimed by alice until 11-22 20:15."],
        id="claimed",
    ),
    pytest.param(
        _claimed_by_other,
        None,
        "⛔ #1 is already claimed by bob until 11-22 20:15. Pick another comment.",
        [
            "⛔ #2 已被 bob 认领（至 11-22 20:15），请选择其他评论。\n#2 is already claimed by bob until 11-22 20:15."
        ],
        id="claimed_by_other",
    ),
    pytest.param(
        _claim_handled,
        None,
        "#1 is already handled (bob).",
        ["#2 已处理（bob）。\n#2 is already handled (bob)."],
        id="claim_handled",
    ),
    pytest.param(
        _claim_history,
        None,
        "#1 is history (written 11-18 16:00, already past replies.history_after_hours when it arrived): it is not in the reply queue and has no deadline.",
        [
            "#2 是历史评论（写于 11-18 16:00，首次收到时已超过 replies.history_after_hours），不在回复队列中，没有回复时限。\n#2 is history (written 11-18 16:00, already past replies.history_after_hours when it arrived): it is not in the reply queue and has no deadline."
        ],
        id="claim_history",
    ),
    pytest.param(_released, None, "🔓 Released #1.", ["🔓 已放弃认领 #2。\nReleased #2."], id="released"),
    pytest.param(
        _release_not_held,
        None,
        "You do not hold #1.",
        ["#2 不是你认领的。\nYou do not hold #2."],
        id="release_not_held",
    ),
    pytest.param(
        _done_by_hand,
        None,
        "✅ #1 recorded as replied by hand.",
        ["✅ #2 已记录为已回复（人工回复）\n#2 recorded as replied by hand."],
        id="done_by_hand",
    ),
    pytest.param(
        _done_empty,
        None,
        "⚠️ The reply text is empty; #1 is unchanged. Type the reply, or /reply-queue done 1 alone if you replied on the platform yourself.",
        [
            '⚠️ 回复内容为空，未处理 #2。请输入：/reply-queue done 2 "回复内容"；已在平台上手动回复的，输入 /reply-queue done 2\nThe reply text is empty; #2 is unchanged. Type the reply, or /reply-queue done 2 alone if you replied on the platform yourself.'
        ],
        id="done_empty",
    ),
    pytest.param(
        _done_blocked,
        "⛔ Reply to #1 not posted",
        '⛔ 1 blocking finding(s): edit before posting as the brand.\n\nSuggested rewording:\n> 我们的面霜是口碑不错的\n\nEdit it, then send /reply-queue done 1 "NEW TEXT" again.',
        [
            "⛔ #2 的回复未发布 / Reply not posted",
            '⛔ 有 1 处必须修改，修改前不能以品牌身份发布。\n1 blocking finding(s): edit before posting as the brand.\n\n建议改写 / Suggested rewording：\n> 我们的面霜是口碑不错的\n\n修改后再发送 /reply-queue done 编号 "新内容"。',
            "⛔ 必须修改 / blocks · **全网最好** · 广告法绝对化用语 / Advertising Law absolute term\n原因：《广告法》第九条禁止使用“国家级”“最高级”“最佳”等绝对化用语，品牌账号公开回复同样视为商业宣传，可被处罚。\nWhy: Article 9 of China's Advertising Law bans absolute terms (national-level, highest, best); a brand's public reply counts as advertising.\n建议：删去排名和比较说法，如“口碑不错”“很受欢迎”",
        ],
        id="done_blocked",
    ),
    pytest.param(
        _done_claimed_by_other,
        None,
        "⛔ #1 is claimed by bob.",
        ["⛔ #2 已被 bob 认领，不能由你处理。\n#2 is claimed by bob."],
        id="done_claimed_by_other",
    ),
    pytest.param(
        _done_handled,
        None,
        "#1 is already handled (bob).",
        ["#2 已处理（bob）。\n#2 is already handled (bob)."],
        id="done_handled",
    ),
    pytest.param(
        _done_awaiting_approval,
        "Reply #1 awaiting approval",
        "alice wrote a reply; a second person with the approver role must approve it before it is posted:\n> 谢谢您的支持\nDraft 1: /reply-queue approve 1 to approve, /reply-queue reject 1 REASON to reject",
        [
            "待审批回复 #2 / Reply awaiting approval",
            "alice 写了回复，需要另一位「approver」审批后才会发布：\n> 谢谢您的支持\n草稿 2：/reply-queue approve 2 批准，/reply-queue reject 2 原因 驳回\nA reply needs a second person with the approver role before it is posted (draft 2: /reply-queue approve 2 or reject 2).",
            "**#2** 🟠 急 / urgent · B站 小厨科技官方 · 《v1》\n> 这个面霜怎么用？ —— 作者未知 / unknown author\n👍 0 · 12 分钟前 / ago · 情绪 负面（负面概率 P(neg) 0.47）\n⏳ 待审批 / awaiting approval（alice）",
            "批准 Approve",
            "驳回 Reject",
        ],
        id="done_awaiting_approval",
    ),
    pytest.param(
        _done_while_a_draft_waits,
        None,
        "⏳ #1 A reply (draft 1) awaits approval: /reply-queue approve 1 or reject 1 first",
        [
            "⏳ #2 已有回复（草稿 2）在等待审批：/reply-queue approve 2 或 reject 2 / a reply (draft 2) awaits approval: approve or reject it first"
        ],
        id="done_while_a_draft_waits",
    ),
    pytest.param(
        _approved,
        None,
        "✅ #1 recorded as replied by hand by alice: 谢谢您的支持",
        ["✅ #2 已记录为已回复（人工回复）：谢谢您的支持\n#2 recorded as replied by hand by alice."],
        id="approved",
    ),
    pytest.param(
        _approve_own,
        None,
        "⛔ You cannot approve your own reply: a second person must approve",
        ["⛔ 不能审批自己写的回复，需要另一位审批人 / a second person must approve"],
        id="approve_own",
    ),
    pytest.param(
        _reject_not_approver,
        None,
        "⛔ Needs the approver role",
        ["⛔ 需要 approver 角色 / needs the approver role"],
        id="reject_not_approver",
    ),
    pytest.param(
        _rejected,
        None,
        "↩️ The reply to #1 was rejected: 广告. It is back in the queue.",
        ["↩️ #2 的回复被驳回：广告，已放回队列。\nThe reply to #2 was rejected and is back in the queue."],
        id="rejected",
    ),
    pytest.param(
        _approve_decided,
        None,
        "Draft 1 (#1) is already handled (rita): This reply was already rejected.",
        [
            "草稿 2（#2）已处理（rita）：这条回复已被驳回 / this reply was already rejected。\nDraft 2 (#2) is already handled (rita)."
        ],
        id="approve_decided",
    ),
    pytest.param(_skipped, None, "⏭️ #1 skipped: 广告", ["⏭️ #2 已跳过：广告\n#2 skipped."], id="skipped"),
    pytest.param(
        _skip_without_reason,
        None,
        "⚠️ Skipping needs a reason; #1 was not skipped. Type: /reply-queue skip 1 REASON.",
        [
            "⚠️ 跳过需要说明原因，未跳过。请输入：/reply-queue skip 2 原因（例如 /reply-queue skip 2 广告，无需回复）。\nSkipping needs a reason; #2 was not skipped. Type: /reply-queue skip 2 REASON."
        ],
        id="skip_without_reason",
    ),
    pytest.param(
        _escalated,
        None,
        "⬆️ #1 escalated by alice\nStarted run #1 “Escalated comment: 这个面霜怎么用？” for this comment",
        [
            "⬆️ #2 已升级 / escalated by alice\n已启动预案 #2「评论升级：这个面霜怎么用？」/ started run #2 for this comment"
        ],
        id="escalated",
    ),
    pytest.param(
        _escalated_again,
        None,
        "#1 is already escalated by bob (run #1); not escalated again.",
        ["#2 已升级过（bob，预案 #2），未重复升级。\n#2 is already escalated (run #2)."],
        id="escalated_again",
    ),
    pytest.param(
        _escalate_handled,
        None,
        "⛔ #1 is already skipped (bob); it cannot be escalated.",
        ["⛔ #2 已跳过（bob），不能升级。\n#2 is already skipped (bob); it cannot be escalated."],
        id="escalate_handled",
    ),
    pytest.param(
        _escalate_claimed_by_other,
        None,
        "⛔ #1 is claimed by bob.",
        ["⛔ #2 已被 bob 认领，不能由你处理。\n#2 is claimed by bob."],
        id="escalate_claimed_by_other",
    ),
    pytest.param(
        _suggested,
        "Suggested replies #1",
        'Comment: 这个面霜怎么用？\nPick one to post (prechecked first), or edit it and use /reply-queue done 1 "TEXT".',
        [
            "建议回复 #2 / Suggested replies",
            '评论：这个面霜怎么用？\n选一条直接发布（会先自检），或修改后用 /reply-queue done 2 "内容"。\nPick one to post (prechecked first), or edit it and use /reply-queue done.',
            "**使用方法**（匹配 / matched：怎么用）\n> 亲您好～使用方法在商品详情页和说明书里都有写，有具体情况也可以私信我们，客服同学一对一帮您解答。",
            "**通用致歉**\n> 亲您好，非常抱歉给您带来不好的体验。麻烦私信我们具体情况，我们会认真核实并尽快给您答复。",
            "**通用答疑**\n> 亲您好～感谢提问！麻烦私信我们具体情况，客服同学会尽快为您解答。",
            "用这条回复 Use",
            "用这条回复 Use",
            "用这条回复 Use",
        ],
        id="suggested",
    ),
    pytest.param(
        _template_saved,
        None,
        "💾 Saved template '感谢' (topics: 谢谢您, 支持; accounts: 澜肌官方旗舰店); suggestions will offer it for these topics.",
        [
            "💾 已保存模板「感谢」（关键词：谢谢您、支持；适用账号：小厨科技官方）。\nSaved template '感谢' for 小厨科技官方; suggestions will offer it for these topics."
        ],
        id="template_saved",
    ),
    pytest.param(
        _template_empty,
        None,
        "⚠️ The template text is empty",
        ["⚠️ 模板内容不能为空 / the template text is empty"],
        id="template_empty",
    ),
    pytest.param(
        _template_blocked,
        None,
        "⚠️ The template has blocked terms: 全网最好; edit it, then save again",
        ["⚠️ 模板含有禁用词：全网最好，请修改后再保存 / blocked terms: 全网最好"],
        id="template_blocked",
    ),
    pytest.param(
        _template_bad_variable,
        None,
        "⚠️ Template not saved: unknown variable(s): nobody (known: account_name, author_name, brand, content_title, product, response_hours, service_hours, warranty, warranty_note)",
        [
            "⚠️ 模板未保存 / template not saved：未知变量：nobody（可用：account_name、author_name、brand、content_title、product、response_hours、service_hours、warranty、warranty_note）/ unknown variable(s): nobody"
        ],
        id="template_bad_variable",
    ),
    pytest.param(
        _templates_none,
        None,
        'No saved templates here yet (/reply-queue save-template NAME "TEXT")',
        ['本频道还没有保存的模板（/reply-queue save-template 名称 "内容"）/ no saved templates here yet'],
        id="templates_none",
    ),
    pytest.param(
        _templates_listed,
        "Saved reply templates (1)",
        "**感谢** (澜肌官方旗舰店; alice, 11-22 20:00)\n> 谢谢您的支持",
        [
            "已保存的回复模板 / saved reply templates（1）",
            "**感谢**（小厨科技官方；alice，11-22 20:00）\n> 谢谢您的支持",
        ],
        id="templates_listed",
    ),
    pytest.param(
        _template_deleted,
        None,
        "🗑 Deleted template '感谢' (1 account(s))",
        ["🗑 已删除模板「感谢」（1 个账号）/ deleted template '感谢' (1 account(s))"],
        id="template_deleted",
    ),
    pytest.param(
        _template_not_there,
        None,
        "❓ No template named '感谢' here (/reply-queue templates lists them)",
        [
            "❓ 本频道没有名为「感谢」的模板（/reply-queue templates 列出全部）/ no template named '感谢' here (/reply-queue templates lists them)"
        ],
        id="template_not_there",
    ),
    pytest.param(
        _stats,
        "Reply queue stats",
        "澜肌官方旗舰店, since 2026-11-15 20:00 Asia/Shanghai (UTC+08:00)\nResponded, skipped and claimed count actions taken in the window (on comments of any age); arrived and history count comments that reached the bot in it; open and overdue are the queue now; SLA compliance: first responses in the window within their deadline, deadlines passed unanswered in it count as misses.\n\nPer person:\n• alice: replied 0, skipped 1, claimed 1",
        [
            "回复队列统计 / Reply queue stats",
            "小厨科技官方，自 2026-11-15 20:00 Asia/Shanghai（UTC+08:00）起 / since then\n已回复、已跳过、认领按操作发生的时间计（评论可以更早）；新到评论、历史评论按评论到达机器人的时间计；待回复、逾期是现在的数；时限达成率：期间内的首次回复中按时的比例，期间内到期仍未回复的算未达成。\nResponded, skipped and claimed count actions taken in the window (on comments of any age); arrived and history count comments that reached the bot in it; open and overdue are the queue now; SLA compliance: first responses in the window within their deadline, deadlines passed unanswered in it count as misses.\n\n按处理人 / per person:\n• alice：回复 0，跳过 1，认领 1 / replied 0, skipped 1, claimed 1",
            "待回复 Open: 0",
            "逾期 Overdue: 0",
            "新到评论 Arrived: 1",
            "已回复 Responded: 0",
            "已跳过 Skipped: 1",
            "认领 Claimed: 1",
            "首次响应中位数 Median first response: —",
            "首次响应 P90 / p90 first response: —",
            "时限达成率 SLA compliance: —（0/0）",
        ],
        id="stats",
    ),
    pytest.param(
        _button_claim,
        None,
        "🔒 #1 claimed by alice until 11-22 20:15.",
        ["🔒 alice 认领了 #2，至 11-22 20:15。\n#2 claimed by alice until 11-22 20:15."],
        id="button_claim",
    ),
    pytest.param(
        _button_skip_without_reason,
        None,
        "⚠️ Skipping needs a reason; #1 was not skipped. Type: /reply-queue skip 1 REASON.",
        [
            "⚠️ 跳过需要说明原因，未跳过。请输入：/reply-queue skip 2 原因（例如 /reply-queue skip 2 广告，无需回复）。\nSkipping needs a reason; #2 was not skipped. Type: /reply-queue skip 2 REASON."
        ],
        id="button_skip_without_reason",
    ),
    pytest.param(
        _button_suggestion_gone,
        None,
        "That suggestion is gone; press Suggest again.",
        ["这条建议已不可用，请重新点 建议回复。\nThat suggestion is gone; ask again."],
        id="button_suggestion_gone",
    ),
    pytest.param(
        _button_no_longer_active,
        None,
        "This button is no longer active.",
        ["这个按钮已失效。\nThis button is no longer active."],
        id="button_no_longer_active",
    ),
]


def _whole(reply) -> list[str]:
    """Everything an answer says: title, text, sections, button labels, fields."""
    return [
        x
        for x in [
            reply.title,
            reply.text,
            *(s.text for s in reply.sections),
            *(b.label for b in reply.buttons),
            *(b.label for s in reply.sections for b in s.buttons),
            *(f"{f.label}: {f.value}" for f in reply.fields),
        ]
        if x
    ]


def _own_words(text: str) -> str:
    """`text` without what it quotes: quoted lines ("> …"), a precheck rule's configured suggestion, and the
    comment, reasons, reply and template texts, names and matched words (those stay as written)."""
    kept = [line for line in text.splitlines() if not line.startswith(("> ", "Suggestion: "))]
    text = "\n".join(kept)
    for part in sorted(QUOTED, key=len, reverse=True):
        text = text.replace(part, "")
    return text


@pytest.mark.parametrize(("family", "title_en", "text_en", "zh"), FAMILIES)
def test_an_answer_is_english_alone_in_an_english_channel_and_unchanged_in_a_chinese_one(
    bot, db, clock, run_command, press_button, family, title_en, text_en, zh
):
    english = family(Channel(bot, db, clock, run_command, press_button, EN))
    assert (english.title, english.text) == (title_en, text_en)
    chinese_left = [
        line for part in _whole(english) for line in _own_words(part).splitlines() if CJK.search(line)
    ]
    assert not chinese_left, _whole(english)
    # the same steps in the Chinese channel (its item and draft are #2: the English channel's came first)
    assert _whole(family(Channel(bot, db, clock, run_command, press_button, ZH))) == zh


def test_an_approval_card_decided_later_says_so_in_its_own_language(
    bot, db, clock, run_command, press_button
):
    for channel, name in ((EN, "lanji"), (ZH, "xiaochu")):
        ch = Channel(bot, db, clock, run_command, press_button, channel)
        ch.say(f'/reply-queue done {ch.item()} "谢谢您的支持"')
        ch.say(f"/reply-queue approve {ch.draft()}", user=APPROVER)
        [card] = [
            m
            for m in bot.console.messages(name)
            if m.buttons == () and "/reply-queue approve" in (m.text or "")
        ]
        if channel == EN:  # refreshed in place: the decision under the card, in the card's language
            assert card.text.endswith("\n\n✅ Approved by rita"), card.text
            assert not CJK.search(_own_words(card.text)), card.text
        else:
            assert card.text.endswith("\n\n✅ 已由 rita 批准 / approved by rita"), card.text


def test_a_queue_cards_items_and_buttons_are_english_alone_in_an_english_channel(
    bot, db, clock, run_command, press_button
):
    ch = Channel(bot, db, clock, run_command, press_button, EN)
    ch.say(f"/reply-queue claim {ch.item()}")
    [card] = run_command("/reply-queue", channel=EN)
    [section] = card.sections
    assert not CJK.search(_own_words(section.text)), section.text
    assert "🔒 claimed by you until 11-22 20:15" in section.text, section.text
    assert [b.label for b in section.buttons] == [
        "Claim",
        "Replied",
        "Skip",
        "Escalate",
        "Suggest",
        "Fix sentiment",
    ]


# ---- what becomes of a reply posted through the reply webhook -------------------------------------------
@pytest.fixture
def receiver():
    server = ScriptedReceiver()
    yield server
    server.close()


def _notices(bot, channel: str) -> list[str]:
    return [m.text for m in bot.console.messages(channel.partition(":")[2]) if (m.text or "")[:1] in "⚠⏳"]


class TestPostedReplies:
    """Replies posted to a loopback receiver (no approval): what becomes of one is told in the channel's language."""

    @pytest.fixture
    def app_config(self, receiver):
        data = copy.deepcopy(TEST_CONFIG)
        data["channels"] = [{"id": EN, "client": "lanji", "language": "en"}, {"id": ZH, "client": "xiaochu"}]
        data["replies"] = {"posting": {"webhook_url": receiver.url}}
        return parse_config(data, source="tests")

    def test_a_posted_refused_or_delayed_reply_is_told_in_english_alone_in_an_english_channel(
        self, bot, db, clock, receiver, run_command, press_button
    ):
        refused = {"Content-Type": "application/json"}
        for channel, number in ((EN, 1), (ZH, 2)):
            ch = Channel(bot, db, clock, run_command, press_button, channel)
            receiver.answers = [(422, refused, json.dumps({"error": "gone"}).encode())]
            assert (
                ch.say(f'/reply-queue done {ch.item()} "谢谢您的支持"').text
                == {
                    EN: "📤 The reply to #1 passed the precheck and is being posted:\n> 谢谢您的支持",
                    ZH: "📤 #2 的回复已通过自检，正在发布：\n> 谢谢您的支持\nThe reply to #2 passed the precheck and is being posted.",
                }[channel]
            )
            bot.services.outbox.drain()
            receiver.answers = [(503, {}, b"down")] * 2
            ch.say(f'/reply-queue done {number} "谢谢您的支持"')
            bot.services.outbox.drain()
            clock.advance(timedelta(minutes=15))
            bot.services.outbox.drain()  # still failing: the channel is told, once
            receiver.answers = []  # then posted, before the next channel's turn
            clock.advance(timedelta(minutes=15))
            bot.services.outbox.drain()
        en_refused, en_delayed = _notices(bot, EN)
        assert en_refused == (
            "⚠️ Posting the reply to #1 failed (refused by the receiver, not retried); it is back in the "
            "queue: HTTP 422: gone\n> 谢谢您的支持\n"
            'Edit it and send it again with /reply-queue done 1 "NEW TEXT".'
        )
        assert en_delayed.startswith("⏳ The reply to #1 has waited 15 min and is not posted yet"), en_delayed
        assert not CJK.search(_own_words(en_refused + en_delayed))
        zh_refused, zh_delayed = _notices(bot, ZH)
        assert zh_refused == (
            "⚠️ 回复 #2 发布失败（接收方拒绝，不会自动重试），已重新放回队列：HTTP 422: gone\n> 谢谢您的支持\n"
            '修改后重新发送：/reply-queue done 2 "新内容"\nPosting the reply to #2 failed (refused by the '
            "receiver, not retried); it is back in the queue: HTTP 422: gone. Edit it and send it again "
            'with /reply-queue done 2 "new text".'
        )
        assert zh_delayed.startswith("⏳ 回复 #2 已等待 15 分钟仍未发布：回复 webhook 暂时不可用（"), (
            zh_delayed
        )



# ---- the list itself, its cards refreshed in place, and the overdue reminder -----------------------------
# (each checks the Chinese channel first: today's text exactly, then the English channel's in English alone)
def _answer(ch, command: str) -> list:
    """Every card of the answer to `command` in the channel."""
    return ch._run(command, channel=ch.channel, user="console:alice")


def _card_items(card) -> list[int]:
    return list(render.card_info(card)["items"])


def _card_now(bot, channel: str, title: str):
    """The channel's card of that title as it reads now (refreshed in place)."""
    [card] = [m for m in bot.console.messages(channel.partition(":")[2]) if m.title == title]
    return card


def _no_chinese(*texts: str) -> None:
    left = [line for text in texts for line in _own_words(text).splitlines() if CJK.search(line)]
    assert not left, texts


def test_an_empty_queue_and_a_page_past_the_end_are_english_alone_in_an_english_channel(
    bot, db, clock, run_command, press_button
):
    answers = {}
    for channel in (ZH, EN):
        ch = Channel(bot, db, clock, run_command, press_button, channel)
        [empty] = _answer(ch, "/reply-queue --mine")
        ch.item(hours=100)  # kept out as history: the empty answer says so
        [history] = _answer(ch, "/reply-queue")
        ch.item()
        [past] = _answer(ch, "/reply-queue --unclaimed --page 3")
        answers[channel] = [(m.title, m.text) for m in (empty, history, past)]
    assert answers[ZH] == [
        ("回复队列 / Reply queue", "小厨科技官方：没有待回复的评论（我认领的 / mine） 🎉\nNothing waiting for a reply (mine)."),
        ("回复队列 / Reply queue", "小厨科技官方：没有待回复的评论 🎉\nNothing waiting for a reply.\n另有 1 条评论到达时已写于 "
                                "72 小时之前，存为历史，不在队列中 / 1 comment(s) already older than 72 h on arrival are "
                                "kept as history, not queued."),
        ("回复队列 / Reply queue", "小厨科技官方：待回复 1 条（未认领 / unclaimed），每页 5 条共 1 页，第 3 页没有评论。\n1 "
                                "unanswered (unclaimed): 1 page(s) of 5; page 3 is empty."),
    ]
    assert answers[EN] == [
        ("Reply queue", "澜肌官方旗舰店: nothing waiting for a reply (mine) 🎉"),
        ("Reply queue", "澜肌官方旗舰店: nothing waiting for a reply 🎉\n1 comment(s) already older than 72 h on "
                        "arrival are kept as history, not queued."),
        ("Reply queue", "澜肌官方旗舰店: 1 unanswered (unclaimed): 1 page(s) of 5; page 3 is empty."),
    ]
    _no_chinese(*(text for pair in answers[EN] for text in pair))


def test_a_queue_answer_on_two_cards_and_their_refreshed_summaries_are_english_alone_in_an_english_channel(
    bot, db, clock, run_command, press_button
):
    seen = {}
    for channel in (ZH, EN):
        ch = Channel(bot, db, clock, run_command, press_button, channel)
        items = [ch.item(hours=0.6 - i / 10) for i in range(6)]  # the first overdue (30 minutes for a question)
        cards = _answer(ch, "/reply-queue --limit 6")
        first, second = (_card_items(card) for card in cards)
        assert sorted(first + second) == sorted(items)
        ch.say(f"/reply-queue skip {second[0]} 广告")  # the second card: its only item handled
        ch.say(f"/reply-queue skip {first[0]} 广告")
        ch.say(f"/reply-queue claim {first[1]}")
        seen[channel] = [(m.title, m.text) for m in cards] + [
            (card.title, _card_now(bot, channel, card.title).text) for card in cards]
    assert seen[ZH] == [
        ("回复队列 / Reply queue（1/2）", "小厨科技官方：待回复 6 条，其中 **逾期 1 条**\n以下为全部 6 条（按优先级），分 2 张卡片\n"
                                     "6 unanswered, 1 overdue; all 6 below, by priority, on 2 cards"),
        ("回复队列 / Reply queue（2/2）", "小厨科技官方：第 6–6 条（第 2/2 张卡片）\nItems 6–6 (card 2 of 2)"),
        ("回复队列 / Reply queue（1/2）", "小厨科技官方：本卡 5 条中 4 条待回复，1 条已认领；1 条已处理（本卡为第 1–5 条）\n"
                                     "On this card: 4 of 5 unanswered, 1 claimed; 1 handled (items 1–5)"),
        ("回复队列 / Reply queue（2/2）", "小厨科技官方：本卡 1 条评论已全部处理 ✅（本卡为第 6–6 条）\n"
                                     "All 1 comment(s) on this card are handled (items 6–6)."),
    ]
    assert seen[EN] == [
        ("Reply queue (1/2)", "澜肌官方旗舰店: 6 unanswered, **1 overdue**\nAll 6 below, by priority, on 2 cards"),
        ("Reply queue (2/2)", "澜肌官方旗舰店: items 6–6 (card 2 of 2)"),
        ("Reply queue (1/2)", "澜肌官方旗舰店: 4 of 5 on this card unanswered, 1 claimed; 1 handled (items 1–5)"),
        ("Reply queue (2/2)", "澜肌官方旗舰店: all 1 comment(s) on this card are handled (items 6–6) ✅"),
    ]
    _no_chinese(*(text for pair in seen[EN] for text in pair))


class TestOverdueReminders:
    """The scheduled overdue reminder (and its card refreshed in place) in each channel's language."""

    @pytest.fixture
    def app_config(self):
        data = copy.deepcopy(TEST_CONFIG)
        data["channels"] = [{"id": EN, "client": "lanji", "language": "en"}, {"id": ZH, "client": "xiaochu"}]
        data["replies"] = {"reminders": {"max_items": 6}}  # six overdue: two cards (5 to a card)
        return parse_config(data, source="tests")

    def test_a_reminder_is_english_alone_in_an_english_channel_and_unchanged_in_a_chinese_one(
        self, bot, db, clock, run_command, press_button
    ):
        channels = {c: Channel(bot, db, clock, run_command, press_button, c) for c in (ZH, EN)}
        items = {c: [ch.item(hours=0.1 + i / 100) for i in range(6)] for c, ch in channels.items()}
        clock.advance(timedelta(minutes=25))  # past the 30 minutes of a question, while the bot watched
        for c, ch in channels.items():
            ch.say(f"/reply-queue claim {items[c][0]}")
        assert bot.services.replies.overdue_reminders() == 2
        bot.services.outbox.drain()
        posted = {c: [m for m in bot.console.messages(c.partition(":")[2]) if (m.title or "").startswith("⏰")]
                  for c in channels}
        reminders = {c: [(m.title, m.text) for m in posted[c]] for c in channels}
        # the claimed item's card (either: the cards are in priority order), and its items then
        held = {c: next(m for m in posted[c] if items[c][0] in _card_items(m)) for c in channels}
        for c, ch in channels.items():  # a skip refreshes the reminder's card in place: its summary anew
            ch.say(f"/reply-queue skip {items[c][0]} 广告")
        refreshed = {c: _card_now(bot, c, held[c].title).text for c in channels}
        shown = {c: len(_card_items(held[c])) for c in channels}

        assert reminders[ZH] == [
            ("⏰ 逾期未回复提醒 / Overdue replies · 小厨科技官方（1/2）",
             "小厨科技官方 有 6 条评论超过回复时限，按优先级最紧急的 6 条如下。输入 /reply-queue --overdue 查看全部。\n"
             f"已认领（请认领人尽快回复）：#{items[ZH][0]} alice\n6 comment(s) of 小厨科技官方 are past the reply SLA; "
             f"the 6 most urgent are below. Claimed: #{items[ZH][0]} alice."),
            ("⏰ 逾期未回复提醒 / Overdue replies · 小厨科技官方（2/2）",
             "小厨科技官方 逾期提醒（续，第 2/2 张卡片）\nOverdue reminder of 小厨科技官方, continued (card 2 of 2)"),
        ]
        assert refreshed[ZH] == (f"小厨科技官方 现有 5 条评论超过回复时限（本提醒中 1/{shown[ZH]} 条已处理）。输入 "
                                 f"/reply-queue --overdue 查看全部。\n5 comment(s) of 小厨科技官方 are past the reply SLA "
                                 f"now (1 of the {shown[ZH]} below handled).")
        assert reminders[EN] == [
            ("⏰ Overdue replies · 澜肌官方旗舰店 (1/2)",
             "6 comments of 澜肌官方旗舰店 are past the reply SLA; all of them are below. Type /reply-queue "
             f"--overdue to see them all.\nClaimed (holders, please reply soon): #{items[EN][0]} alice"),
            ("⏰ Overdue replies · 澜肌官方旗舰店 (2/2)", "Overdue reminder of 澜肌官方旗舰店, continued (card 2 of 2)"),
        ]
        assert refreshed[EN] == (f"5 comments of 澜肌官方旗舰店 are past the reply SLA now (1 of the {shown[EN]} "
                                 "below handled). Type /reply-queue --overdue to see them all.")
        _no_chinese(*(text for pair in reminders[EN] for text in pair), refreshed[EN])


class TestSeveralAccounts:
    """A channel of several accounts names them all in its answer: joined and labelled in its language."""

    @pytest.fixture
    def app_config(self):
        data = copy.deepcopy(TEST_CONFIG)
        data["channels"] = [{"id": EN, "client": "lanji", "language": "en"}, {"id": ZH, "client": "xiaochu"}]
        data["accounts"] += [{"platform": "kuaishou", "account_id": "lanji_ks", "client": "lanji"},  # no name
                             {"platform": "kuaishou", "account_id": "xiaochu_ks", "client": "xiaochu"}]
        return parse_config(data, source="tests")

    def test_the_accounts_an_answer_covers_are_named_in_the_channels_language(self, run_command):
        [zh] = run_command("/reply-queue", channel=ZH)
        assert zh.text == "小厨科技官方、快手 xiaochu_ks：没有待回复的评论 🎉\nNothing waiting for a reply."
        [en] = run_command("/reply-queue", channel=EN)
        assert en.text == "澜肌官方旗舰店, Kuaishou lanji_ks: nothing waiting for a reply 🎉"
