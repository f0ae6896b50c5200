"""Review Markdown and negative-share arithmetic, from plain data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.playbooks.machine import Answer, Done, Note, Resolve, Skip, Start, apply, plan_run
from bot.playbooks.metrics import check_exit, normal_max_for, overall_share, share_series
from bot.playbooks.review import MetricSummary, ReviewInput, render_review
from tests.unit.playbooks.test_machine import nested_playbook

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def test_review_has_summary_timeline_sla_and_chart():
    state = plan_run(nested_playbook())
    entries = []
    for event, minutes in (
        (Start("console:lead"), 0),
        (Done("a", "console:ops"), 10),
        (Answer("q1", "否", "console:lead"), 90),  # due 1h -> late by 30 min
        (Skip("n1", "console:pr", "无需公开"), 100),
        (Note("客服反馈已平息", "console:cs"), 110),
        (Resolve("console:lead", "负面回落"), 120),
    ):
        outcome = apply(state, event, T0 + timedelta(minutes=minutes))
        state, entries = outcome.state, entries + list(outcome.entries)
    text = render_review(
        ReviewInput(
            run_id=7,
            title="面霜过敏 | 事件",
            playbook_name="嵌套判断",
            playbook_title_en="Nested decisions",
            severity=1,
            account="douyin:shop",
            started_by="console:lead",
            state=state,
            timeline=entries,
            generated_at=T0 + timedelta(hours=2),
            chart_filename="negative-share-7.png",
            metrics=MetricSummary(before=0.1, peak=0.6, latest=0.12, normal_max=0.15, comments=300),
        )
    )
    assert text.startswith("# 复盘报告：面霜过敏 | 事件")
    for heading in ("## 概要", "## 时间线", "## 步骤与时限", "## 负面占比", "## 待改进"):
        assert heading in text
    assert "![负面占比 / negative share](negative-share-7.png)" in text
    assert "超时 30 分钟 / 30 min overdue" in text  # q1 answered 30 minutes after its 1h SLA
    assert "客服反馈已平息" in text and "无需公开" in text
    assert "面霜过敏 \\| 事件" not in text.splitlines()[0]  # title line is not a table cell
    assert "2026-03-01 08:00" in text  # shown in Asia/Shanghai


def test_share_series_and_exit_suggestion():
    start = T0
    comments = []
    for hour in range(12):
        negative = 8 if hour < 6 else 1  # outbreak, then calm
        comments += [
            (start + timedelta(hours=hour, minutes=m), "neg" if m < negative else "pos") for m in range(10)
        ]
    comments.append((start, None))  # unscored: ignored
    points = share_series(comments, start, start + timedelta(hours=11, minutes=59), timedelta(hours=1))
    assert len(points) == 12 and points[0].total == 10 and points[0].negative == 8
    share, total = overall_share(points)
    assert total == 120 and abs(share - (6 * 8 + 6) / 120) < 1e-9
    limit = normal_max_for(0.05, 500, absolute_max=None, margin=0.1, min_comments=20)
    assert abs(limit - 0.15) < 1e-9
    assert normal_max_for(0.05, 3, absolute_max=None, margin=0.1, min_comments=20) is None
    early = check_exit(
        points,
        normal_max=limit,
        hold=timedelta(hours=3),
        now=start + timedelta(hours=7),
        run_start=start,
        min_comments=20,
    )
    assert not early.suggest  # buckets 4-6 still hot
    late = check_exit(
        points,
        normal_max=limit,
        hold=timedelta(hours=3),
        now=start + timedelta(hours=12),
        run_start=start,
        min_comments=20,
    )
    assert late.suggest and late.window_comments == 30
    young = check_exit(
        points,
        normal_max=limit,
        hold=timedelta(hours=3),
        now=start + timedelta(hours=12),
        run_start=start + timedelta(hours=10),
        min_comments=20,
    )
    assert not young.suggest


def test_steps_never_finished_are_not_reported_on_time():
    state = plan_run(nested_playbook())
    entries = []
    for event, minutes in ((Start("console:lead"), 0), (Resolve("console:lead", "误报"), 5)):
        outcome = apply(state, event, T0 + timedelta(minutes=minutes))
        state, entries = outcome.state, entries + list(outcome.entries)
    text = render_review(ReviewInput(
        run_id=8, title="误报", playbook_name="嵌套判断", playbook_title_en="Nested decisions", severity=3,
        account=None, started_by="console:lead", state=state, timeline=entries,
        generated_at=T0 + timedelta(minutes=5), chart_filename=None,
        metrics=MetricSummary(before=None, peak=None, latest=None, normal_max=None, comments=0),
    ))
    sla_rows = text.split("## 步骤与时限")[1].split("## 负面占比")[0]
    assert "未完成 / not done" in sla_rows and "按时" not in sla_rows
