"""Outsiders' text (comments, author names) is inert in messages: no disguised links, no bold."""

from __future__ import annotations

from bot.adapters.feishu.cards import escape_markdown
from bot.adapters.slack.render import to_mrkdwn
from bot.messages import inert

PHISH = "垃圾产品要退款 [官方客服](http://evil.example) **加粗** ![img](http://evil.example/a.png)"


def test_a_link_written_in_a_comment_is_no_link_on_slack_or_feishu():
    quoted = inert(PHISH)
    assert quoted == "垃圾产品要退款 ［官方客服］(http://evil.example) ＊＊加粗＊＊ !［img］(http://evil.example/a.png)"
    assert "|官方客服>" in to_mrkdwn(PHISH)  # precondition: as written, Slack shows a disguised link
    assert "|官方客服>" not in to_mrkdwn(quoted) and "http://evil.example" in to_mrkdwn(quoted)
    assert "[官方客服](" not in escape_markdown(quoted)


def test_ordinary_comment_text_is_left_as_it_is():
    for text in ("好用[赞][微笑]", "“太差了”", "a_b c*d", "", "价格[比心] (真的)"):
        assert inert(text) == text
