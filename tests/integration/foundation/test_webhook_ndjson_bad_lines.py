"""An NDJSON line that is not JSON is one rejected record, not a rejected batch: real HTTP into the running
app's webhook, on SQLite and PostgreSQL. The good lines are stored, the bad one is answered at its index
with its line and column (Chinese first with English) and kept raw as a dead letter, as `crisisbot ingest`
does for the same JSONL. A body none of whose lines is JSON is still a 400 that stores nothing."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlmodel import func, select

from bot.storage.models import Comment, DeadLetter
from tests.support.asgi_server import running_server

#: the first batch loads the sentiment model: seconds on a busy machine, past httpx's 5 s default
TIMEOUT = 30
NDJSON = {"Authorization": "Bearer test-ingest-token", "Content-Type": "application/x-ndjson"}


def record(comment_id: str, **over) -> dict:
    base = {"platform": "bilibili", "account_id": "xiaochu_kitchen", "content_id": "BV1", "comment_id": comment_id,
            "text": "锅好用吗？", "created_at": 1763813700}
    base.update(over)
    return base


def line(rec: dict) -> str:
    return json.dumps(rec, ensure_ascii=False)


@pytest.fixture
def post(bot):
    with running_server(bot.web) as url:
        def send(body: str) -> httpx.Response:
            return httpx.post(f"{url}/api/v1/comments", content=body.encode(), headers=NDJSON, timeout=TIMEOUT)

        yield send


def stored(db) -> tuple[list[str], list[DeadLetter]]:
    with db.session() as s:
        ids = sorted(s.exec(select(Comment.comment_id)).all())
        letters = list(s.exec(select(DeadLetter).order_by(DeadLetter.id)).all())
        for letter in letters:
            s.expunge(letter)
    return ids, letters


def test_a_broken_second_line_is_rejected_alone_and_the_first_is_stored(post, db):
    broken = '{"platform": "bilibili", "comment_id": "2", "text": '
    response = post(line(record("1")) + "\n" + broken + "\n")
    assert response.status_code == 200, response.text
    data = response.json()
    assert {"accepted", "duplicates", "rejected", "results"} <= set(data)  # the pinned keys (more may be added)
    assert (data["accepted"], data["duplicates"], data["rejected"]) == (1, 0, 1)
    assert data["results"][0] == {"index": 0, "status": "accepted"}
    assert data["results"][1] == {
        "index": 1, "status": "rejected",
        "reason": f"JSON 格式错误（第 2 行第 {len(broken) + 1} 列）/ malformed JSON at line 2 column {len(broken) + 1}: "
                  "Expecting value",
    }
    ids, letters = stored(db)
    assert ids == ["1"]
    [letter] = letters
    assert (letter.source, letter.raw, letter.reason) == ("webhook", broken, data["results"][1]["reason"])


def test_indexes_count_records_and_reasons_name_the_line_in_the_body(post, db):
    """Blank lines are no records (no index) but count for the line number, "\\r\\n" included."""
    body = "\r\n".join([line(record("a")), "", '{"x": }', "   ", line(record("b")), "not json at all", ""])
    data = post(body).json()
    assert [(r["index"], r["status"]) for r in data["results"]] == [
        (0, "accepted"), (1, "rejected"), (2, "accepted"), (3, "rejected")]
    assert data["results"][1]["reason"].startswith("JSON 格式错误（第 3 行第 7 列）/ malformed JSON at line 3 column 7")
    assert data["results"][3]["reason"].startswith("JSON 格式错误（第 6 行第 1 列）/ malformed JSON at line 6 column 1")
    ids, letters = stored(db)
    assert ids == ["a", "b"]
    assert [letter.raw for letter in letters] == ['{"x": }', "not json at all"]


def test_a_line_the_parser_refuses_beyond_syntax_is_a_rejection_too(post, db):
    """A 5000-digit number (int() refuses it) on one line: that line is rejected, its neighbour stored."""
    huge = '{"like_count": ' + "9" * 5000 + "}"
    data = post(f"{huge}\n{line(record('ok'))}\n").json()
    assert [r["status"] for r in data["results"]] == ["rejected", "accepted"]
    assert data["results"][0]["reason"].startswith("JSON 格式错误（第 1 行）/ malformed JSON at line 1: ")
    ids, letters = stored(db)
    assert ids == ["ok"] and len(letters) == 1 and letters[0].raw == huge


def test_resending_the_batch_stores_nothing_twice(post, db):
    """The sender retries after a lost answer: the comment is a duplicate, the bad line one dead letter."""
    body = f"{line(record('r1'))}\n{{broken\n"
    assert post(body).json()["accepted"] == 1
    again = post(body).json()
    assert [r["status"] for r in again["results"]] == ["duplicate", "rejected"]
    ids, letters = stored(db)
    assert ids == ["r1"] and len(letters) == 1


@pytest.mark.parametrize("body", ['{"platform": \n', "{broken\n\nalso broken\r\n", "hello world"])
def test_a_body_with_no_json_line_is_400_and_stores_nothing(post, db, body):
    response = post(body)
    assert response.status_code == 400
    data = response.json()
    assert data["error"] == "malformed_json" and data["line"] == 1 and data["column"] >= 1
    assert data["message"].startswith("JSON 格式错误（第 1 行第 ") and "/ malformed JSON at line 1 column" in data["message"]
    with db.session() as s:
        assert s.exec(select(func.count()).select_from(Comment)).one() == 0
        assert s.exec(select(func.count()).select_from(DeadLetter)).one() == 0


def test_a_json_line_that_is_not_a_record_still_counts_as_ndjson(post, db):
    """A body whose only JSON line is no comment record is NDJSON with two rejected records (not a 400):
    both are dead letters with their own reasons."""
    data = post('{"a": 1}\n{"b": }\n').json()
    assert [r["status"] for r in data["results"]] == ["rejected", "rejected"]
    # every required field missing: named together in one problem (bot/feeds/ingest.py compact_reason)
    assert data["results"][0]["reason"].startswith("platform, account_id, content_id, comment_id, text, created_at: 缺少必填字段")
    assert data["results"][1]["reason"].startswith("JSON 格式错误（第 2 行第 7 列）")
    assert len(stored(db)[1]) == 2
