"""An alert that rises to sev1 after the team took it on (确认, 启动预案 or /crisis start on its account).

Like a paging tool: the rise is still said (the severity went up, the team must know), but to the people
on it (who acknowledged, the run's commander) instead of @here / @所有人; the playbook run handling it rises
with it (on its timeline and card, never lowered). An alert nobody acknowledged still pings the channel.
Real database (SQLite, and PostgreSQL when configured), real dispatcher, outbox and console port.
"""

from __future__ import annotations

import copy

from sqlmodel import select

from bot.adapters.feishu.cards import mention_markup
from bot.adapters.slack.render import mention_line
from bot.app import build_app
from bot.config import parse_config
from bot.messages import Action
from bot.playbooks.models import CrisisRun, CrisisTimelineEntry
from bot.storage.models import OutboxMessage
from tests.conftest import TEST_CONFIG
from tests.integration.alerts.test_acceptance_gaps import quiet_days
from tests.integration.alerts.test_alert_service import episodes, live, tick

ACCOUNT = "douyin:lanji_official"


def serious_alert(bot, clock, db):
    """Three quiet days, then a first burst: a serious (sev2) alert posted to console:lanji."""
    bot.services.ingest.ingest_records(quiet_days(clock.now(), negative_every=None), source="history")
    tick(bot)
    live(bot, clock, 5, per_minute=3)
    live(bot, clock, 1)
    [episode] = [e for e in episodes(db) if not e.stats.get("merged_into")]
    assert episode.severity == "sev2", episode.severity
    assert raised(db) == []
    return episode


def explode(bot, clock, db, episode):
    """It turns explosive and stays so: the episode rises to sev1 (once)."""
    live(bot, clock, 4, per_minute=10)
    live(bot, clock, 10, per_minute=10)
    [now] = [e for e in episodes(db) if e.id == episode.id]
    assert now.severity == "sev1"
    return now


def raised(db) -> list[OutboxMessage]:
    with db.session() as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return [r for r in rows if (r.payload.get("meta") or {}).get("kind") == "raised"]


def run_row(db, run_id: int) -> CrisisRun:
    with db.session() as session:
        return session.get(CrisisRun, run_id)


def timeline(db, run_id: int) -> list[CrisisTimelineEntry]:
    with db.session() as session:
        return list(session.exec(select(CrisisTimelineEntry).where(CrisisTimelineEntry.run_id == run_id)
                                 .order_by(CrisisTimelineEntry.id)).all())


def card_versions(db, run_id: int) -> list[OutboxMessage]:
    with db.session() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.update_of == f"crisis:{run_id}:card")
                            .order_by(OutboxMessage.id)).all()
    return list(rows)


def test_an_acknowledged_alert_that_rises_to_sev1_is_said_to_who_acknowledged_it(bot, clock, db, press_button):
    episode = serious_alert(bot, clock, db)
    press_button("alert.ack", episode.episode_key, user="console:alice")
    explode(bot, clock, db, episode)
    [announcement] = raised(db)  # still said, once, in the alert's channel
    assert announcement.channel == "console:lanji" and announcement.update_of is None
    assert list(announcement.payload["mentions"]) == ["alice"]  # the acknowledger, not @here
    text = announcement.payload["text"]
    assert text.startswith("🔺 已升级为一级·爆发：") and "alice 已确认跟进" in text
    assert "alert.ack" not in str(announcement.payload["buttons"])  # nothing left to acknowledge
    assert announcement.status == "sent"
    [said] = [m for m in bot.console.messages("lanji") if m.meta.get("kind") == "raised"]
    assert said.mentions == ("alice",)


def test_an_acknowledged_then_muted_alert_rises_quietly_to_who_acknowledged_it(bot, clock, db, press_button):
    # 静默 1 小时 after 确认 sets the status to muted: the rise was taken for an unacknowledged one (@here)
    episode = serious_alert(bot, clock, db)
    press_button("alert.ack", episode.episode_key, user="console:alice")
    press_button("alert.mute", episode.episode_key, user="console:alice")
    explode(bot, clock, db, episode)
    [announcement] = raised(db)
    assert list(announcement.payload["mentions"]) == ["alice"]
    assert "alice 已确认跟进" in announcement.payload["text"]


def test_an_unacknowledged_alert_still_pings_the_channel_and_its_run_rises(bot, clock, db, run_command):
    """Nobody pressed 确认: the rise calls the channel (@here) as before, even with a run on the account
    (its commander is called by name too, and the run rises with the alert)."""
    episode = serious_alert(bot, clock, db)
    run_command(f"/crisis start negative-outbreak 面霜过敏 --severity 2 --account {ACCOUNT}", user="console:bob")
    explode(bot, clock, db, episode)
    [announcement] = raised(db)
    assert list(announcement.payload["mentions"]) == ["here", "bob"]
    assert "请立即处理" in announcement.payload["text"]
    assert run_row(db, 1).severity == 1


