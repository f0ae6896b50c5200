"""The chat summary of a review (`review_summary`): the review's summary and negative-share figures, in a
form Slack, Feishu and the console show as written: no table, heading or image line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.playbooks.machine import Answer, Done, Resolve, Skip, Start, apply, plan_run
from bot.playbooks.review import MetricSummary, ReviewInput, render_review, review_summary
from tests.unit.playbooks.test_machine import nested_playbook

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def review_input(events=None) -> ReviewInput:
    state = plan_run(nested_playbook())
    entries = []
    for event, minutes in events or (
        (Start("console:lead"), 0),
        (Done("a", "console:ops"), 10),
        (Answer("q1", "否", "console:lead"), 90),
        (Skip("n1", "console:pr", "无需公开"), 100),
        (Resolve("console:lead", "负面回落"), 120),
    ):
        outcome = apply(state, event, T0 + timedelta(minutes=minutes))
        state, entries = outcome.state, entries + list(outcome.entries)
    return ReviewInput(
        run_id=7, title="面霜过敏 | 事件", playbook_name="嵌套判断", playbook_title_en="Nested decisions",
        severity=1, account="douyin:shop", started_by="console:lead", state=state, timeline=entries,
        generated_at=T0 + timedelta(hours=2), chart_filename="crisis-7-negative-share.png",
        metrics=MetricSummary(before=0.1, peak=0.6, latest=0.12, normal_max=0.15, comments=300),
        alerts=("douyin:shop|*@20260301T0000",),
    )


def test_the_summary_keeps_the_key_figures_and_drops_tables_headings_and_images():
    text = review_summary(review_input(), filename="crisis-7-review.md")
    for wanted in ("• 状态 / Status：已解除", "• 持续 / Duration：2 小时", "• 超时步骤 / Late steps：1",
                   "• 严重程度 / Severity：一级", "    ◦ 峰值 / Peak：60.0%", "    ◦ 评论数 / Comments：300",
                   "• 关联告警 / Linked alerts：", "    ◦ douyin:shop", "时间均为 Asia/Shanghai",
                   "crisis-7-review.md"):
        assert wanted in text, wanted
    assert "| --- |" not in text and "![" not in text and "#" not in text and "*Post-incident" not in text
    assert "• 待改进 / Follow-ups：3 项 / 3 items" in text  # q1 late, n1 skipped, last not done


def test_a_review_without_follow_ups_says_none():
    events = ((Start("console:lead"), 0), (Done("a", "console:ops"), 1), (Answer("q1", "否", "console:lead"), 2),
              (Done("n1", "console:pr"), 3), (Done("last", "console:lead"), 4), (Resolve("console:lead", "已处理"), 5))
    data = review_input(events)
    assert "## 待改进 / Follow-ups\n\n- 无 / none\n" in render_review(data)
    assert review_summary(data, filename="f.md").endswith(
        "• 待改进 / Follow-ups：无 / none\n"
        "时间均为 Asia/Shanghai（UTC+08:00） / all times in Asia/Shanghai\n"
        "📄 完整复盘（时间线、步骤与时限）见文件 f.md / the full review (timeline, steps vs SLA) is in the file f.md")
