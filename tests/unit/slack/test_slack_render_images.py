"""Markdown images in a text never become Slack's broken '!<file.png|…>' link (a review's chart line did)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.slack.render import render_message, to_mrkdwn, to_plain
from bot.messages import Message

CHART_LINE = "![负面占比 / negative share](crisis-1-negative-share.png)"


def test_an_image_line_with_a_file_name_shows_its_alt_text():
    assert to_mrkdwn(f"概要\n\n{CHART_LINE}\n\n待改进") == "概要\n\n负面占比 / negative share\n\n待改进"
    assert to_plain(CHART_LINE) == "负面占比 / negative share"


def test_an_image_without_alt_text_drops_its_line():
    assert to_mrkdwn("a\n![](chart.png)\nb") == "a\nb"


def test_an_image_at_a_web_address_becomes_a_link():
    assert to_mrkdwn("见 ![趋势](https://ex.com/t.png)") == "见 <https://ex.com/t.png|趋势>"


def test_no_block_of_a_message_with_a_chart_line_holds_an_image_link():
    shown = json.dumps(render_message(Message(title="复盘", text=f"# 复盘\n{CHART_LINE}")), ensure_ascii=False)
    assert "!<" not in shown and "![" not in shown


@given(st.text(alphabet="![]()ab.png /:", max_size=40))
def test_to_mrkdwn_never_makes_an_image_link(text):
    assert "!<" not in to_mrkdwn(text) or "!<" in text.replace("![", "")
