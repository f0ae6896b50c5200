"""`/crisis next` on a resolved or cancelled run (also the bare `/crisis next` once the channel's last run has
ended: read-only commands fall back to the latest run) says the run is closed. It listed the open steps as
next steps, with 完成/跳过/指派 buttons that were refused when pressed."""

from __future__ import annotations

from tests.integration.playbooks.helpers import CrisisDriver

CHANNELS = [{"id": "console:lanji", "client": "lanji", "language": "en"}, {"id": "console:xiaochu", "client": "xiaochu"}]


def test_next_on_a_resolved_run_says_so_without_buttons(bot):
    d = CrisisDriver(bot)
    d.run("/crisis start rumor 假截图")
    d.run("/crisis done capture")
    assert d.run("/crisis next")[0].all_buttons()  # an active run: its next steps, with their buttons
    d.run("/crisis resolve 已平息")
    (answer,) = d.run("/crisis next")
    assert not answer.all_buttons() and "spread" not in answer.text
    assert answer.text == ("预案 #1 已解除，没有下一步；步骤与复盘见 /crisis status #1、/crisis report #1 / "
                           "run #1 is resolved: it has no next steps")


def test_next_on_a_cancelled_run_in_an_english_channel(make_bot):
    d = CrisisDriver(make_bot({"channels": CHANNELS}))
    d.run("/crisis start rumor fake screenshot")
    d.run("/crisis cancel duplicate")
    (answer,) = d.run("/crisis next #1")
    assert not answer.all_buttons()
    assert answer.text == ("Run #1 is cancelled: it has no next steps. Its steps and review: /crisis status #1, "
                           "/crisis report #1")
