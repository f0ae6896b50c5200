"""Commands taking an account name an unsupported platform as such, before the channel's scope (audit 12).

`/crisis start 负面舆情爆发 x --account tiktok:foo` answered "没有权限 / Not allowed：本频道不能查看账号
tiktok:foo": a permission no one could grant. Now every command that takes an account (`/crisis start
--account`, `/reply-queue [账号]`, `/reply-queue stats`, `/watch add|remove --account`, `/watch surge`)
says the platform is not supported and lists the supported ones. An account of a supported platform
the channel may not see is still refused as before.
"""

from __future__ import annotations

import pytest

from bot.config import PLATFORMS
from bot.scope import unsupported_platform

SUPPORTED = "支持的平台：douyin、kuaishou、bilibili、weibo、xiaohongshu"
SUPPORTED_EN = "supported: douyin, kuaishou, bilibili, weibo, xiaohongshu"


def test_unsupported_platform_names_the_platform_and_the_supported_ones():
    why = unsupported_platform("tiktok:foo")
    assert why is not None and why.startswith("不支持的平台 'tiktok'")
    assert SUPPORTED in why and SUPPORTED_EN in why
    assert all(unsupported_platform(f"{p}:x") is None for p in PLATFORMS)
    assert unsupported_platform(" Douyin :x") is None  # as ingestion reads it: trimmed, any case


@pytest.mark.parametrize("command", [
    "/crisis start 负面舆情爆发 面霜过敏 --account tiktok:foo",
    "/reply-queue tiktok:foo",
    "/reply-queue tiktok:foo --overdue",
    "/reply-queue stats tiktok:foo",
    "/watch add 过敏 --account tiktok:foo",
    "/watch remove 过敏 --account tiktok:foo",
    "/watch surge tiktok:foo --from 2026-11-23T20:00 --until 2026-11-23T22:00",
])
def test_a_command_on_an_unsupported_platform_says_so_instead_of_not_allowed(run_command, command):
    [reply] = run_command(command, channel="console:lanji")
    assert "不支持的平台 'tiktok'" in reply.text and SUPPORTED in reply.text, reply.text
    assert "没有权限" not in reply.text and "Not allowed" not in reply.text


@pytest.mark.parametrize("command", [
    "/crisis start 负面舆情爆发 面霜过敏 --account douyin:nobody",
    "/reply-queue douyin:nobody",
])
def test_an_account_of_a_supported_platform_outside_the_channel_is_still_not_allowed(run_command, command):
    [reply] = run_command(command, channel="console:lanji")
    assert "没有权限 / Not allowed" in reply.text and "不支持的平台" not in reply.text, reply.text
