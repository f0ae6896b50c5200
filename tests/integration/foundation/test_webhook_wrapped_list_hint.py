"""Alerts probe: `{"comments": [...]}` posted to the webhook is read as one comment (the accepted shapes
stay: a JSON array, NDJSON, and one object as one comment), and its rejection listed the fields it lacks as
a comment. The reason now says first that a list of comments is sent as a JSON array or NDJSON."""

from __future__ import annotations

import json

import httpx
from sqlmodel import select

from bot.storage.models import DeadLetter
from tests.integration.foundation.test_webhook import record

AUTH = {"Authorization": "Bearer test-ingest-token"}


def test_a_list_wrapped_in_an_object_is_rejected_with_a_hint(base_url, db):
    response = httpx.post(f"{base_url}/api/v1/comments", json={"comments": [record("1"), record("2")]}, headers=AUTH)
    assert response.status_code == 200  # as before: a rejected record, not a refused body
    data = response.json()
    assert (data["accepted"], data["rejected"]) == (0, 1)
    (result,) = data["results"]
    reason = result["reason"]
    assert result["index"] == 0 and result["status"] == "rejected"
    assert reason.startswith("请求体是一个对象，评论列表在其 'comments' 字段中：多条评论请直接发送 JSON 数组"), reason
    assert "NDJSON" in reason and "send a list of comments as a JSON array itself" in reason
    assert reason.index("多条评论") < reason.index("send a list")  # Chinese first
    assert "missing required fields" in reason  # what the object lacks as a comment, as before
    with db.session() as s:
        (letter,) = s.exec(select(DeadLetter)).all()
    assert letter.reason == reason and '"comments"' in letter.raw


def test_the_accepted_shapes_stay(base_url):
    one = httpx.post(f"{base_url}/api/v1/comments", json=record("1"), headers=AUTH).json()
    assert (one["accepted"], one["rejected"]) == (1, 0)  # one object is one comment
    # a whole comment that carries a list of its own is still that comment
    tagged = httpx.post(f"{base_url}/api/v1/comments", json=record("2", tags=["a"]), headers=AUTH).json()
    assert (tagged["accepted"], tagged["rejected"]) == (1, 0), tagged
    array = httpx.post(f"{base_url}/api/v1/comments", json=[record("3"), record("4")], headers=AUTH).json()
    assert array["accepted"] == 2
    # an object with no list is rejected as the comment it is, without the hint
    lone = httpx.post(f"{base_url}/api/v1/comments", json={"comment_id": "5"}, headers=AUTH).json()
    assert lone["rejected"] == 1 and "JSON 数组" not in lone["results"][0]["reason"]


def test_an_ndjson_line_wrapping_a_list_is_rejected_with_the_ndjson_hint(base_url, db):
    wrapped = json.dumps({"comments": [record("2"), record("3")]}, ensure_ascii=False)
    body = "\n".join([json.dumps(record("1")), wrapped, json.dumps(record("4"))]) + "\n"
    response = httpx.post(f"{base_url}/api/v1/comments", content=body.encode(),
                          headers={**AUTH, "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200
    data = response.json()
    assert (data["accepted"], data["rejected"]) == (2, 1)
    rejected = [result for result in data["results"] if result["status"] == "rejected"]
    assert [result["index"] for result in rejected] == [1]  # in place: the good lines around it are stored
    reason = rejected[0]["reason"]
    assert reason.startswith("第 2 行是一个对象，评论列表在其 'comments' 字段中：NDJSON 每行应是一条评论"), reason
    assert "in NDJSON each line is one comment" in reason and "missing required fields" in reason
    with db.session() as s:
        (letter,) = s.exec(select(DeadLetter)).all()
    assert letter.reason == reason and letter.raw == wrapped


def test_a_wrapping_line_beside_a_malformed_one_is_still_read_as_ndjson(base_url):
    body = "{not json\n" + json.dumps({"comments": [record("2")]}) + "\n"
    response = httpx.post(f"{base_url}/api/v1/comments", content=body.encode(),
                          headers={**AUTH, "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200, response.text  # one line is JSON: a batch with two rejections, not a 400
    reasons = [result["reason"] for result in response.json()["results"]]
    assert "malformed JSON at line 1" in reasons[0] and reasons[1].startswith("第 2 行是一个对象")
