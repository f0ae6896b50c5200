"""Webhook probe: NDJSON joined from Windows exports (a byte-order mark at the start of every line), NDJSON
sent as `application/json`, and a JSON array sent as `application/x-ndjson`. Real HTTP into the running app.

- A BOM at the start of any NDJSON line is ignored, as the one at the start of the body is (lines 2+ were
  rejected "Unexpected UTF-8 BOM").
- NDJSON sent as application/json stays a 400 `malformed_json` (pinned), but says it is NDJSON and which
  Content-Type to send it with.
- A body that is one whole JSON array sent as NDJSON (on one line or pretty-printed) is read as the array it
  is, as application/json reads it: the body is no NDJSON of comments either way (a line holding a list is
  never a comment), and the file import reads the same text as an array. A line holding an array among other
  lines stays a rejection, whose reason now says how to send an array."""

from __future__ import annotations

import json

import httpx
from sqlmodel import func, select

from bot.storage.models import Comment, DeadLetter
from tests.integration.foundation.test_webhook import record

AUTH = {"Authorization": "Bearer test-ingest-token"}
JSON = {**AUTH, "Content-Type": "application/json"}
NDJSON = {**AUTH, "Content-Type": "application/x-ndjson"}
BOM = "\ufeff"


def url(base: str) -> str:
    return f"{base}/api/v1/comments"


def line(rec: dict) -> str:
    return json.dumps(rec, ensure_ascii=False)


def stored(db) -> list[str]:
    with db.session() as s:
        return sorted(s.exec(select(Comment.comment_id)).all())


# ---- 1. a byte-order mark at the start of every line ---------------------------------------------------
def test_a_bom_at_the_start_of_every_ndjson_line_is_ignored(base_url, db):
    body = "\r\n".join(BOM + line(record(str(n))) for n in (1, 2, 3)) + "\r\n"
    response = httpx.post(url(base_url), content=body.encode(), headers=NDJSON)
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["accepted"], data["rejected"]) == (3, 0), data
    assert stored(db) == ["1", "2", "3"]


def test_a_line_of_a_bom_alone_is_blank_and_a_bad_line_after_a_bom_is_placed_right(base_url, db):
    """An empty export with its BOM joined in is a blank line (no record, no index); a malformed line after
    a BOM is rejected for what follows the mark, its column counted as at the start of the body and its
    `position` still a byte offset in the body as sent."""
    body = f"{BOM}{line(record('a'))}\n{BOM}\n{BOM}{{x\n{BOM}{line(record('b'))}\n".encode()
    data = httpx.post(url(base_url), content=body, headers=NDJSON).json()
    assert [(r["index"], r["status"]) for r in data["results"]] == [(0, "accepted"), (1, "rejected"), (2, "accepted")]
    reason = data["results"][1]["reason"]
    assert reason.startswith("JSON 格式错误（第 3 行第 2 列）/ malformed JSON at line 3 column 2"), reason
    assert "BOM" not in reason
    with db.session() as s:
        (letter,) = s.exec(select(DeadLetter)).all()
    assert letter.raw == "{x"  # the mark is no part of the record
    # a body of that line alone is a 400 pointing at the byte after the "{"
    alone = f"{BOM}\n{BOM}{{x\n".encode()
    refused = httpx.post(url(base_url), content=alone, headers=NDJSON)
    assert refused.status_code == 400 and alone[refused.json()["position"]:][:1] == b"x", refused.text


# ---- 2. NDJSON sent as application/json ---------------------------------------------------------------
def test_ndjson_sent_as_json_is_a_400_that_names_ndjson_and_its_content_type(base_url, db):
    body = (line(record("1")) + "\n" + line(record("2")) + "\n").encode()
    response = httpx.post(url(base_url), content=body, headers=JSON)
    assert response.status_code == 400  # pinned: the status and the code stay
    data = response.json()
    assert data["error"] == "malformed_json" and (data["line"], data["column"]) == (2, 1)
    assert body[data["position"]:][:1] == b"{"
    message = data["message"]
    assert message.startswith("JSON 格式错误（第 2 行第 1 列）"), message
    assert "NDJSON" in message and "Content-Type: application/x-ndjson" in message
    assert "several JSON documents, one per line" in message and "Extra data" in message
    assert message.index("每行") < message.index("one per line")  # Chinese first
    assert stored(db) == []


def test_extra_data_that_is_no_second_line_gets_no_ndjson_hint(base_url):
    for body in (line(record("1")) + " x", line(record("1")) + ", " + line(record("2"))):
        data = httpx.post(url(base_url), content=body.encode(), headers=JSON).json()
        assert data["error"] == "malformed_json" and "Extra data" in data["message"]
        assert "x-ndjson" not in data["message"], body


# ---- 3. a JSON array sent as NDJSON -------------------------------------------------------------------
def test_a_json_array_sent_as_ndjson_is_read_as_the_array(base_url, db):
    records = [record("1"), record("2", created_at="not a time"), record("3")]
    for body in (json.dumps(records, ensure_ascii=False), json.dumps(records, ensure_ascii=False, indent=2)):
        response = httpx.post(url(base_url), content=body.encode(), headers=NDJSON)
        assert response.status_code == 200, response.text
        data = response.json()
        as_json = httpx.post(url(base_url), content=body.encode(), headers=JSON).json()
        # the answer application/json gives the same body (its records are duplicates by then)
        assert set(data) == set(as_json) == {"accepted", "duplicates", "rejected", "results", "rejection_reasons"}
        assert [r["index"] for r in data["results"]] == [r["index"] for r in as_json["results"]] == [0, 1, 2]
        assert [r["status"] for r in data["results"]][1] == "rejected"
        assert "created_at" in data["results"][1]["reason"]
    assert stored(db) == ["1", "3"]


def test_an_ndjson_line_holding_an_array_is_rejected_saying_how_to_send_an_array(base_url, db):
    body = "\n".join([line(record("1")), json.dumps([record("2"), record("3")]), line(record("4"))]) + "\n"
    data = httpx.post(url(base_url), content=body.encode(), headers=NDJSON).json()
    assert [(r["index"], r["status"]) for r in data["results"]] == [(0, "accepted"), (1, "rejected"), (2, "accepted")]
    reason = data["results"][1]["reason"]
    assert reason.startswith("第 2 行是一个 JSON 数组"), reason
    assert "application/json" in reason and "one comment per line" in reason
    assert reason.index("第 2 行") < reason.index("line 2")  # Chinese first
    assert stored(db) == ["1", "4"]


def test_a_broken_pretty_printed_array_sent_as_ndjson_says_how_to_send_an_array(base_url, db):
    """Not one array (a missing comma): read line by line as before, the "[" line's rejection saying that a
    JSON array is sent as application/json."""
    body = "[\n" + line(record("1")) + "\n" + line(record("2")) + "\n]\n"
    data = httpx.post(url(base_url), content=body.encode(), headers=NDJSON).json()
    first = data["results"][0]
    assert first["status"] == "rejected" and first["reason"].startswith("JSON 格式错误（第 1 行第 2 列）")
    assert "application/json" in first["reason"] and "one comment per line" in first["reason"]
    with db.session() as s:
        assert s.exec(select(func.count()).select_from(DeadLetter)).one() == 2  # "[" and "]"
