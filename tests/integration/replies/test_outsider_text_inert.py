"""A commenter's words and name are shown as typed on every reply-queue card (audit of /reply-queue).

A comment (or an author name) reading "[官方客服](http://evil.example)" became a link labelled 官方客服 on
the queue card in Slack and Feishu: a disguised address the team could take for the bot's own. The text
goes through `messages.inert` wherever the queue quotes it; the address stays visible, as typed.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from bot.adapters.feishu.cards import card_content
from bot.adapters.slack.render import render_message
from bot.replies.models import ReplyQueueItem

from .conftest import ago, cmd, rec

BAIT = "[官方客服](http://evil.example)"


def _ingest_bait(bot, clock) -> int:
    bot.services.ingest.ingest_records([rec("bait", ago(clock, 10), f"退款请找 {BAIT} **加急**", author_name=BAIT)],
                                       source="test")
    with bot.services.db.session() as s:
        return s.exec(select(ReplyQueueItem.id).where(ReplyQueueItem.comment_id == "bait")).one()


def _assert_no_disguised_link(message) -> None:
    slack = json.dumps(render_message(message), ensure_ascii=False)
    feishu = json.dumps(json.loads(card_content(message)), ensure_ascii=False)
    assert "|官方客服>" not in slack, slack  # Slack's link syntax <url|label>
    assert "[官方客服](" not in feishu, feishu  # Feishu markdown's [label](url)
    assert "evil.example" in slack and "evil.example" in feishu  # the address stays visible
    assert "*加急*" not in slack.replace("**加急**", "")  # the commenter's ** is not bold either


def test_a_link_in_a_comment_or_its_author_name_shows_as_typed_on_the_queue_card(rq_bot, clock):
    _ingest_bait(rq_bot, clock)
    (card,) = rq_bot.dispatcher.handle(cmd("/reply-queue"))
    (section,) = card.sections
    assert "官方客服" in section.text and "evil.example" in section.text
    _assert_no_disguised_link(card)


def test_reminders_approvals_and_suggestions_quote_it_as_typed_too(make_bot, clock):
    bot = make_bot(replies={"approval": {"accounts": ["douyin:lanji_official"]}})
    item_id = _ingest_bait(bot, clock)
    (suggested,) = bot.dispatcher.handle(cmd(f"/reply-queue suggest {item_id}"))
    _assert_no_disguised_link(suggested)
    (approval,) = bot.dispatcher.handle(cmd(f"/reply-queue done {item_id} 您好，已私信您"))
    assert approval.sections, approval.text
    _assert_no_disguised_link(approval)
    clock.advance(timedelta(hours=3))
    assert bot.services.replies.overdue_reminders() == 1
    bot.services.outbox.drain()
    (reminder,) = [m for m in bot.console.messages("lanji") if (m.title or "").startswith("⏰")]
    _assert_no_disguised_link(reminder)


def test_a_chat_address_typed_in_a_comment_or_author_name_pings_nobody_from_the_queue_card(rq_bot, clock):
    """'slack:U0123ABCD' typed by a commenter became a mention on the card (the Slack port shows a handler's
    address as the person), notifying that team member; on Feishu 'feishu:ou_…' became a colleague's name."""
    typed = "找 slack:U0123ABCD 或 feishu:ou_abc123"
    rq_bot.services.ingest.ingest_records([rec("typed", ago(clock, 10), typed, author_name="slack:U0999ZZZZ")],
                                          source="test")
    (card,) = rq_bot.dispatcher.handle(cmd("/reply-queue"))
    slack = json.dumps(render_message(card), ensure_ascii=False)
    assert "<@U0123ABCD>" not in slack and "<@U0999ZZZZ>" not in slack and "U0123ABCD" in slack
    feishu = card_content(card, name_of=lambda user: "王芳")
    assert "王芳" not in feishu and "ou_abc123" in feishu
