"""Top-level Chinese command names (/危机 状态) and a suggestion for a mistyped command.

Found outside-in on Feishu: "/危机 状态" got "未知命令 /危机" and no hint, although every subcommand has a
Chinese name (状态, 复盘, ...).
"""

from __future__ import annotations


def _text(replies) -> str:
    return "\n".join(m.text + "".join(s.text for s in m.sections) for m in replies)


def test_chinese_command_names_run_the_commands(run_command):
    assert "未知命令" not in _text(run_command("/危机 状态"))
    assert _text(run_command("/危机 状态")) == _text(run_command("/crisis status"))
    assert "未知命令" not in _text(run_command("/待回复"))
    assert "未知命令" not in _text(run_command("/报告 help"))
    assert "/crisis｜/危机" in _text(run_command("/help"))  # the help list names them


def test_an_unknown_command_suggests_the_closest_one(run_command):
    assert "/crisis" in _text(run_command("/crisi status")).split("Did you mean")[0].split("未知命令")[1]
    assert "是不是要输入 /reply-queue" in _text(run_command("/reply-queu"))
    assert "是不是要输入 /危机" in _text(run_command("/危急 状态"))  # one character off a Chinese name
    assert "是不是要输入" not in _text(run_command("/zzzzzz"))
