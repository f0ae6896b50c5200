"""The review, the run card and `/crisis timeline` as people read them: lateness in the card's words, people
by name, alerts by their labels, each kind said once, and playbook texts without YAML folding spaces."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.alerts.models import AlertEpisode
from tests.integration.playbooks.helpers import CrisisDriver, flatten, review_markdown

START = "/crisis start 负面舆情爆发 面霜过敏 --account douyin:lanji_official"


def _review(d: CrisisDriver) -> str:
    (report,) = d.run("/crisis report")
    return review_markdown(report)


def _sla_row(markdown: str, step_id: str) -> str:
    table = markdown.split("## 步骤与时限")[1].split("## 负面占比")[0]
    return next(x for x in table.splitlines() if x.startswith(f"| {step_id} "))


# ---- 1. lateness in the review ----------------------------------------------------------------------
def test_the_review_says_just_overdue_then_whole_minutes(bot, clock):
    d = CrisisDriver(bot)
    d.run(START)
    due = d.service.get(1).state.step("triage").due_at
    clock.advance(due - clock.now() + timedelta(seconds=30))
    row = _sla_row(_review(d), "triage")
    assert "刚刚超时 / just overdue（未完成 / not done）" in row, row
    assert "0分" not in row and "0 分" not in row, row
    clock.advance(timedelta(minutes=5))
    d.run("/crisis done triage")
    markdown = _review(d)
    row = _sla_row(markdown, "triage")
    assert "超时 5 分钟 / 5 min overdue" in row, row
    # the time limit and the time used are worded as the card words spans
    assert "| 15 分钟（2026-11-22 20:15） |" in row and "| 20 分钟 |" in row, row


# ---- 2. people by name in the review ------------------------------------------------------------------
def test_the_review_names_people_as_the_card_does(bot, clock):
    d = CrisisDriver(bot)
    d.run(START, user="console:alice")
    d.run("/crisis assign 指挥 console:bob", user="console:alice")
    d.run("/crisis assign monitor me", user="console:carol")
    clock.advance(timedelta(hours=1))
    d.service.tick()  # reminds carol of monitor: the timeline names her
    d.run("/crisis done triage", user="console:bob")
    d.run("/crisis cancel 演练结束", user="console:alice")
    markdown = _review(d)
    assert "console:" not in markdown, [x for x in markdown.splitlines() if "console:" in x]
    assert "发起人 alice" in markdown
    assert "- 结束 / Closed：2026-11-22 21:00，alice" in markdown
    assert "| 2026-11-22 20:00 | alice | 指派 | 角色 指挥 → bob |" in markdown
    assert "| 2026-11-22 21:00 | bob | 完成 | triage " in markdown
    assert any(x.startswith("| 2026-11-22 21:00 | crisisbot | 提醒 | carol：monitor") for x in markdown.splitlines())
    assert "监测" in _sla_row(markdown, "monitor") and "（carol）" in _sla_row(markdown, "monitor")


# ---- 3. the alert that started the run, on the card and the timeline ----------------------------------
def test_the_card_and_timeline_name_the_alert_not_its_key(bot, db, clock):
    key = "douyin:lanji_official|v9@20261122T1145"
    at = clock.now() - timedelta(minutes=15)
    with db.session() as session:
        session.add(AlertEpisode(
            episode_key=key, platform="douyin", account_id="lanji_official", content_id="v9",
            severity="sev1", started_at=at, detected_at=at, updated_at=at, last_notified_at=at,
            stats={"content_title": "新品面霜测评"}, channels={}, history=[],
        ))
    d = CrisisDriver(bot)
    d.press("alert.playbook", key, user="console:alice")
    label = "澜肌官方旗舰店（抖音） · 作品：新品面霜测评 · 一级·爆发 · 2026-11-22 19:45 起"  # 11:45 UTC
    fields = {f.label: f.value for f in d.card(1).fields}
    assert fields["关联告警 / Alert"] == label
    status = flatten(d.run("/crisis status")[0])
    assert f"关联告警 / Alert: {label}" in status and key not in status
    timeline = "\n".join(flatten(m) for m in d.run("/crisis timeline"))
    assert "关联告警：由告警 澜肌官方旗舰店（抖音） · 作品：新品面霜测评 · 2026-11-22 19:45 起 启动" in timeline
    assert key not in timeline and "20261122T1145" not in timeline


def test_a_purged_alert_is_read_from_its_key_on_the_card(bot):
    """The alert's row is gone (retention): the key still says the account and the start, in local time."""
    d = CrisisDriver(bot)
    d.service.start_run("console:lanji", "negative-outbreak", "告警：负面突增", 1, "douyin:lanji_official",
                        "console:bob", alert_id="douyin:lanji_official|*@20261122T1215")
    bot.services.outbox.deliver_due()
    for card in (d.card(1), d.run("/crisis status")[0]):
        fields = {f.label: f.value for f in card.fields}
        assert fields["关联告警 / Alert"] == "澜肌官方旗舰店（抖音） · 2026-11-22 20:15 起"


