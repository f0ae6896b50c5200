"""Runs against a real database: reminders with a moved clock, restarts, permissions, exit hints,
alerts, snapshots, ambiguity, the migration."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.config import ConfigError
from bot.playbooks.models import CrisisTimelineEntry
from bot.playbooks.validate import PlaybookSet, load_playbook_file
from bot.storage.models import Comment
from tests.integration.playbooks.helpers import CrisisDriver, flatten, review_markdown

FIXTURES = Path(__file__).parents[2] / "unit" / "playbooks" / "fixtures"
START = "/crisis start 负面舆情爆发 面霜过敏 --severity 1 --account douyin:lanji_official"


def reminders(d: CrisisDriver):
    return [m for m in d.channel_messages() if "超时提醒" in (m.title or "")]


def nags(d: CrisisDriver):
    return [m for m in d.channel_messages() if "请更新进展" in (m.title or "")]


def test_reminders_grouped_repeated_and_snoozed(make_bot, clock):
    bot = make_bot({"playbooks": {"remind_every_minutes": 30, "snooze_minutes": 30}})
    assert bot.wiring.scheduler.get_job("crisis-reminders") is not None
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis assign 指挥 console:carol")
    service = d.service

    clock.advance(timedelta(minutes=10))
    service.tick()
    bot.services.outbox.deliver_due()
    assert reminders(d) == []  # nothing overdue yet

    clock.advance(timedelta(minutes=6))  # +16m: triage (15m, 指挥 = carol) overdue
    service.tick()
    service.tick()  # a second pass right away does not repeat it
    bot.services.outbox.deliver_due()
    (first,) = reminders(d)
    assert first.mentions == ("carol",) and "triage" in first.text

    clock.advance(timedelta(minutes=15))  # +31m: monitor + pause_content (运营, unassigned) overdue; nag due
    service.tick()
    bot.services.outbox.deliver_due()
    second = reminders(d)[1:]
    assert len(second) == 1  # grouped: one message for the role's two steps
    assert "monitor" in second[0].text and "pause_content" in second[0].text and "运营" in second[0].text
    assert len(nags(d)) == 1  # severity 1 nags after 30 minutes without a note

    snooze = second[0].buttons[0]
    reply = d.press(snooze.action_id, snooze.value)
    assert "推迟" in flatten(reply[0])

    clock.advance(timedelta(minutes=20))  # +51m: carol again (35m since), 运营 still snoozed
    service.tick()
    bot.services.outbox.deliver_due()
    third = reminders(d)[2:]
    assert len(third) == 1 and third[0].mentions == ("carol",)

    d.run("/crisis note 已联系平台，正在核实", user="console:carol")
    clock.advance(timedelta(minutes=20))  # +71m: 运营 reminded again; no nag (note 20m ago)
    service.tick()
    bot.services.outbox.deliver_due()
    assert any("monitor" in m.text for m in reminders(d)[3:])
    assert len(nags(d)) == 1


def test_restart_mid_run_loses_nothing(make_bot, clock):
    first = make_bot()
    d1 = CrisisDriver(first)
    d1.run(START)
    d1.run("/crisis done triage")
    d1.run("/crisis done verify 不属实")
    first.stop()

    clock.advance(timedelta(minutes=45))  # reminders fall due while the bot is down
    second = make_bot()
    d2 = CrisisDriver(second)
    counts = second.services.playbooks.tick()
    assert counts["reminders"] >= 1
    second.services.outbox.deliver_due()
    assert any("monitor" in m.text for m in reminders(d2))
    status = d2.text("/crisis status")
    # each line: mark, the step's number on the card (what /crisis done 2 names), its id
    assert "triage" in status and "✅" in status and re.search(r"➖ 第\d+步 \*\*apology\*\*", status), status
    assert "完成" in d2.text("/crisis done evidence")
    assert "已是" in d2.text("/crisis done triage")  # the first bot's transition survived
    entries = d2.text("/crisis timeline")
    assert entries.count("完成") >= 2 and "不属实" in entries


def test_permissions_from_config_roles(make_bot):
    bot = make_bot(
        {
            "roles": {"commander": ["console:lead"]},
            "playbooks": {
                "permissions": {"start": ["commander"], "resolve": ["commander"], "cancel": ["commander"]}
            },
        }
    )
    d = CrisisDriver(bot)
    refused = d.text(START, user="console:alice")
    assert "没有权限" in refused and "commander" in refused and "console:lead" in refused
    d.run(START, user="console:lead")
    assert "完成" in d.text("/crisis done triage", user="console:alice")  # steps: anyone
    assert "console:lead" in d.text("/crisis resolve", user="console:alice")
    assert "console:lead" in d.text("/crisis cancel 误报", user="console:alice")
    assert "已取消" in d.text("/crisis cancel 误报", user="console:lead")


def test_default_permissions_let_anyone(bot):
    d = CrisisDriver(bot)
    d.run(START, user="console:anyone")
    assert "已解除" in d.text("/crisis resolve", user="console:someone-else")


def _comments(db, start, hours, per_hour, negative_share, offset=0):
    counter = itertools.count(offset)
    with db.session() as session:
        for hour in range(hours):
            for i in range(per_hour):
                n = next(counter)
                at = start + timedelta(hours=hour, minutes=i * 60 / per_hour)
                session.add(
                    Comment(
                        platform="douyin",
                        account_id="lanji_official",
                        content_id="v1",
                        comment_id=f"c{n}",
                        text="测试评论",
                        created_at=at,
                        ingested_at=at,
                        sentiment_label="neg" if i < per_hour * negative_share else "pos",
                    )
                )


def test_metric_based_exit_suggestion_and_resolve_button(make_bot, db, clock):
    bot = make_bot()
    t0 = clock.now()
    _comments(db, t0 - timedelta(days=3), 72, 10, 0.1)  # baseline: 10% negative
    d = CrisisDriver(bot)
    d.run(START)
    view = d.service.get(1)
    assert view.normal_max == pytest.approx(0.15)
    _comments(db, t0, 2, 30, 0.6, offset=10_000)  # the outbreak
    _comments(db, t0 + timedelta(hours=2), 4, 30, 0.05, offset=20_000)  # calm again
    clock.advance(timedelta(hours=3))
    d.service.tick()
    bot.services.outbox.deliver_due()
    hints = [m for m in d.channel_messages() if "可以考虑解除" in (m.title or "")]
    assert hints == []  # the last 2 h still hold outbreak comments
    clock.advance(timedelta(hours=1, minutes=30))
    d.service.tick()
    d.service.tick()  # suggested once only
    bot.services.outbox.deliver_due()
    hints = [m for m in d.channel_messages() if "可以考虑解除" in (m.title or "")]
    assert len(hints) == 1
    button = hints[0].buttons[0]
    assert button.action_id == "crisis.resolve"
    d.press(button.action_id, button.value)
    (report,) = [m for m in d.channel_messages() if (m.title or "").startswith("复盘报告")]
    assert report.images[0].png.startswith(b"\x89PNG")
    review = review_markdown(report)
    assert "峰值 / Peak：" in review and "—" not in review.split("峰值 / Peak：")[1][:3]
    assert "峰值 / Peak：" in report.text  # the key figures in the channel's summary too
    assert "退出建议" in review


def test_report_command_posts_markdown_and_chart(driver):
    driver.run(START)
    driver.run("/crisis done triage")
    (reply,) = driver.run("/crisis report")
    (review,) = reply.files
    assert review.name == "crisis-1-review.md" and review.content.decode().startswith("# 复盘报告：面霜过敏")
    assert "面霜过敏" in reply.title and "crisis-1-review.md" in reply.text
    assert "|" not in reply.text and "![" not in reply.text and "#" not in reply.text.replace("复盘报告 #", "")
    assert (
        reply.images and reply.images[0].filename.endswith(".png") and reply.images[0].png[:4] == b"\x89PNG"
    )


def test_alert_button_starts_once_and_links_the_alert(bot):
    service = bot.services.playbooks
    a = service.start_run(
        "console:lanji",
        "negative-outbreak",
        "告警：负面突增",
        1,
        "douyin:lanji_official",
        "console:bob",
        alert_id="alert-42",
    )
    b = service.start_run(
        "console:lanji",
        "negative-outbreak",
        "告警：负面突增",
        1,
        "douyin:lanji_official",
        "console:bob",
        alert_id="alert-42",
    )
    assert a.id == b.id
    assert any(e.kind == "alert" and "alert-42" in e.text for e in service.timeline(a.id))
    d = CrisisDriver(bot)
    bot.services.outbox.deliver_due()
    assert "alert-42" in flatten(d.card(a.id))


def test_channel_scope_and_bad_input(driver):
    refused = driver.text(
        "/crisis start 负面舆情爆发 x --account douyin:lanji_official", channel="console:xiaochu"
    )
    assert "不能查看" in refused
    assert "没有预案" in driver.text("/crisis start 不存在的预案")
    assert "--severity" in driver.text("/crisis start 负面舆情爆发 x --severity 5")
    assert "没有进行中的预案" in driver.text("/crisis status")


def test_run_id_needed_only_with_several_runs(driver):
    driver.run("/crisis start rumor 谣言一")
    driver.run("/crisis start comment-pileon 网暴二")
    assert "#1" in driver.text("/crisis done capture") and "--run" in driver.text("/crisis done capture")
    assert "完成" in driver.text("/crisis done #1 capture")
    assert "完成" in driver.text("/crisis done assess --run 2")
    assert "没有预案 #9" in driver.text("/crisis done #9 assess")
    assert "没有预案 #1" in driver.text("/crisis status #1", channel="console:xiaochu")


def test_editing_a_playbook_never_changes_a_live_run(driver):
    driver.run(START)
    before = [s.step_id for s in driver.service.get(1).state.steps]
    playbook, problems = load_playbook_file(
        FIXTURES.parent.parent.parent.parent / "config" / "playbooks" / "rumor.yaml"
    )
    assert not problems
    changed = playbook.model_copy(update={"id": "negative-outbreak", "name": "负面舆情爆发"})
    driver.service.playbooks = PlaybookSet(playbooks=[changed])
    assert [s.step_id for s in driver.service.get(1).state.steps] == before
    assert "triage" in driver.text("/crisis next")


def test_bad_playbook_folder_stops_the_start(make_bot):
    with pytest.raises(ConfigError) as error:
        make_bot({"playbooks": {"directory": str(FIXTURES)}})
    assert "cycle.yaml" in str(error.value) and "no_steps.yaml" in str(error.value)


def test_button_presses_on_the_card(driver):
    driver.run(START)
    card = driver.card(1)
    done = next(b for b in card.all_buttons() if b.action_id == "crisis.done" and b.value.endswith(":triage"))
    driver.press(done.action_id, done.value)
    assign = next(b for b in driver.card(1).all_buttons() if b.action_id == "crisis.assign")
    driver.press(assign.action_id, assign.value, user="console:dave")  # no form: the presser takes it
    view = driver.service.get(1)
    step_id = assign.value.split(":")[1]
    assert view.state.assignee_of(view.state.step(step_id)) == "console:dave"
    answer = [b for b in driver.card(1).all_buttons() if b.action_id == "crisis.answer"]
    assert {b.label for b in answer} == {"属实", "不属实"}
    driver.press(answer[0].action_id, answer[0].value)
    skip = next(b for b in driver.card(1).all_buttons() if b.action_id == "crisis.skip")
    driver.press(skip.action_id, skip.value, form={"reason": "已由品牌方处理"})
    assert driver.card(1)  # still exactly one card, updated in place
    with driver.service.db.session() as session:
        kinds = [
            e.kind for e in session.exec(select(CrisisTimelineEntry).order_by(CrisisTimelineEntry.id)).all()
        ]
    assert kinds == ["start", "done", "assign", "answer", "skip"]


def test_linked_alerts_and_slack_mentions(bot):
    from bot.messages import Command

    service = bot.services.playbooks
    view = service.start_run("slack:C1", "rumor", "网传停产", 2, None, "slack:U1")
    service.link_alert(view.id, "alert-7", text="负面占比 41%")
    command = Command("slack", "slack:C1", "slack:U1", "/crisis assign 指挥 <@U2|bob>", event_id="s1")
    bot.dispatcher.handle(command)
    command = Command("slack", "slack:C1", "slack:U1", "/crisis assign capture me", event_id="s2")
    bot.dispatcher.handle(command)
    state = service.get(view.id).state
    assert state.role_assignees["指挥"] == "slack:U2"
    assert state.step("capture").assignee == "slack:U1"
    report = service.build_report(view.id)
    assert "alert-7" in report.markdown and "负面占比 41%" in report.markdown


def test_help_shows_the_usage(driver):
    text = driver.text("/crisis help")
    assert "/crisis start" in text and "/crisis skip" in text and "#编号" in text


def test_cli_report_writes_markdown_and_png(sqlite_db, tmp_path, settings, clock):
    from typer.testing import CliRunner

    from bot.app import build_app
    from bot.config import parse_config
    from bot.playbooks.cli import app as cli
    from tests.conftest import TEST_CONFIG

    bot = build_app(
        settings, parse_config(TEST_CONFIG, source="tests"), clock=clock, db=sqlite_db, upgrade=False
    )
    view = bot.services.playbooks.start_run("console:lanji", "rumor", "网传停产", 2, None, "console:a")
    result = CliRunner().invoke(
        cli,
        ["report", str(view.id), "--out", str(tmp_path / "out")],
        env={"CRISISBOT_DATABASE_URL": sqlite_db.url, "CRISISBOT_CONFIG": str(tmp_path / "none.yaml")},
    )
    assert result.exit_code == 2  # a missing config file is refused like everywhere else
    config = tmp_path / "c.yaml"
    config.write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["report", str(view.id), "--out", str(tmp_path / "out")],
        env={"CRISISBOT_DATABASE_URL": sqlite_db.url, "CRISISBOT_CONFIG": str(config)},
    )
    assert result.exit_code == 0, result.output
    assert (
        (tmp_path / "out" / f"crisis-{view.id}-review.md")
        .read_text(encoding="utf-8")
        .startswith("# 复盘报告")
    )
    assert (tmp_path / "out" / f"crisis-{view.id}-negative-share.png").read_bytes()[:4] == b"\x89PNG"
    missing = CliRunner().invoke(
        cli, ["report", "99"], env={"CRISISBOT_DATABASE_URL": sqlite_db.url, "CRISISBOT_CONFIG": str(config)}
    )
    assert missing.exit_code == 2
    bot.close()
