"""/reply-queue usage refusals carry English as well as Chinese (command answers are always bilingual)."""

from __future__ import annotations

import pytest

from .conftest import cmd


@pytest.mark.parametrize(("line", "english"), [
    ("/reply-queue --limit abc", "positive whole number"),
    ("/reply-queue stats --since", "--since takes a value"),
    ("/reply-queue lanji extra", "unexpected arguments"),
    ("/reply-queue stats a b", "unexpected arguments"),
    ("/reply-queue claim", "missing item id"),
    ("/reply-queue claim abc", "should be a number"),
    ("/reply-queue claim 99999999999999999999", "no such item id"),
    ("/reply-queue save-template only", "usage"),
])
def test_usage_refusals_are_bilingual(rq_bot, line, english):
    (reply,) = rq_bot.dispatcher.handle(cmd(line))
    first_line = reply.text.splitlines()[0]
    assert english in first_line, first_line
