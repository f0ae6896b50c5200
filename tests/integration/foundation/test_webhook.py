"""Real HTTP into the real ASGI app under uvicorn."""

import json

import httpx
import pytest
from sqlmodel import func, select

from bot.storage.models import Comment, DeadLetter
from tests.support.asgi_server import running_server

TOKEN = "test-ingest-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def record(comment_id, **over):
    base = {
        "platform": "bilibili",
        "account_id": "xiaochu_kitchen",
        "content_id": "BV1",
        "comment_id": comment_id,
        "text": "锅好用吗？",
        "created_at": 1763813700,
    }
    base.update(over)
    return base


def test_batch_with_bad_records_stores_the_good_ones(base_url, db):
    body = [record("1"), record("2", created_at="not a time"), record("3"), record("1", like_count=9)]
    response = httpx.post(f"{base_url}/api/v1/comments", json=body, headers=AUTH)
    assert response.status_code == 200
    data = response.json()
    assert data["accepted"] == 2 and data["duplicates"] == 1 and data["rejected"] == 1
    assert [r["status"] for r in data["results"]] == ["accepted", "rejected", "accepted", "duplicate"]
    assert [r["index"] for r in data["results"]] == [0, 1, 2, 3]
    assert "created_at" in data["results"][1]["reason"]
    with db.session() as s:
        assert s.exec(select(func.count()).select_from(Comment)).one() == 2
        assert s.exec(select(func.count()).select_from(DeadLetter)).one() == 1


def test_ndjson_is_accepted(base_url):
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in [record("a"), record("b")]) + "\n"
    response = httpx.post(
        f"{base_url}/api/v1/comments", content=body.encode(), headers={**AUTH, "Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 200 and response.json()["accepted"] == 2


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}])
def test_missing_or_wrong_token_is_401_and_stores_nothing(base_url, db, headers):
    response = httpx.post(f"{base_url}/api/v1/comments", json=[record("1")], headers=headers)
    assert response.status_code == 401
    with db.session() as s:
        assert s.exec(select(func.count()).select_from(Comment)).one() == 0


def test_other_content_types_are_415(base_url):
    response = httpx.post(f"{base_url}/api/v1/comments", content=b"a,b", headers={**AUTH, "Content-Type": "text/csv"})
    assert response.status_code == 415


