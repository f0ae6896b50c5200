"""Audit 12, findings 7, 8b and 8c on /crisis.

7: the run card, `/crisis status` and `/crisis timeline` showed "11-22 20:15" with no zone; only the
   review said "时间均为 Asia/Shanghai（UTC+08:00）". They now say it once each, in the review's words.
8b: durations kept only their two largest units, so the review said "超时 1 天 8 小时" for 1 d 8 h 55 min.
8c: the status nag said "已有 220 分钟没有进展更新" beside the card's "1 小时 30 分钟".
"""

from __future__ import annotations

from datetime import timedelta

from tests.integration.playbooks.helpers import CrisisDriver, flatten

START = "/crisis start 负面舆情爆发 面霜过敏 --severity 3 --account douyin:lanji_official"
NOTE = "时间均为 Asia/Shanghai（UTC+08:00） / all times in Asia/Shanghai"


def _tick(d: CrisisDriver) -> list:
    before = len(d.channel_messages())
    d.service.tick()
    d.bot.services.outbox.deliver_due()
    return d.channel_messages()[before:]


def test_card_status_and_timeline_name_their_zone_once(bot, clock):
    d = CrisisDriver(bot)
    d.run(START)
    card = flatten(d.card(1))
    assert card.count(NOTE) == 1 and card.count("Asia/Shanghai") == 2, card
    assert "启动 / Started: 11-22 20:00" in card  # 12:00 UTC
    status = flatten(d.run("/crisis status")[0])
    assert status.count(NOTE) == 1, status
    d.run("/crisis note 已联系平台")
    timeline = d.text("/crisis timeline")
    lines = timeline.splitlines()
    assert lines[1] == NOTE and timeline.count("Asia/Shanghai") == 2, lines  # first, not on every line
    assert "11-22 20:00 alice 启动" in lines


def test_the_zone_follows_the_channel(make_bot, clock):
    from tests.conftest import TEST_CONFIG

    channels = [dict(c) for c in TEST_CONFIG["channels"]]
    channels[0]["timezone"] = "Europe/London"  # console:lanji
    d = CrisisDriver(make_bot({"channels": channels}))
    d.run(START)
    assert "时间均为 Europe/London（UTC+00:00） / all times in Europe/London" in flatten(d.card(1))
    assert "时间均为 Europe/London（UTC+00:00）" in d.text("/crisis timeline")


def test_the_status_nag_says_hours_and_minutes(bot, clock):
    d = CrisisDriver(bot)
    d.run(START)  # severity 3: a nag after 120 minutes without a note
    clock.advance(timedelta(minutes=220))  # the bot was down; the nag comes late
    (nag,) = [m for m in _tick(d) if "请更新进展" in (m.title or "")]
    assert "已有 3 小时 40 分钟没有进展更新" in nag.text, nag.text
    assert "No status update for 3 h 40 min:" in nag.text and "220" not in nag.text
    (entry,) = [e.text for e in d.service.timeline(1) if e.text.startswith("请指挥更新进展")]
    assert entry == "请指挥更新进展（已 3 小时 40 分钟没有进展）/ status update requested (3 h 40 min without one)"


def test_lateness_keeps_its_minutes_on_the_card_and_in_the_review(bot, clock):
    d = CrisisDriver(bot)
    d.run(START)
    clock.advance(timedelta(days=1, hours=8, minutes=55, seconds=30) + timedelta(minutes=15))  # triage is due at 15m
    card = flatten(d.run("/crisis status")[0])
    assert "⚠️ 超时 1 天 8 小时 55 分钟 / 1 d 8 h 55 min overdue" in card, card
    d.run("/crisis done triage")
    markdown = d.service.build_report(1).markdown
    assert "超时 1 天 8 小时 55 分钟" in markdown, markdown
