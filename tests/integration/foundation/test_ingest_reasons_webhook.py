"""The webhook answers in the same shape as before (keys, codes, path), with the human-readable text Chinese
first with English: each rejected record's `reason` (also kept in the dead letter) and each error's
`message`."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from bot.storage.models import DeadLetter
from tests.integration.foundation.test_webhook import record

AUTH = {"Authorization": "Bearer test-ingest-token"}


def test_a_rejected_records_reason_is_chinese_first_with_english(base_url, db):
    missing_text = {k: v for k, v in record("2").items() if k != "text"}
    body = [record("1"), missing_text, record("3", created_at="yesterday")]
    response = httpx.post(f"{base_url}/api/v1/comments", json=body, headers=AUTH)
    assert response.status_code == 200
    data = response.json()
    assert {"accepted", "duplicates", "rejected", "results"} <= set(data)  # the pinned keys (more may be added)
    assert (data["accepted"], data["rejected"]) == (1, 2)
    assert data["results"][0] == {"index": 0, "status": "accepted"}
    assert data["results"][1] == {
        "index": 1, "status": "rejected",
        "reason": "text: 缺少必填字段（纯表情评论可为空字符串）/ missing required field (may be empty for sticker-only comments)",
    }
    assert data["results"][2] == {"index": 2, "status": "rejected",
                                  "reason": "created_at: 不是 ISO 8601 时间 / not ISO 8601: 'yesterday'"}
    with db.session() as s:
        reasons = [letter.reason for letter in s.exec(select(DeadLetter).order_by(DeadLetter.id)).all()]
    assert reasons == [data["results"][1]["reason"], data["results"][2]["reason"]]


@pytest.mark.parametrize(
    "content, content_type, code, message",
    [
        (b'[{"platform": "douyin",\n "x": }]', "application/json", "malformed_json",
         "JSON 格式错误（第 2 行第 7 列）/ malformed JSON at line 2 column 7: Expecting value"),
        # NDJSON none of whose lines is JSON (a JSON line beside it makes the bad one a per-record rejection)
        (b'\n{"b": }\n', "application/x-ndjson", "malformed_json",
         "JSON 格式错误（第 2 行第 7 列）/ malformed JSON at line 2 column 7: Expecting value"),
        (b'"text"', "application/json", "malformed_json",
         "应为评论记录的 JSON 数组 / expected a JSON array of comment records"),
        (b"\xff\xfe[]", "application/json", "bad_encoding", "请求体不是 UTF-8（第 0 字节）/ body is not UTF-8 (byte 0)"),
        (b"a,b", "text/csv", "unsupported_media_type",
         "请使用 application/json（数组）或 application/x-ndjson / use application/json (an array) or application/x-ndjson"),
    ],
)
def test_error_codes_stay_and_messages_are_bilingual(base_url, content, content_type, code, message):
    response = httpx.post(f"{base_url}/api/v1/comments", content=content,
                          headers={**AUTH, "Content-Type": content_type})
    assert response.status_code in (400, 415)
    data = response.json()
    assert data["error"] == code and data["message"] == message


def test_a_wrong_token_is_refused_in_both_languages(base_url):
    response = httpx.post(f"{base_url}/api/v1/comments", json=[], headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.json() == {
        "error": "unauthorized", "message": "缺少 Bearer 令牌或令牌错误 / missing or wrong bearer token"}