def test_malformed_json_is_400_with_position(base_url):
    response = httpx.post(
        f"{base_url}/api/v1/comments", content=b'[{"platform": "douyin",\n "x": }]',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    data = response.json()
    assert data["line"] == 2 and "position" in data


def test_oversized_body_is_413_without_reading_it_all(bot):
    bot.services.settings.ingest_max_bytes = 1000
    from bot.app import create_web_app

    with running_server(create_web_app(bot)) as url:
        big = json.dumps([record(str(i)) for i in range(100)]).encode()
        response = httpx.post(f"{url}/api/v1/comments", content=big, headers={**AUTH, "Content-Type": "application/json"})
        assert response.status_code == 413

        def chunks():  # no Content-Length: the limit is enforced while streaming
            for _ in range(50):
                yield b" " * 100

        response = httpx.post(f"{url}/api/v1/comments", content=chunks(), headers={**AUTH, "Content-Type": "application/json"})
        assert response.status_code == 413


def test_healthz_and_metrics(base_url):
    httpx.post(f"{base_url}/api/v1/comments", json=[record("m1"), {"bad": 1}], headers=AUTH)
    assert httpx.get(f"{base_url}/healthz").json()["status"] == "ok"
    metrics = httpx.get(f"{base_url}/metrics").text
    assert "crisisbot_comments_ingested_total" in metrics
    assert "crisisbot_comments_rejected_total" in metrics
    assert "crisisbot_messages_queued_total" in metrics


def test_values_that_cannot_be_stored_are_rejected_per_record_not_a_500(base_url, db):
    body = [record("1"), record("2", like_count=100000000000000000000), record("3", created_at="²"),
            record("4", created_at="9999-12-31T23:59:59-08:00"), record("5", text="好\ud800用"), record("6")]
    # ASCII JSON: the lone surrogate travels as the escape \ud800, as a broken upstream encoder sends it
    response = httpx.post(f"{base_url}/api/v1/comments", content=json.dumps(body).encode(),
                          headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    data = response.json()
    assert [r["status"] for r in data["results"]] == ["accepted", "rejected", "rejected", "rejected", "accepted", "accepted"]
    assert "like_count" in data["results"][1]["reason"] and "created_at" in data["results"][2]["reason"]
    with db.session() as s:
        texts = dict(s.exec(select(Comment.comment_id, Comment.text)).all())
        assert s.exec(select(func.count()).select_from(DeadLetter)).one() == 3
    assert sorted(texts) == ["1", "5", "6"] and texts["5"] == "好\ufffd用"


def test_a_redelivery_without_counts_keeps_the_stored_ones(base_url, db):
    first = record("u1", like_count=800, reply_count=12, author_followers=50000, content_title="标题A")
    assert httpx.post(f"{base_url}/api/v1/comments", json=[first], headers=AUTH).json()["accepted"] == 1
    assert httpx.post(f"{base_url}/api/v1/comments", json=[record("u1")], headers=AUTH).json()["duplicates"] == 1
    with db.session() as s:
        row = s.exec(select(Comment)).one()
    assert (row.like_count, row.reply_count, row.author_followers, row.content_title) == (800, 12, 50000, "标题A")


def test_ndjson_keeps_line_separators_inside_strings(base_url, db):
    texts = ["第一段\u2028第二段", "段落\u2029结束", "下一行\x85字"]
    body = "\r\n".join(json.dumps(record(str(i), text=t), ensure_ascii=False) for i, t in enumerate(texts)) + "\r\n"
    response = httpx.post(f"{base_url}/api/v1/comments", content=body.encode(),
                          headers={**AUTH, "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 3
    with db.session() as s:
        assert sorted(s.exec(select(Comment.text)).all()) == sorted(texts)


def test_a_number_python_will_not_parse_is_400_not_500(base_url):
    response = httpx.post(f"{base_url}/api/v1/comments", content=b'[{"like_count": ' + b"9" * 5000 + b"}]",
                          headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "malformed_json"


@pytest.mark.parametrize("charset", ["gbk", "GB2312", '"gb18030"'])
def test_a_body_in_the_charset_it_declares_is_read(base_url, db, charset):
    # Chinese exporters send GBK and say so; it was refused as "not UTF-8"
    body = json.dumps([record("g1", text="质量太差了，退款！")], ensure_ascii=False).encode("gb18030")
    response = httpx.post(f"{base_url}/api/v1/comments", content=body,
                          headers={**AUTH, "Content-Type": f"application/json; charset={charset}"})
    assert response.status_code == 200, response.text
    with db.session() as s:
        assert s.exec(select(Comment.text)).one() == "质量太差了，退款！"


@pytest.mark.parametrize("charset", ["gbk", "us-ascii", "ISO-8859-1"])
def test_utf8_is_read_as_utf8_whatever_charset_is_declared(base_url, db, charset):
    # a client that says gbk but sends UTF-8 had its Chinese stored as mojibake; a client library's default
    # us-ascii / iso-8859-1 label on a UTF-8 JSON body was refused with 415
    body = json.dumps([record("u1", text="质量太差了，退款！")], ensure_ascii=False).encode("utf-8")
    response = httpx.post(f"{base_url}/api/v1/comments", content=body,
                          headers={**AUTH, "Content-Type": f"application/json; charset={charset}"})
    assert response.status_code == 200, response.text
    with db.session() as s:
        assert s.exec(select(Comment.text)).one() == "质量太差了，退款！"


def test_an_unsupported_charset_is_415_naming_it(base_url):
    response = httpx.post(f"{base_url}/api/v1/comments", content=json.dumps([record("1")]).encode("utf-16"),
                          headers={**AUTH, "Content-Type": "application/json; charset=utf-16"})
    assert response.status_code == 415 and response.json()["error"] == "unsupported_charset"
    assert "utf-16" in response.json()["message"]


@pytest.mark.parametrize(("content", "expected"), [
    (b'[{"like_count": ' + b"9" * 5001 + b"}]", "数字位数过多（超过 4300 位）/ a number with too many digits"),
    (b"[" * 100_000 + b"]" * 100_000, "嵌套层数过多 / nested too deeply"),
])
def test_json_the_parser_refuses_is_explained_without_python_internals(base_url, content, expected):
    response = httpx.post(f"{base_url}/api/v1/comments", content=content,
                          headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert expected in response.json()["message"] and "sys.set_int_max_str_digits" not in response.json()["message"]