def test_a_run_started_from_the_alert_rises_with_it_and_its_commander_is_told(bot, clock, db, press_button,
                                                                               run_command):
    episode = serious_alert(bot, clock, db)
    press_button("alert.playbook", episode.episode_key, user="console:bob")  # acknowledges it too
    assert run_row(db, 1).severity == 2 and run_row(db, 1).alert_id == episode.episode_key
    run_command("/crisis assign 指挥 console:carol", user="console:bob")
    cards_before = len(card_versions(db, 1))
    explode(bot, clock, db, episode)

    run = run_row(db, 1)
    assert run.severity == 1
    [entry] = [e for e in timeline(db, 1) if e.kind == "severity"]
    assert entry.text.startswith("升级为一级（二级 → 一级）") and episode.episode_key in entry.text
    # the card is re-rendered with the new severity
    cards = card_versions(db, 1)
    assert len(cards) == cards_before + 1
    assert {"label": "严重程度 / Severity", "value": "一级（最高）"} in cards[-1].payload["fields"]
    assert cards[-1].status == "sent"
    assert "|*@" not in str(cards[-1].payload)  # the alert by name and local time, not its key
    # said to the one who started it from the alert and to the commander, not to the channel
    [announcement] = raised(db)
    assert announcement.channel == "console:lanji"
    assert list(announcement.payload["mentions"]) == ["bob", "carol"]
    assert "预案 #1 严重程度已由二级升为一级" in announcement.payload["text"]
    # the review shows when it rose, in the channel's time
    raised_at = entry.at.astimezone(bot.services.config.zone()).strftime("%Y-%m-%d %H:%M")
    review = bot.services.playbooks.build_report(1).markdown
    assert f"| {raised_at} | crisisbot | 严重程度 | 升级为一级" in review
    assert "一级（最高）" in review


def test_a_crisis_start_run_on_the_account_rises_and_links_the_alert(bot, clock, db, press_button, run_command):
    """The team acknowledged, then started the run by hand (/crisis start --account): the run is the
    response to that account's crisis, so it rises with the alert and the review lists the alert."""
    episode = serious_alert(bot, clock, db)
    press_button("alert.ack", episode.episode_key, user="console:alice")
    run_command(f"/crisis start negative-outbreak 面霜过敏 --severity 2 --account {ACCOUNT}", user="console:bob")
    explode(bot, clock, db, episode)
    assert run_row(db, 1).severity == 1
    kinds = [(e.kind, e.text) for e in timeline(db, 1)]
    assert ("alert", f"关联告警 {episode.episode_key}：sev1") in kinds
    assert any(kind == "severity" and text.startswith("升级为一级") for kind, text in kinds)
    [announcement] = raised(db)
    assert list(announcement.payload["mentions"]) == ["alice", "bob"]
    # listed as people know it (account name, severity, start in the channel's time), not by its key
    started = episode.started_at.astimezone(bot.services.config.zone()).strftime("%Y-%m-%d %H:%M")
    review = bot.services.playbooks.build_report(1).markdown
    assert f"Linked alerts：\n  - 澜肌官方旗舰店（抖音） · 一级·爆发 · {started} 起" in review
    assert episode.episode_key not in review


def test_a_run_already_more_severe_than_the_alert_is_never_lowered(bot, clock, db, press_button, run_command):
    episode = serious_alert(bot, clock, db)
    press_button("alert.ack", episode.episode_key, user="console:alice")
    run_command(f"/crisis start negative-outbreak 面霜过敏 --severity 1 --account {ACCOUNT}", user="console:bob")
    # the alert rising to (or at) a lower level than the run's leaves the run as it is
    playbooks = bot.services.playbooks
    with db.session() as session:
        [link] = playbooks.raise_for_alert(session, alert_key=episode.episode_key, account=ACCOUNT, severity=2,
                                           now=clock.now())
    assert (link.run_id, link.severity_before, link.severity, link.raised) == (1, 1, 1, False)
    assert run_row(db, 1).severity == 1
    cards = len(card_versions(db, 1))
    explode(bot, clock, db, episode)
    assert run_row(db, 1).severity == 1
    assert [e for e in timeline(db, 1) if e.kind == "severity"] == []
    assert len(card_versions(db, 1)) == cards  # nothing changed on the card
    [announcement] = raised(db)  # the commander still hears that the alert rose
    assert list(announcement.payload["mentions"]) == ["alice", "bob"]
    assert "预案 #1 严重程度" not in announcement.payload["text"]


