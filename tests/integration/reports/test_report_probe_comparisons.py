"""Report defects found by an acceptance probe of `/report` and the scheduled reports:

- "+227% 较上期（上期 201）" when the stored comments start partway through the previous period: the
  change against a partly covered period is not shown; it is flagged (text and message meta alike);
- a resolved playbook run read "已恢复" in reports (an alert's word) but "已解除" on its card and review.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import parse_config
from tests.conftest import TEST_CONFIG

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEXTS = ("垃圾产品，过敏了，客服也不理人，退款！", "很好用，回购第三次了，推荐", "还行吧，物流挺快")
LANJI = ("douyin", "lanji_official")
LANJI_SHOP = ("douyin", "lanji_shop")  # a second account of the same client, added later


@pytest.fixture
def app_config():
    config = {**TEST_CONFIG, "accounts": [*TEST_CONFIG["accounts"],
                                          {"platform": "douyin", "account_id": "lanji_shop", "name": "澜肌小店",
                                           "client": "lanji"}]}
    return parse_config(config, source="tests")


@pytest.fixture
def clock():
    from bot.clock import FakeClock

    return FakeClock(datetime(2026, 11, 23, 0, 30, tzinfo=UTC))  # Monday 08:30 in Shanghai


def _records(account, first: datetime, last: datetime, every: timedelta, prefix: str) -> list[dict]:
    platform, account_id = account
    records, moment, number = [], first, 0
    while moment < last:
        records.append({"platform": platform, "account_id": account_id, "content_id": "v1",
                        "comment_id": f"{prefix}{number}", "text": TEXTS[number % len(TEXTS)],
                        "created_at": moment.isoformat()})
        moment += every
        number += 1
    return records


def _ingest(bot, records) -> None:
    report = bot.services.ingest.ingest_records(records, source="test")
    assert report.accepted == len(records)


def _report(bot, period: str, run_command):
    [reply] = run_command(f"/report {period}", channel="console:lanji")
    assert reply.meta.get("kind") == "report"
    return reply


def test_a_partly_covered_previous_period_is_flagged_instead_of_compared(bot, clock, run_command):
    now = clock.now()
    first = now - timedelta(days=4, hours=2)  # the previous period of a 3-day report began 6 days ago
    # busier now than then, as in the probe: the change would read as a surge
    _ingest(bot, _records(LANJI, first, now - timedelta(days=3), timedelta(hours=1), "old")
            + _records(LANJI, now - timedelta(days=3), now, timedelta(minutes=30), "new"))
    reply = _report(bot, "3d", run_command)
    since = first.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")  # with its year
    assert "较上期" not in reply.text and "vs previous" not in reply.text, reply.text
    assert (f"评论 / comments：144（上期数据不完整（自 {since} 起）/ previous period only partly covered "
            f"(since {since})，上期 26）") in reply.text, reply.text
    assert "上期 " in reply.text and "，数据不完整 / partial）" in reply.text, reply.text  # the share's too
    # the message's data says the same as its text
    assert reply.meta["previous_comments"] == 26
    assert datetime.fromisoformat(reply.meta["previous_partial_since"]) == first


def test_a_previous_period_covered_from_its_start_is_compared(bot, clock, run_command):
    now = clock.now()
    _ingest(bot, _records(LANJI, now - timedelta(days=2), now, timedelta(hours=1), "c"))
    reply = _report(bot, "1d", run_command)
    assert "评论 / comments：24（较上期持平 / unchanged vs previous，上期 24）" in reply.text, reply.text
    assert "不完整" not in reply.text and "partly covered" not in reply.text
    assert reply.meta["previous_comments"] == 24 and reply.meta["previous_partial_since"] is None


def test_an_account_added_during_the_previous_period_makes_it_partly_covered(bot, clock, run_command):
    """One account has data for weeks, the client's second one only since the middle of the previous
    period: the previous period holds only part of what the channel's accounts got."""
    now = clock.now()
    added = now - timedelta(hours=30)
    _ingest(bot, _records(LANJI, now - timedelta(days=20), now, timedelta(hours=2), "a")
            + _records(LANJI_SHOP, added, now, timedelta(hours=1), "s"))
    reply = _report(bot, "1d", run_command)
    since = added.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert f"上期数据不完整（自 {since} 起）" in reply.text and "较上期" not in reply.text, reply.text
    assert datetime.fromisoformat(reply.meta["previous_partial_since"]) == added
    # the long-monitored account alone is compared as before
    [other] = run_command("/report 1d", channel="console:xiaochu")
    assert "不完整" not in other.text


def test_no_previous_comments_still_reads_no_previous_data(bot, clock, run_command):
    now = clock.now()
    _ingest(bot, _records(LANJI, now - timedelta(hours=5), now, timedelta(hours=1), "c"))
    reply = _report(bot, "1d", run_command)
    # said once: "，上期 0" after it contradicted it, as if 0 were a figure of the previous period
    assert "评论 / comments：5（上期无数据 / no previous data）" in reply.text, reply.text
    assert "上期 0" not in reply.text.splitlines()[0]
    assert reply.meta["previous_partial_since"] is None


def test_a_resolved_run_reads_as_on_its_card_and_a_recovered_alert_keeps_its_word(bot, db, clock, run_command):
    from bot.alerts.models import AlertEpisode
    from bot.playbooks.machine import RUN_STATUS_ZH, RunStatus
    from bot.playbooks.validate import load_playbooks

    playbook = load_playbooks().playbooks[0]
    run_command(f"/crisis start {playbook.name} 面霜过敏事件 --severity 2 --account douyin:lanji_official")
    clock.advance(timedelta(hours=1))
    [resolved] = run_command("/crisis resolve 事件平息")
    assert "已解除" in resolved.text, resolved.text
    assert RUN_STATUS_ZH[RunStatus.RESOLVED] == "已解除"
    [status] = run_command("/crisis status #1")
    card_words = " ".join([status.text or ""] + [f.value for f in status.fields]
                          + [s.text for s in status.sections if getattr(s, "text", None)])
    assert "已解除" in card_words, card_words
    with db.session() as session:  # an alert episode of the same day that recovered
        session.add(AlertEpisode(
            episode_key="douyin:lanji_official::volume:1", platform="douyin", account_id="lanji_official",
            status="resolved", severity="sev2", reason="volume", started_at=clock.now() - timedelta(hours=3),
            detected_at=clock.now() - timedelta(hours=3), updated_at=clock.now(),
            recovered_at=clock.now(), last_notified_at=clock.now()))
        session.commit()
    reply = _report(bot, "1d", run_command)
    whole = reply.files[0].content.decode("utf-8")  # the whole report is the attached file
    runs = whole.split("<h2>危机预案 / playbook runs</h2>", 1)[1]
    assert "面霜过敏事件（已解除）" in runs and "已恢复" not in runs, whole
    alerts = whole.split("<h2>告警 / alerts</h2>", 1)[1].split("<h2>危机预案", 1)[0]
    assert "澜肌官方旗舰店（已恢复）" in alerts, whole
