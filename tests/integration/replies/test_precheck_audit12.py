"""/precheck audit (round 12) through the dispatcher: traditional characters and digit ranks are caught,
the rewording takes a contact's handle with it, and "--help" shows the usage instead of being checked."""

from __future__ import annotations

import pytest

from .conftest import cmd


def _body(reply) -> str:
    return reply.text + "\n" + "\n".join(s.text for s in reply.sections)


def test_traditional_characters_are_flagged_as_written(rq_bot):
    (reply,) = rq_bot.dispatcher.handle(cmd("/precheck 絕對有效，全網最好"))
    body = _body(reply)
    assert "**絕對**" in body and "**全網最好**" in body  # quoted as the person wrote them
    assert "> 有效，口碑不错" in reply.text and "絕對有效" not in reply.text.split("\n\n", 1)[1]


def test_a_digit_rank_is_flagged(rq_bot):
    (reply,) = rq_bot.dispatcher.handle(cmd("/precheck 第1名的面霜"))
    assert "未发现问题" not in reply.text and "必须修改" in reply.text
    assert "**第1**" in _body(reply)


@pytest.mark.parametrize(("draft", "reworded"), [
    ("ＶＸ：abc，微 信也行", "私信也行"),
    ("加我vx: abc123 或打138 1234 5678", "私信我们"),
    ("这款面霜最适合敏感肌，顶级品质，国家级认证", "这款面霜很适合敏感肌，高品质"),
])
def test_the_rewording_leaves_no_handle_and_no_doubled_word(rq_bot, draft, reworded):
    (reply,) = rq_bot.dispatcher.handle(cmd(f"/precheck {draft}"))
    assert f"> {reworded}\n" in reply.text + "\n"
    (again,) = rq_bot.dispatcher.handle(cmd(f"/precheck {reworded}"))
    assert "未发现问题" in again.text


@pytest.mark.parametrize("line", ["/precheck --help", "/precheck -h", "/precheck －－help", "/precheck help",
                                  "/help precheck"])
def test_help_flag_shows_the_usage(rq_bot, line):
    (reply,) = rq_bot.dispatcher.handle(cmd(line))
    assert "未发现问题" not in (reply.text or "")
    assert reply.title.startswith("/precheck — ")
    assert "/precheck 文本" in reply.text


def test_a_draft_mentioning_help_is_still_checked(rq_bot):
    (reply,) = rq_bot.dispatcher.handle(cmd("/precheck --help 全网最好"))
    assert "必须修改" in reply.text