def test_a_run_in_another_channel_hears_of_the_rise_there(db, settings, clock):
    """The run handling the alert works in its own war-room channel: its commander is told there too."""
    data = copy.deepcopy(TEST_CONFIG)
    data["channels"] = [*data["channels"], {"id": "console:warroom", "client": "lanji"}]
    data["alerts"] = {"per_content": False}
    app = build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False)
    try:
        bot = app
        episode = serious_alert(bot, clock, db)
        assert sorted(episode.channels) == ["console:lanji", "console:warroom"]
        # the alert is posted to both channels of the client; the war room acknowledges it and runs the playbook
        _press(bot, "console:warroom", "alert.ack", episode.episode_key, "console:alice")
        _command(bot, "console:warroom", f"/crisis start negative-outbreak 面霜过敏 --severity 2 --account {ACCOUNT}",
                 "console:bob")
        explode(bot, clock, db, episode)
        by_channel = {r.channel: r for r in raised(db)}
        assert sorted(by_channel) == ["console:lanji", "console:warroom"]
        assert list(by_channel["console:lanji"].payload["mentions"]) == ["alice"]
        assert list(by_channel["console:warroom"].payload["mentions"]) == ["alice", "bob"]
        assert "预案 #1 严重程度已由二级升为一级" in by_channel["console:warroom"].payload["text"]
    finally:
        app.stop()


def test_slack_and_feishu_address_the_acknowledger_not_the_channel(db, settings, clock):
    """The same alert in a Slack and a Feishu channel (their messages wait in the outbox: no adapter is
    enabled here). Unacknowledged, a rise is @here / @所有人; acknowledged from Slack, it names the Slack
    acknowledger in Slack and calls nobody in Feishu."""
    data = copy.deepcopy(TEST_CONFIG)
    data["channels"] = [{"id": "slack:C0LANJI", "client": "lanji"}, {"id": "feishu:oc_lanji", "client": "lanji"}]
    data["alerts"] = {"per_content": False}
    app = build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False)
    try:
        episode = serious_alert(app, clock, db)
        _press(app, "slack:C0LANJI", "alert.ack", episode.episode_key, "slack:U0ALICE")
        explode(app, clock, db, episode)
        by_channel = {r.channel: r for r in raised(db)}
        assert sorted(by_channel) == ["feishu:oc_lanji", "slack:C0LANJI"]
        slack = tuple(by_channel["slack:C0LANJI"].payload["mentions"])
        feishu = tuple(by_channel["feishu:oc_lanji"].payload["mentions"])
        assert mention_line(slack) == "<@U0ALICE>"
        assert mention_markup(feishu, severity=1) == ""
    finally:
        app.stop()


def test_slack_and_feishu_still_call_the_channel_when_nobody_acknowledged(db, settings, clock):
    """A run on the account started in Slack, the alert itself never acknowledged: both channels are still
    called (@here / @所有人); Slack also names the run's commander, and the run rises."""
    data = copy.deepcopy(TEST_CONFIG)
    data["channels"] = [{"id": "slack:C0LANJI", "client": "lanji"}, {"id": "feishu:oc_lanji", "client": "lanji"}]
    data["alerts"] = {"per_content": False}
    app = build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False)
    try:
        episode = serious_alert(app, clock, db)
        _command(app, "slack:C0LANJI", f"/crisis start negative-outbreak 面霜过敏 --severity 2 --account {ACCOUNT}",
                 "slack:U0BOB")
        explode(app, clock, db, episode)
        by_channel = {r.channel: r for r in raised(db)}
        assert mention_line(tuple(by_channel["slack:C0LANJI"].payload["mentions"])) == "<!here> <@U0BOB>"
        assert mention_markup(tuple(by_channel["feishu:oc_lanji"].payload["mentions"]), severity=1) == "<at id=all></at>"
        assert run_row(db, 1).severity == 1 and run_row(db, 1).channel == "slack:C0LANJI"
    finally:
        app.stop()


_events = iter(range(1, 10**9))


def _press(bot, channel: str, action_id: str, value: str, user: str):
    platform = channel.partition(":")[0]
    bot.dispatcher.handle(Action(platform, channel, user, action_id, value, user_name=user.partition(":")[2],
                                 event_id=f"raise-press-{next(_events)}"))
    bot.services.outbox.drain()


def _command(bot, channel: str, text: str, user: str):
    from bot.messages import Command

    platform = channel.partition(":")[0]
    replies = bot.dispatcher.handle(Command(platform, channel, user, text, user_name=user.partition(":")[2],
                                            event_id=f"raise-cmd-{next(_events)}"))
    bot.services.outbox.drain()
    return replies
