"""Counts as Chinese exports write them ("1.2万", "3w", "1,234", full-width digits) are read, not a
reason to reject the comment; an optional count that is no number at all is left out with a visible
warning and the comment stored. Real HTTP into the webhook and real files through `crisisbot ingest`'s
import, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from rich.console import Console
from sqlmodel import select

from bot.config import Settings
from bot.importer import import_files
from bot.storage.db import Database
from bot.storage.models import Comment, DeadLetter

#: the first batch loads the sentiment model: seconds on a busy machine, past httpx's 5 s default
TIMEOUT = 30
AUTH = {"Authorization": "Bearer test-ingest-token"}
UNREADABLE = "无法识别的计数，未保存该计数（按未知处理），评论照常保存 / unreadable count, not stored (treated as unknown)"


def record(comment_id: str, **over) -> dict:
    base = {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
            "text": f"评论{comment_id}", "created_at": "2026-11-22T20:15:00+08:00"}
    base.update(over)
    return base


def rows(db) -> dict[str, Comment]:
    with db.session() as s:
        found = {c.comment_id: c for c in s.exec(select(Comment)).all()}
        for c in found.values():
            s.expunge(c)
    return found


def letters(db) -> list[DeadLetter]:
    with db.session() as s:
        return list(s.exec(select(DeadLetter)).all())


FORMATS = [
    ("1.2万", 12_000), ("1,234", 1_234), ("3w", 30_000), ("3W", 30_000), ("1.5k", 1_500), ("1.5K", 1_500),
    ("2亿", 200_000_000), ("1.2万+", 12_000), ("10w+", 100_000), ("１２３", 123), ("１，２３４", 1_234),
    (" 56 ", 56), ("\u300078\u3000", 78), ("1.2 万", 12_000), ("2.5千", 2_500), ("3.0", 3), ("12,345,678", 12_345_678),
]


def test_webhook_reads_chinese_count_formats(base_url, db):
    body = [record(f"c{i}", like_count=text, reply_count=text, author_followers=text) for i, (text, _) in enumerate(FORMATS)]
    response = httpx.post(f"{base_url}/api/v1/comments", json=body, headers=AUTH, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["accepted"] == len(FORMATS) and data["rejected"] == 0, data
    assert all(result == {"index": i, "status": "accepted"} for i, result in enumerate(data["results"]))
    stored = rows(db)
    for i, (text, number) in enumerate(FORMATS):
        row = stored[f"c{i}"]
        assert (row.like_count, row.reply_count, row.author_followers) == (number, number, number), text
        assert row.raw["like_count"] == text  # the payload keeps what was sent
    assert letters(db) == []


def test_an_unreadable_optional_count_is_left_out_with_a_warning_and_the_comment_kept(base_url, db):
    body = [record("u1", like_count="很多", author_followers="3w"), record("u2", reply_count="--"), record("u3")]
    data = httpx.post(f"{base_url}/api/v1/comments", json=body, headers=AUTH, timeout=TIMEOUT).json()
    assert (data["accepted"], data["rejected"]) == (3, 0)
    assert data["results"][0] == {"index": 0, "status": "accepted",
                                  "warning": f"like_count: {UNREADABLE}; the comment is stored: '很多'"}
    assert data["results"][1]["warning"] == f"reply_count: {UNREADABLE}; the comment is stored: '--'"
    assert data["results"][2] == {"index": 2, "status": "accepted"}
    stored = rows(db)
    assert (stored["u1"].text, stored["u1"].like_count, stored["u1"].author_followers) == ("评论u1", 0, 30_000)
    assert stored["u1"].raw["like_count"] == "很多"
    assert stored["u2"].reply_count == 0
    assert letters(db) == []


def test_an_unreadable_count_on_redelivery_keeps_the_stored_count(base_url, db):
    """Left out means not sent: a re-delivery with "很多" must not overwrite the 1.2万 already stored."""
    url = f"{base_url}/api/v1/comments"
    httpx.post(url, json=[record("k1", like_count="1.2万")], headers=AUTH, timeout=TIMEOUT)
    data = httpx.post(url, json=[record("k1", like_count="很多")], headers=AUTH, timeout=TIMEOUT).json()
    assert data["results"][0]["status"] == "duplicate" and "like_count" in data["results"][0]["warning"]
    assert rows(db)["k1"].like_count == 12_000


@pytest.mark.parametrize("value", ["-1", "3.5", -1, "1" * 30])
def test_a_number_that_is_no_count_still_rejects_its_record(base_url, db, value):
    """Readable but wrong (negative, a fraction, beyond a BIGINT): a bad field, refused with its reason as
    before; only text that is no number at all is left out."""
    data = httpx.post(f"{base_url}/api/v1/comments", json=[record("n1", like_count=value), record("n2")],
                      headers=AUTH, timeout=TIMEOUT).json()
    assert [r["status"] for r in data["results"]] == ["rejected", "accepted"]
    assert data["results"][0]["reason"].startswith("like_count: ")
    assert sorted(rows(db)) == ["n2"]


def test_a_csv_export_with_chinese_counts_is_imported_and_warnings_are_printed(tmp_path, app_config):
    """Through the import `crisisbot ingest` runs, on the SQLite file it opens itself."""
    path = tmp_path / "export.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["platform", "account_id", "content_id", "comment_id", "text", "created_at", "like_count",
                     "author_followers"])
    writer.writerow(["douyin", "lanji_official", "v1", "f1", "质量太差了", "2026-11-22T20:15:00+08:00", "1.2万", "3w"])
    writer.writerow(["douyin", "lanji_official", "v1", "f2", "还行", "2026-11-22T20:16:00+08:00", "1,234", " 2亿 "])
    writer.writerow(["douyin", "lanji_official", "v1", "f3", "好用", "2026-11-22T20:17:00+08:00", "好多", "5"])
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")
    url = f"sqlite:///{tmp_path / 'import.db'}"
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    out = io.StringIO()
    status = import_files(settings, app_config, [path], console=Console(file=out, width=400))
    output = out.getvalue()
    assert status == 0, output
    assert "新增 accepted 3, 重复更新 duplicates 0, 拒收 rejected 0" in output
    assert "已保存但有字段未保存 / stored with a field left out: 1" in output
    assert f"{path}:4: like_count: {UNREADABLE}" in output
    check = Database(url)
    try:
        stored = rows(check)
    finally:
        check.dispose()
    assert (stored["f1"].like_count, stored["f1"].author_followers) == (12_000, 30_000)
    assert (stored["f2"].like_count, stored["f2"].author_followers) == (1_234, 200_000_000)
    assert (stored["f3"].text, stored["f3"].like_count, stored["f3"].author_followers) == ("好用", 0, 5)
