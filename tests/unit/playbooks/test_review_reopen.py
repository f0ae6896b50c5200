"""A reopened step in the review: its "重开" timeline row (who, when, the earlier answer, the reason) after the
earlier answer, the new answer in the steps table, and one follow-up line per reopen in Chinese and English;
`/crisis timeline` words the entry as the review does."""

from __future__ import annotations

from bot.playbooks.machine import Answer, Done, Reopen, Resolve, Start
from bot.playbooks.render import RunView, timeline_message
from bot.playbooks.review import render_review, review_summary
from tests.unit.playbooks.test_machine import nested_playbook
from tests.unit.playbooks.test_review_summary import T0, review_input

START, DONE = (Start("console:lead"), 0), (Done("a", "console:ops"), 10)
REOPENED = [
    START, DONE,
    (Answer("q1", "否", "console:lead"), 30),
    (Reopen("q1", "console:bob", "核实有误 | 截图是伪造的"), 40),
    (Answer("q1", "是", "console:lead"), 45),
    (Resolve("console:lead", "平息"), 120),
]
# the same run answered right the first time
STRAIGHT = [START, DONE, (Answer("q1", "是", "console:lead"), 45), (Resolve("console:lead", "平息"), 120)]


def _follow_ups(summary: str) -> int:
    return int(summary.split("待改进 / Follow-ups：")[1].split(" 项")[0])


def test_the_review_shows_the_reopen_the_earlier_answer_and_the_new_one():
    data = review_input(REOPENED)
    review = render_review(data)
    rows = review.split("## 时间线 / Timeline")[1].split("## 步骤与时限")[0].splitlines()
    first = next(i for i, row in enumerate(rows) if "| 判断 | q1 Q1：否 |" in row)
    reopened = next(i for i, row in enumerate(rows) if "| bob | 重开 |" in row)
    again = next(i for i, row in enumerate(rows) if "| 判断 | q1 Q1：是 |" in row)
    assert first < reopened < again, rows  # the earlier answer stays, as history
    # a "|" typed in the reason does not break the table
    assert rows[reopened] == "| 2026-03-01 08:40 | bob | 重开 | q1 Q1（原答案：否；原因：核实有误 \\| 截图是伪造的） |"
    assert "| q1 Q1 | 指挥 | 完成：是 |" in review  # the new answer
    follow_ups = review.split("## 待改进 / Follow-ups")[1]
    assert ("- q1 Q1：2026-03-01 08:40 重开，原因 核实有误 | 截图是伪造的 / reopened at 2026-03-01 08:40"
            in follow_ups), follow_ups
    # the chat summary counts it among the follow-ups: one more than the same run answered right at once
    assert _follow_ups(review_summary(data, filename="r.md")) == _follow_ups(
        review_summary(review_input(STRAIGHT), filename="r.md")) + 1


def test_the_timeline_command_shows_who_reopened_what_and_why():
    data = review_input(REOPENED)
    view = RunView(id=7, channel="console:lanji", title="t", severity=1, account=None, playbook=nested_playbook(),
                   state=data.state, version=1, started_by="console:lead", alert_id=None, variables={},
                   normal_max=None, baseline_share=None, last_status_at=T0, exit_hint_at=None)
    text = timeline_message(view, data.timeline, "Asia/Shanghai").text
    assert "03-01 08:40 bob 重开 q1：Q1（原答案：否；原因：核实有误 | 截图是伪造的）" in text, text
