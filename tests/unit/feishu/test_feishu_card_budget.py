"""Long texts on Feishu cards: several markdown elements split at line ends, the whole card under 30 KB."""

from __future__ import annotations

import json

from bot.adapters.feishu.cards import MAX_MARKDOWN_CHARS, card_content, render_card
from bot.messages import Message, Section

FEISHU_REQUEST_LIMIT = 30 * 1024


def _markdown(card: dict) -> list[str]:
    return [e["content"] for e in card["body"]["elements"] if e.get("tag") == "markdown"]


def _request_bytes(message: Message) -> int:
    content = card_content(message)
    return len(json.dumps({"receive_id": "oc_x", "msg_type": "interactive", "content": content,
                           "uuid": "h-" + "0" * 48}, ensure_ascii=False).encode())


def test_a_text_longer_than_one_element_is_split_at_line_ends_and_shown_whole():
    lines = [f"**第 {n} 条** [链接](https://e.x/{n}) " + "说明" * 30 for n in range(80)]
    card = render_card(Message(text="\n".join(lines)))
    texts = _markdown(card)
    assert len(texts) > 1
    assert all(len(t) <= MAX_MARKDOWN_CHARS for t in texts)
    assert "\n".join(texts).split("\n") == lines  # every line, whole, in order: no "**" or link torn


def test_a_card_too_big_for_feishu_is_cut_at_a_line_end_and_says_how_much_is_left_out():
    # "<" costs 5 bytes escaped ("&#60;") and a quote 4 in the request: a 6000-character cap per text let
    # cards like this one past 30 KB, which Feishu refuses whole
    lines = [f'{n:04d} <"客服"> 回复：' + "评论内容" * 10 for n in range(3000)]
    message = Message(title="长", text="\n".join(lines), sections=(Section(text="第二部分 / part two"),))
    assert 24 * 1024 < _request_bytes(message) < FEISHU_REQUEST_LIMIT  # cut to fit, not to nothing
    texts = _markdown(render_card(message))
    assert texts[-1] == "第二部分 / part two"  # the short section is kept; the long text gave up lines
    shown = "\n".join(texts[:-1]).split("\n")
    assert all(len(t) <= MAX_MARKDOWN_CHARS for t in texts)
    # its first lines, whole, then one line saying how many are left out
    assert shown[:-1] == [line.replace("<", "&#60;").replace(">", "&#62;") for line in lines[: len(shown) - 1]]
    assert shown[-1] == f"…（还有 {3000 - (len(shown) - 1)} 行未显示 / {3000 - (len(shown) - 1)} more lines not shown）"


def test_one_line_longer_than_an_element_is_cut_not_inside_an_escape():
    texts = _markdown(render_card(Message(text="评<" * 5000)))
    assert len(texts[0]) <= MAX_MARKDOWN_CHARS and texts[0].endswith("…")
    assert "&" not in texts[0].replace("&#60;", "")
