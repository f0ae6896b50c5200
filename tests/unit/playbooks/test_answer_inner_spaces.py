"""A space typed inside a Chinese answer ("不 属实", "部分 属实", an IME's full-width space) is that answer:
it was read as the answer "不" with a remark, found no answer, and the decision was refused."""

from __future__ import annotations

import pytest

from bot.playbooks.machine import Done, TransitionRejected, apply, split_answer
from tests.unit.playbooks.test_answers_en import T0, _run


@pytest.mark.parametrize(("typed", "stored", "remark"), [("不 属实", "不属实", ""), ("属　实", "属实", ""),
                                                         ("不 属实 已核对批次", "不属实", "已核对批次"),
                                                         ("属实 不 属实", "属实", "不 属实")])
def test_a_space_typed_inside_a_chinese_answer_is_that_answer(typed, stored, remark):
    state = apply(_run(), Done("q", "u", note=typed), T0).state
    assert state.step("q").answer == stored
    assert (split_answer(state.step("q"), typed) or ("", ""))[1] == remark


def test_words_that_are_no_answer_stay_refused():
    with pytest.raises(TransitionRejected):
        apply(_run(), Done("q", "u", note="不 确定"), T0)
