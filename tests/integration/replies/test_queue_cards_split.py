"""Every item /reply-queue promises reaches Slack and Feishu, each message within the platform's limits.

`/reply-queue --limit 50` said 前 50 条 but was one message: Slack's 50-block cap cut it to ~15 items
("…另有 104 块内容未显示"), and the Feishu card (93 KB, 751 components) was refused for good (30 KB, 200
components). The answer is now several cards of `render.ITEMS_PER_CARD` items, each a message of its own
(and refreshed in place on its own); the adapters only translate. Sent here through the real SDKs to the
local fakes, with the longest texts a card shows.
"""

from __future__ import annotations

import json
import re
import uuid

from bot.adapters.feishu.cards import MAX_COMPONENTS, component_count
from bot.adapters.feishu.port import FeishuChatPort
from bot.adapters.feishu.settings import FeishuSettings
from bot.adapters.slack.port import SlackChatPort
from bot.adapters.slack.render import BLOCKS_MAX, block_kit_problems
from tests.fakes.feishu_api import FakeFeishuApi
from tests.fakes.slack_api import VALID_BOT_TOKEN, FakeSlack

from .conftest import ago, cmd, rec

FEISHU_CARD_BYTES = 30 * 1024  # Feishu's limit on a card's content


def _long_backlog(clock, n: int) -> list[dict]:
    """n negative, risk-flagged comments with the longest texts a card quotes (clipped there)."""
    return [rec(f"c{i}", ago(clock, 200 + i), f"第{i}条：用了过敏烂脸，已经打12315投诉，要曝光维权，退款！" * 8,
                author_name="很长的昵称" * 20, like_count=12_000 + i, author_followers=9_999_999,
                content_title="新品面霜敏感肌实测" * 10,
                content_url="https://www.douyin.com/video/" + "7" * 19 + "?xsec_token=" + "a" * 260)
            for i in range(n)]


def _claim_ids(text: str) -> set[int]:
    return {int(m) for m in re.findall(r"reply\.claim:(\d+)", text)}


def test_fifty_items_reach_slack_and_feishu_in_cards_within_the_limits(rq_bot, clock):
    rq_bot.services.ingest.ingest_records(_long_backlog(clock, 60), source="test")
    answer = rq_bot.dispatcher.handle(cmd("/reply-queue --limit 50"))
    promised = {i for m in answer for i in m.meta["reply_queue_card"]["items"]}
    assert len(promised) == 50

    with FakeSlack() as slack:
        port = SlackChatPort(VALID_BOT_TOKEN, base_url=slack.base_url.rstrip("/"), sleep=lambda _s: None)
        for n, message in enumerate(answer):
            port.post("C1", message, idempotency_key=f"queue:{n}")
        posts = slack.successful("chat.postMessage")
        assert len(posts) == len(answer)
        delivered: set[int] = set()
        for post in posts:
            blocks = post.args["blocks"]
            assert len(blocks) <= BLOCKS_MAX, len(blocks)
            assert block_kit_problems(post.args) == []
            assert "未显示" not in json.dumps(blocks, ensure_ascii=False)  # nothing cut
            delivered |= _claim_ids(json.dumps(blocks))
        assert delivered == promised

    with FakeFeishuApi() as feishu:
        app_id = f"cli_{uuid.uuid4().hex[:12]}"
        if feishu.apps is not None:
            feishu.apps.setdefault(app_id, "secret")
        port = FeishuChatPort(FeishuSettings(app_id, "secret", domain=feishu.url))
        for n, message in enumerate(answer):
            port.post("oc_ops", message, idempotency_key=f"queue:{n}")
        cards = feishu.sent("oc_ops")
        assert len(cards) == len(answer)
        delivered = set()
        for sent in cards:
            assert len(sent.content.encode()) <= FEISHU_CARD_BYTES, len(sent.content.encode())
            assert component_count(sent.card["body"]) <= MAX_COMPONENTS
            delivered |= _claim_ids(sent.content)
        assert delivered == promised
    assert len(answer) == 10 and "待回复 60 条" in answer[0].text and "第 1–50 条" in answer[0].text, answer[0].text


def test_each_card_of_a_long_answer_is_refreshed_in_place_on_its_own(rq_bot, db, clock):
    rq_bot.services.ingest.ingest_records([rec(f"q{i}", ago(clock, 10 + i)) for i in range(12)], source="test")
    answer = rq_bot.dispatcher.handle(cmd("/reply-queue --limit 12"))
    assert [len(m.sections) for m in answer] == [5, 5, 2]
    rq_bot.services.outbox.drain()
    last = answer[-1].meta["reply_queue_card"]["items"][0]
    rq_bot.dispatcher.handle(cmd(f"/reply-queue claim {last}"))
    rq_bot.services.outbox.drain()
    cards = [e for e in (rq_bot.console.entries[i] for i in rq_bot.console.order)
             if (e.message.title or "").startswith("回复队列")]
    assert [c.updates for c in cards] == [0, 0, 1]
    refreshed = cards[-1].message
    assert "本卡 2 条中 2 条待回复，1 条已认领（本卡为第 11–12 条）" in refreshed.text, refreshed.text
