"""A platform's answer is outside data: one nested past the JSON parser's depth is a malformed page (not an
internal error with a traceback), and one larger than MAX_ANSWER_BYTES, declared or arriving compressed,
is refused while it is read instead of being held whole in memory."""

from __future__ import annotations

import gzip
import logging

import pytest

from bot.feeds.pollers import http as poller_http

DY_COMMENTS = "/item/comment/list/"
EMPTY_PAGE = b'{"data": {"list": [], "has_more": false, "cursor": 0}, "extra": {"error_code": 0}}'


def test_an_answer_nested_past_the_parser_is_not_json_not_an_internal_error(make_bot, fakes, caplog):
    fakes["douyin"].script(DY_COMMENTS, raw=b"[" * 200_000 + b"]" * 200_000)
    with caplog.at_level(logging.ERROR):
        outcome = make_bot().services.sources.poll("dy")
    assert outcome.status == "failed" and "not JSON" in outcome.reason, outcome
    assert "internal error" not in outcome.reason and "poll crashed" not in caplog.text


@pytest.mark.parametrize("compressed", [False, True], ids=["declared", "gzip"])
def test_an_answer_larger_than_the_limit_is_refused(make_bot, fakes, monkeypatch, compressed):
    monkeypatch.setattr(poller_http, "MAX_ANSWER_BYTES", 64 * 1024)
    body = b" " * (256 * 1024) + EMPTY_PAGE  # valid JSON: only its size is wrong
    if compressed:  # a few hundred bytes on the wire, 256 KiB once decompressed
        fakes["douyin"].script(DY_COMMENTS, raw=gzip.compress(body), headers={"Content-Encoding": "gzip"})
    else:
        fakes["douyin"].script(DY_COMMENTS, raw=body)
    outcome = make_bot().services.sources.poll("dy")
    assert outcome.status == "failed" and outcome.reason.startswith("transient"), outcome
    assert "larger than" in outcome.reason, outcome


def test_an_answer_within_the_limit_is_read_as_before(make_bot, fakes, monkeypatch):
    monkeypatch.setattr(poller_http, "MAX_ANSWER_BYTES", 64 * 1024)
    fakes["douyin"].script(DY_COMMENTS, raw=gzip.compress(b" " * 1024 + EMPTY_PAGE), headers={"Content-Encoding": "gzip"})
    assert make_bot().services.sources.poll("dy").status == "ok"


WB_COMMENTS = "/2/comments/show.json"


def test_a_platforms_own_error_text_is_cut_short_and_inert(make_bot, fakes, db):
    """The platform's error message goes into the poll's reason: the log line, `crisisbot sources`, the chat
    notice. A page of it (or a markdown link in it) must not go there as sent."""
    said = "[官方客服](http://phish.example/) " + "错误" * 50_000
    fakes["weibo"].script(WB_COMMENTS, body={"error_code": 10001, "error": said})  # 10001: system busy
    outcome = make_bot().services.sources.poll("wb")
    assert outcome.status == "failed" and "weibo error_code 10001" in outcome.reason, outcome
    assert len(outcome.reason) < 400 and outcome.reason.endswith("…"), outcome.reason
    assert "[官方客服](" not in outcome.reason and "［官方客服］(" in outcome.reason
