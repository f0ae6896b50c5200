"""/crisis from a chat box: notes and reasons are stored as typed, run ids in any form people type them."""

from __future__ import annotations

from sqlmodel import select

from bot.playbooks.models import CrisisTimelineEntry
from tests.integration.playbooks.helpers import CrisisDriver, flatten

START = "/crisis start 负面舆情爆发 面霜过敏 --severity 1 --account douyin:lanji_official"


def _texts(bot, kind):
    with bot.services.db.session() as session:
        return [e.text for e in session.exec(select(CrisisTimelineEntry).where(CrisisTimelineEntry.kind == kind)
                                             .order_by(CrisisTimelineEntry.id)).all()]


def test_notes_and_reasons_keep_dashes_quotes_and_apostrophes(bot):
    d = CrisisDriver(bot)
    d.run(START)
    for note in ("用户说 —紧急 处理中", "预计 --明天 上线", "客户说「太差」了", "customer's reply was rude"):
        d.run(f"/crisis note {note}")
    d.run("/crisis note 已升级 --run 1")  # a real option still works next to the text
    assert _texts(bot, "note") == ["用户说 —紧急 处理中", "预计 --明天 上线", "客户说「太差」了",
                                   "customer's reply was rude", "已升级"]


def test_another_subcommands_option_in_free_text_stays_text(bot):
    # --severity / --account / --var belong to start: in a note, a skip or a cancel reason they are words
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis note C --severity 3 D --account x E")
    d.run("/crisis 备注 先别 --var brand=x 回复")
    d.run("/crisis skip verify 测试 --severity 1 取消")
    assert _texts(bot, "note")[-2:] == ["C --severity 3 D --account x E", "先别 --var brand=x 回复"]
    assert any("测试 --severity 1 取消" in t for t in _texts(bot, "skip"))
    d.run("/crisis cancel --run 1 客户撤诉 --account y")  # --run still picks the run
    assert _texts(bot, "cancel") == ["取消：客户撤诉 --account y"]


def test_run_ids_in_every_typed_form_and_past_any_row(bot):
    d = CrisisDriver(bot)
    d.run(START)
    d.run(START.replace("面霜过敏", "第二起"))
    for line in ("/crisis status #2", "/crisis status ＃2", "/crisis STATUS 2", "/crisis status --run ２"):
        assert "第二起" in d.text(line), line
    for line in ("/crisis status #99999999999999999999", "/crisis note #99999999999999999999 x"):
        out = d.text(line)
        assert "没有预案" in out and "出错" not in out, line


def test_the_card_points_to_a_command_that_works(make_bot):
    bot = make_bot({"playbooks": {"card_steps": 1}})
    d = CrisisDriver(bot)
    d.run(START)
    d.run(START.replace("面霜过敏", "第二起"))  # two active runs: a bare "/crisis status" is ambiguous
    card = flatten(d.card(1))
    hint = next(line for line in card.splitlines() if "见 /crisis status" in line)
    command = hint.split("见 ", 1)[1].split(" / ")[0]
    assert "面霜过敏" in d.text(command) and "多个进行中" not in d.text(command)


def test_full_width_severity_and_an_empty_assignee(bot):
    d = CrisisDriver(bot)
    assert "已启动" in d.text(START.replace("--severity 1", "--severity ２"))
    assert "请指定负责人" in d.text("/crisis assign 指挥 @")
