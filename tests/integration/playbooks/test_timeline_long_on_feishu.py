"""A long crisis's /crisis timeline on a Feishu card: the newest entries stay, the card fits Feishu's limit.

Found outside-in: one long note then 120 short ones gave a card cut at 6000 characters ("…"), the 120 later
notes (the latest events, which matter most) missing, and the cut could break a **bold** or a [link](...).
"""

from __future__ import annotations

import json

from bot.adapters.feishu.cards import CARD_BYTE_BUDGET, MAX_MARKDOWN_CHARS, card_content
from bot.playbooks.machine import Note
from tests.integration.playbooks.helpers import CrisisDriver

START = "/crisis start 负面舆情爆发 面霜过敏 --severity 1 --account douyin:lanji_official"
FEISHU_REQUEST_LIMIT = 30 * 1024


def _markdown(card: dict) -> list[str]:
    return [e["content"] for e in card["body"]["elements"] if e.get("tag") == "markdown"]


def test_a_long_timeline_keeps_its_newest_entries_and_fits_a_feishu_card(make_bot):
    d = CrisisDriver(make_bot())
    d.run(START)
    (run,) = d.service.active_runs()
    run_id = run.id
    d.service.transition(run_id, Note("**现场说明** " + "经销商反馈批次 A23 过敏投诉集中。" * 120, "console:alice"))
    for n in range(1, 121):
        d.service.transition(run_id, Note(f"进展 {n:03d}：[工单](https://e.x/t/{n}) 已回复 <客服>", "console:alice"))

    (timeline,) = d.run(f"/crisis timeline #{run_id}")
    content = card_content(timeline)
    card = json.loads(content)
    texts = _markdown(card)
    shown = "\n".join(texts)

    # the newest entries are all there, the latest last; what is left out is said, at the top
    assert "进展 120" in texts[-1]
    assert all(f"进展 {n:03d}" in shown for n in range(1, 121))
    assert "条记录未显示" in shown and "/crisis report" in shown
    assert "…" not in texts[-1]  # nothing cut at the end
    # each markdown element ends at a line end: no bold or link torn in two
    for text in texts:
        assert len(text) <= MAX_MARKDOWN_CHARS
        assert text.count("**") % 2 == 0
    # the whole request stays under Feishu's 30 KB, escaping ("<" -> "&#60;") and the JSON string included
    assert len(json.dumps({"msg_type": "interactive", "content": content}, ensure_ascii=False).encode()) < FEISHU_REQUEST_LIMIT
    assert CARD_BYTE_BUDGET < FEISHU_REQUEST_LIMIT
