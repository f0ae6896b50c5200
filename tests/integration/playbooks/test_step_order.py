"""`/crisis done STEP` on a step that comes after (`after:`) an unfinished one: done, and the reply and the
timeline say which step it came after was still open (crises run in parallel; nobody is refused)."""

from __future__ import annotations

from sqlmodel import select

from bot.playbooks.models import CrisisStep, CrisisTimelineEntry
from tests.integration.playbooks.helpers import CrisisDriver

START = "/crisis start 负面舆情爆发 面霜过敏 --severity 1 --account douyin:lanji_official"


def _status(bot, step_id: str) -> str:
    with bot.services.db.session() as session:
        return session.exec(select(CrisisStep).where(CrisisStep.step_id == step_id)).one().status


def _entries(bot, step_id: str) -> list[tuple[str, str]]:
    with bot.services.db.session() as session:
        rows = session.exec(select(CrisisTimelineEntry).where(CrisisTimelineEntry.step_id == step_id)
                            .order_by(CrisisTimelineEntry.id)).all()
        return [(r.kind, r.text) for r in rows]


def test_done_before_the_step_it_comes_after_says_so_and_keeps_it_on_the_timeline(bot):
    d = CrisisDriver(bot)
    d.run(START)
    out = d.text("/crisis done holding_statement 法务已过目")
    assert "完成了 holding_statement：法务已过目" in out, out
    assert "⚠️ 提前完成：它排在 triage（确认事态并定级）之后，前置步骤尚未完成" in out
    assert "/ finished before triage, which is still open" in out
    assert out.index("提前完成") < out.index("finished before")  # Chinese first
    assert _status(bot, "holding_statement") == "done"
    assert ("done", "首次公开回应（已关注、正在核实）（提前完成，前置步骤 triage 尚未完成 / finished early: triage "
                    "still open）") in _entries(bot, "holding_statement")
    assert "提前完成" in d.text("/crisis timeline")


def test_in_order_or_after_a_skip_nothing_is_added(bot):
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis skip triage 总部已定级")
    out = d.text("/crisis done holding_statement")
    assert "提前完成" not in out and "finished before" not in out
    assert _entries(bot, "holding_statement")[0] == ("done", "首次公开回应（已关注、正在核实）")


def test_a_decision_answered_early_is_stored_and_noted(bot):
    d = CrisisDriver(bot)
    d.run(START)
    out = d.text("/crisis done verify 属实")
    assert "verify：属实" in out and "提前完成" in out, out
    assert _status(bot, "verify") == "done"
