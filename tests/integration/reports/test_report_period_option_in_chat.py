"""`/report --period 7d` in chat (the form `crisisbot report` takes) is the period, as `/report 7d` is; it
used to be refused with "最多一个周期参数 / at most one period"."""

from __future__ import annotations


def test_report_period_option_is_taken_as_the_period(bot, run_command):
    [reply] = run_command("/report --period 7d", channel="console:lanji")
    assert "最多一个周期" not in (reply.text or ""), reply.text
    # a span up to now, named as one: "周报" is the last whole week (/report 周报)
    assert reply.title and "近 7 天报告 / report for the last 7 days" in reply.title, (reply.title, reply.text)
    [plain] = run_command("/report 7d", channel="console:lanji")
    assert plain.title == reply.title


def test_report_period_option_with_equals_sign(bot, run_command):
    [reply] = run_command("/report --period=30d", channel="console:lanji")
    assert reply.title and "近 30 天报告 / report for the last 30 days" in reply.title, (reply.title, reply.text)


def test_a_bad_period_given_as_an_option_is_still_explained(bot, run_command):
    [reply] = run_command("/report --period 0d", channel="console:lanji")
    assert "周期无效 / bad period: '0d'" in reply.text, reply.text


def test_the_period_given_twice_or_without_a_value_is_refused_with_the_chat_form(bot, run_command):
    [twice] = run_command("/report 24h --period 7d", channel="console:lanji")
    assert twice.text.startswith("周期只写一次") or "周期只写一次：/report 7d" in twice.text, twice.text
    [empty] = run_command("/report --period", channel="console:lanji")
    assert "--period 后要写周期，例如 /report 7d" in empty.text, empty.text
