"""A comment list that is not a list in the platform's answer (a text, an object, a number) is a malformed
answer, failed as transient and named: iterated, a text became a junk record per character (dead-lettered,
the source warning that all its "records" were rejected) and a number an internal error with a traceback."""

from __future__ import annotations

import pytest

from tests.integration.pollers.helpers import dead_letters

NOT_LISTS = ["abc", {"rpid": 1}, 5]


@pytest.mark.parametrize("replies", NOT_LISTS, ids=["text", "object", "number"])
def test_a_bilibili_reply_list_that_is_not_a_list_is_a_malformed_answer(make_bot, fakes, db, replies):
    fakes["bilibili"].replies["170001"] = []
    fakes["bilibili"].script("/x/v2/reply/wbi/main", body={
        "code": 0, "message": "0", "data": {"replies": replies, "cursor": {"is_end": True}}})
    outcome = make_bot().services.sources.poll("bili")
    assert outcome.status == "failed", outcome
    assert outcome.reason.startswith("transient: 答复中的 data.replies 不是列表"), outcome.reason
    assert "internal error" not in outcome.reason and dead_letters(db) == []


@pytest.mark.parametrize("entries", NOT_LISTS, ids=["text", "object", "number"])
def test_a_douyin_comment_list_that_is_not_a_list_is_a_malformed_answer(make_bot, fakes, db, entries):
    fakes["douyin"].script("/item/comment/list/", body={
        "data": {"list": entries, "has_more": False, "cursor": 0, "error_code": 0}, "extra": {"error_code": 0}})
    outcome = make_bot().services.sources.poll("dy")
    assert outcome.status == "failed", outcome
    assert "data.list in the answer is not a list" in outcome.reason and dead_letters(db) == []


def test_an_empty_object_for_an_empty_list_is_read_as_no_comments(make_bot, fakes):
    fakes["douyin"].script("/item/comment/list/", body={
        "data": {"list": {}, "has_more": False, "cursor": 0, "error_code": 0}, "extra": {"error_code": 0}})
    assert make_bot().services.sources.poll("dy").status == "ok"
