"""Answers to the alert card's 启动预案 button that only concern the person who pressed it stay private
(in Slack: an ephemeral message, not a post to the whole channel)."""

from __future__ import annotations

from sqlmodel import select

from bot.storage.models import OutboxMessage
from tests.integration.playbooks.helpers import CrisisDriver, add_episode


def test_pressing_start_playbook_again_answers_only_the_presser(bot, db, clock):
    d = CrisisDriver(bot)
    add_episode(db, "ep@1", clock.now())
    (started,) = d.press("alert.playbook", "ep@1", user="console:alice")
    assert "已启动预案" in started.text and not started.ephemeral  # the channel learns a run started
    (again,) = d.press("alert.playbook", "ep@1", user="console:bob")
    assert again.text.startswith("已有预案 #1"), again.text
    assert again.ephemeral  # nothing changed: a notice for bob, not a post to everyone
    with db.session() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.channel == "console:lanji")).all()
    [stored] = [r for r in rows if (r.payload.get("text") or "").startswith("已有预案")]
    assert stored.payload["ephemeral"] is True
    assert stored.payload["meta"]["in_reply_to_user"] == "console:bob"


def test_the_start_button_names_the_playbook_by_its_name(bot, db, clock):
    d = CrisisDriver(bot)
    add_episode(db, "ep@2", clock.now())
    (started,) = d.press("alert.playbook", "ep@2", user="console:alice")
    assert "已启动预案「负面舆情爆发」（#1）" in started.text, started.text
    assert "negative-outbreak" not in started.text and "Negative" in started.text, started.text
