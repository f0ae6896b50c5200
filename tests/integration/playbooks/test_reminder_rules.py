"""Reminder rules as the docs state them: a waiting step is not reminded; the status nag counts from the last
/crisis note, and neither a snooze nor an escalated comment counts as a status update."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.playbooks.helpers import CrisisDriver

START = "/crisis start 负面舆情爆发 面霜过敏 --severity 1 --account douyin:lanji_official"


def _tick(d: CrisisDriver) -> list:
    before = len(d.channel_messages())
    d.service.tick()
    d.bot.services.outbox.deliver_due()
    return d.channel_messages()[before:]


def _reminded_steps(messages) -> str:
    return "\n".join(m.text for m in messages if "超时提醒" in (m.title or ""))


def test_a_step_waiting_for_the_steps_before_it_is_not_reminded(bot, clock):
    d = CrisisDriver(bot)
    d.run(START)
    clock.advance(timedelta(minutes=61))  # triage (15m) late; holding_statement (1h, after triage) waits
    text = _reminded_steps(_tick(d))
    assert "**triage**" in text
    assert "holding_statement" not in text
    d.run("/crisis done triage")
    text = _reminded_steps(_tick(d))  # no longer waiting: now it is late, and reminded
    assert "**holding_statement**" in text


def test_the_status_nag_counts_from_the_last_note(bot, clock):
    d = CrisisDriver(bot)
    d.run(START)  # severity 1: nag after 30 minutes without a note
    clock.advance(timedelta(minutes=10))
    d.run("/crisis note 已联系平台")
    clock.advance(timedelta(minutes=30))
    (first,) = [m for m in _tick(d) if "请更新进展" in (m.title or "")]
    assert "已有 30 分钟" in first.text
    clock.advance(timedelta(minutes=30))
    (second,) = [m for m in _tick(d) if "请更新进展" in (m.title or "")]
    assert "已有 1 小时没有进展" in second.text and "for 1 h:" in second.text


def test_snoozes_and_escalated_comments_do_not_silence_the_nag(bot, clock):
    d = CrisisDriver(bot)
    d.run(START)
    clock.advance(timedelta(minutes=20))
    d.press("crisis.snooze", "1:triage")
    message = d.service.escalate_comment(
        channel="console:lanji", account_key="douyin:lanji_official", platform="douyin", comment_id="c1",
        text="用了过敏，要投诉", user="console:bob",
    )
    assert "#1" in message
    clock.advance(timedelta(minutes=11))  # 31 minutes after the start, with no note
    nags = [m for m in _tick(d) if "请更新进展" in (m.title or "")]
    assert len(nags) == 1 and "已有 31 分钟" in nags[0].text
    timeline = d.text("/crisis timeline")
    assert "升级评论 / escalated comment douyin:c1" in timeline and "提醒推迟" in timeline


def test_a_default_title_carries_the_start_time_in_the_channels_zone(make_bot, clock):
    from tests.conftest import TEST_CONFIG

    channels = [dict(c) for c in TEST_CONFIG["channels"]]
    channels[0]["timezone"] = "Europe/London"  # console:lanji; the clock reads 12:00 UTC (20:00 in Shanghai)
    d = CrisisDriver(make_bot({"channels": channels}))
    d.run("/crisis start rumor")
    view = d.service.get(1)
    assert view.title.endswith("11-22 12:00"), view.title


def test_a_reminder_for_an_unassigned_role_says_how_to_assign_it(bot, clock):
    d = CrisisDriver(bot)
    d.run(START)
    clock.advance(timedelta(minutes=31))  # monitor + pause_content (运营, nobody assigned) are late
    text = _reminded_steps(_tick(d))
    assert "/crisis assign 运营 @" in text


def test_an_escalated_comment_is_quoted_as_typed_not_as_a_link(bot):
    d = CrisisDriver(bot)
    d.service.escalate_comment(
        channel="console:lanji", account_key="douyin:lanji_official", platform="douyin", comment_id="c2",
        text="退款找 [官方客服](http://evil.example)", user="console:bob",
    )
    timeline = d.text("/crisis timeline")
    assert "「退款找 ［官方客服］(http://evil.example)」" in timeline and "[官方客服](" not in timeline
    assert "[官方客服](" not in (d.service.get(1).title or "")
