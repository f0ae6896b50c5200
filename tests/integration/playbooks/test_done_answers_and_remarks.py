"""`/crisis done STEP TEXT`: English answers on decisions (the playbook's `answers_en`), and a remark on
any other step kept as a note on the timeline instead of "not a decision step"."""

from __future__ import annotations

from sqlmodel import select

from bot.playbooks.models import CrisisStep, CrisisTimelineEntry
from tests.integration.playbooks.helpers import CrisisDriver

START = "/crisis start 负面舆情爆发 面霜过敏 --severity 1 --account douyin:lanji_official"


def _step(bot, step_id: str) -> CrisisStep:
    with bot.services.db.session() as session:
        return session.exec(select(CrisisStep).where(CrisisStep.step_id == step_id)).one()


def _timeline(bot) -> list[tuple[str, str | None, str]]:
    with bot.services.db.session() as session:
        rows = session.exec(select(CrisisTimelineEntry).order_by(CrisisTimelineEntry.id)).all()
        return [(r.kind, r.step_id, r.text) for r in rows]


def test_english_answers_with_language_en_store_the_playbooks_answer(make_bot):
    bot = make_bot({"language": "en"})
    d = CrisisDriver(bot)
    d.run(START)
    out = d.text("/crisis done verify yes")
    assert "不是判断步骤" not in out and "可选答案" not in out, out
    assert _step(bot, "verify").answer == "属实"  # the stored answer stays the playbook's own
    assert _step(bot, "evidence").status == "na"  # the other branch no longer applies
    assert "属实" in out


def test_false_no_and_case_map_to_the_other_answer(make_bot):
    bot = make_bot({"language": "en"})
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis done verify FALSE")
    assert _step(bot, "verify").answer == "不属实"
    assert _step(bot, "apology").status == "na"


def test_an_unknown_word_is_refused_listing_the_english_choices(bot):
    d = CrisisDriver(bot)
    d.run(START)
    out = d.text("/crisis done verify maybe")
    assert "属实 (yes/true)" in out and "不属实 (no/false)" in out, out
    assert _step(bot, "verify").status == "open"


def test_the_answer_button_and_chinese_answers_still_work(bot):
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis done verify 不属实")
    assert _step(bot, "verify").answer == "不属实"


def test_done_with_a_remark_on_an_ordinary_step_is_done_with_a_note(bot):
    d = CrisisDriver(bot)
    d.run(START)
    out = d.text("/crisis done triage 已拉群，客服和法务都在")
    assert "不是判断步骤" not in out and "not a decision step" not in out, out
    assert _step(bot, "triage").status == "done"
    timeline = _timeline(bot)
    done = [e for e in timeline if e[0] == "done" and e[1] == "triage"]
    notes = [e for e in timeline if e[0] == "note" and e[1] == "triage"]
    assert len(done) == 1
    assert len(notes) == 1 and "已拉群，客服和法务都在" in notes[0][2]
    assert "已拉群" in out
    # the remark is on the timeline people read
    assert "已拉群，客服和法务都在" in d.text("/crisis timeline")


def test_done_without_text_on_a_decision_still_asks_for_the_answer(bot):
    d = CrisisDriver(bot)
    d.run(START)
    out = d.text("/crisis done verify")
    assert "判断步骤" in out and _step(bot, "verify").status == "open"
