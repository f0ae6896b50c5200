"""误报 pressed on an alert whose 启动预案 already started a run: the run goes on (its reminders too) until
someone ends it, so the answer says so and gives the command, instead of reading as if all were settled."""

from __future__ import annotations

from tests.integration.playbooks.helpers import CrisisDriver, add_episode

CHANNELS = [{"id": "console:lanji", "client": "lanji", "language": "en"}, {"id": "console:xiaochu", "client": "xiaochu"}]


def test_false_alarm_names_the_run_it_started(bot, db, clock):
    d = CrisisDriver(bot)
    add_episode(db, "ep@1", clock.now())
    d.press("alert.playbook", "ep@1", user="console:alice")
    (answer,) = d.press("alert.false_positive", "ep@1", user="console:bob")
    assert answer.text.startswith("bob 标记为误报，已记录用于调优。"), answer.text
    assert "由它启动的预案 #1 仍在进行；如不再需要，用 /crisis cancel 1 误报 取消。" in answer.text
    assert "Run #1 started from it is still active" in answer.text
    assert d.service.get(1).state.status.value == "active"  # marking the alert does not end the run by itself
    assert "已取消" in d.text("/crisis cancel 1 误报")


def test_false_alarm_without_a_run_reads_as_before(bot, db, clock):
    d = CrisisDriver(bot)
    add_episode(db, "ep@2", clock.now())
    (answer,) = d.press("alert.false_positive", "ep@2", user="console:bob")
    assert answer.text == "bob 标记为误报，已记录用于调优。\nbob marked it a false alarm; recorded for tuning."


def test_in_an_english_channel_english_alone(make_bot, db, clock):
    bot = make_bot({"channels": CHANNELS})
    d = CrisisDriver(bot)
    add_episode(db, "ep@3", clock.now())
    d.press("alert.playbook", "ep@3", user="console:alice")
    (answer,) = d.press("alert.false_positive", "ep@3", user="console:bob")
    assert answer.text == ("bob marked it a false alarm; recorded for tuning. Run #1 started from it is still "
                           "active; if it is no longer needed, cancel it: /crisis cancel 1 false alarm")
