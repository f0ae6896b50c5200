"""`/crisis severity 3级 原因`: a level typed with 级 after an Arabic digit (half or full width), as the
card's 一级/二级/三级 are read aloud, was refused with the whole usage while 三级 was taken."""

from __future__ import annotations

import pytest

from tests.integration.playbooks.helpers import CrisisDriver


@pytest.mark.parametrize(("typed", "level"), [("3级", "三级"), ("３级", "三级"), ("1级", "一级（最高）"), ("三级", "三级")])
def test_a_digit_with_ji_sets_that_level(bot, typed, level):
    d = CrisisDriver(bot)
    d.run("/crisis start rumor 假截图 --severity 2")
    text = d.text(f"/crisis severity {typed} 已降温")
    assert f"严重程度 二级 → {level}：已降温" in text, text


def test_other_words_are_still_refused(bot):
    d = CrisisDriver(bot)
    d.run("/crisis start rumor 假截图 --severity 2")
    assert "用法：/crisis severity 1|2|3 原因" in d.text("/crisis severity 4级 x")