# ---- 4. each kind said once ---------------------------------------------------------------------------
def test_the_timeline_and_review_say_each_kind_once(bot, clock):
    d = CrisisDriver(bot)
    d.run(START)
    d.service.link_alert(1, "douyin:lanji_official|*@20261122T1215", text="sev2")
    clock.advance(timedelta(minutes=10))
    d.run("/crisis resolve")
    timeline = "\n".join(flatten(m) for m in d.run("/crisis timeline"))
    for doubled in ("启动：启动预案", "关联告警：关联告警", "解除：事件解除"):
        assert doubled not in timeline, timeline
    lines = timeline.splitlines()
    assert "11-22 20:00 alice 启动" in lines, lines
    assert "11-22 20:00 crisisbot 关联告警：澜肌官方旗舰店（抖音） · 2026-11-22 20:15 起：二级·严重" in lines, lines
    # the stored text is unchanged: the service still recognises the link
    assert any(e.text == "启动预案 / run started" for e in d.service.timeline(1))
    d.service.link_alert(1, "douyin:lanji_official|*@20261122T1215")
    assert sum(e.kind == "alert" for e in d.service.timeline(1)) == 1
    markdown = d.service.build_report(1).markdown
    assert "| 启动 | 启动预案" not in markdown and "| 解除 | 事件解除" not in markdown
    assert "| 关联告警 | 关联告警" not in markdown


# ---- 5. folded playbook texts -------------------------------------------------------------------------
FOLDED_PLAYBOOK = """\
id: folded
name: 折行预案
title_en: Folded texts
roles: {指挥: {}}
variables:
  brand: {default: 澜肌}
steps:
  - id: a
    title: 发布声明
    owner: 指挥
    due: 30m
    instructions: >-
      核对事实后，
      用 /crisis note 同步进展。
      Check the facts
      before posting.
    checklist:
      - >-
        已确认 24
        小时内的评论
    templates:
      - name: 声明
        text: >-
          {brand} 高度重视此事，
          正在全面核实情况，将于 24
          小时内公布进展。
exit: {rule: 平息, hold: 2h}
"""


def test_a_folded_playbook_text_reads_without_stray_spaces(make_bot, tmp_path: Path):
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "folded.yaml").write_text(FOLDED_PLAYBOOK, encoding="utf-8")
    bot = make_bot({"playbooks": {"directory": str(folder)}})
    d = CrisisDriver(bot)
    d.run("/crisis start folded 测试")
    text = "\n".join(flatten(m) for m in d.run("/crisis next"))
    assert "澜肌高度重视此事，正在全面核实情况，将于24小时内公布进展。" in text, text
    assert "☐ 已确认24小时内的评论" in text, text
    # a slash command keeps its spaces (it is typed as written), and so do Latin words
    assert "核对事实后，用 /crisis note 同步进展。" in text, text
    assert "Check the facts before posting." in text, text
