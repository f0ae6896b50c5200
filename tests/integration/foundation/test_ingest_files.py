"""`crisisbot ingest FILE`: real files through the real import command. One damaged line or cell is
rejected with its line number; every other record of the file is stored."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from sqlmodel import select

from bot.config import Settings
from bot.importer import import_files
from bot.storage.db import Database
from bot.storage.models import Comment, DeadLetter


def record(comment_id: str, **over) -> dict:
    base = {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
            "text": f"评论{comment_id}", "created_at": "2026-11-22T20:15:00+08:00"}
    base.update(over)
    return base


def line(rec: dict) -> str:
    return json.dumps(rec, ensure_ascii=False)


@pytest.fixture
def run_import(tmp_path, app_config):
    db_path = tmp_path / "import.db"
    settings = Settings(_env_file=None, database_url=f"sqlite:///{db_path}")  # type: ignore[call-arg]

    def run(*paths: Path) -> tuple[int, str, dict[str, Comment], list[DeadLetter]]:
        out = io.StringIO()
        status = import_files(settings, app_config, list(paths), console=Console(file=out, width=300))
        db = Database(f"sqlite:///{db_path}")
        db.upgrade()  # an import that stored nothing does not create the database
        with db.session() as s:
            comments = {c.comment_id: c for c in s.exec(select(Comment)).all()}
            letters = list(s.exec(select(DeadLetter).order_by(DeadLetter.id)).all())
        db.dispose()
        return status, out.getvalue(), comments, letters

    return run


def test_a_bad_field_rejects_its_line_and_the_rest_of_the_file_is_stored(tmp_path, run_import):
    path = tmp_path / "feed.jsonl"
    bad = [record("b1", like_count=100000000000000000000), record("b2", created_at="²"),
           record("b3", created_at="0001-01-01T00:00:00+08:00")]
    path.write_text("\n".join(line(r) for r in [record("g1"), *bad, record("g2")]) + "\n", encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8") + '{"platform": "douyin", "account_id": "a", "content_id": "v", '
                    '"comment_id": "s1", "text": "坏\\ud800字", "created_at": 1763813700}\n', encoding="utf-8")
    status, output, comments, letters = run_import(path)
    assert status == 0, output
    assert sorted(comments) == ["g1", "g2", "s1"] and comments["s1"].text == "坏\ufffd字"
    assert [letter.position.rsplit(":", 1)[1] for letter in letters] == ["2", "3", "4"]
    assert "like_count" in letters[0].reason and "created_at" in letters[1].reason


def test_a_redelivered_file_without_counts_keeps_them(tmp_path, run_import):
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text(line(record("u1", like_count=800, reply_count=12, author_followers=50000, content_title="标题A")) + "\n",
                     encoding="utf-8")
    second.write_text(line(record("u1")) + "\n", encoding="utf-8")
    run_import(first)
    _status, _output, comments, _letters = run_import(second)
    row = comments["u1"]
    assert (row.like_count, row.reply_count, row.author_followers, row.content_title) == (800, 12, 50000, "标题A")


def test_a_csv_cell_over_the_csv_field_limit_rejects_only_its_row(tmp_path, run_import):
    path = tmp_path / "feed.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(record("x")))
        writer.writeheader()
        writer.writerows([record("c1"), record("c2", text="长" * 140_000), record("c3")])
    limit_before = csv.field_size_limit()
    status, output, comments, letters = run_import(path)
    assert status == 0, output
    assert sorted(comments) == ["c1", "c3"]
    [letter] = letters
    assert "text: 超过 50000 个字符 / longer than 50000 characters" in letter.reason and letter.position.endswith(":3")
    assert csv.field_size_limit() == limit_before  # the process-wide limit is put back


def test_jsonl_keeps_line_separators_that_json_allows_inside_strings(tmp_path, run_import):
    texts = ["第一段\u2028第二段", "段落\u2029结束", "下一行\x85字"]
    path = tmp_path / "feed.jsonl"
    path.write_bytes(("\r\n".join(line(record(f"t{i}", text=t)) for i, t in enumerate(texts)) + "\r\n").encode("utf-8"))
    status, output, comments, letters = run_import(path)
    assert status == 0 and not letters, output
    assert sorted(c.text for c in comments.values()) == sorted(texts)


def test_jsonl_lines_holding_arrays_each_contribute_their_objects(tmp_path, run_import):
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps([record("a1"), record("a2")], ensure_ascii=False) + "\n"
                    + json.dumps([record("a3"), 5], ensure_ascii=False) + "\n"
                    + line(record("a4")) + "\n", encoding="utf-8")
    status, output, comments, letters = run_import(path)
    assert status == 0, output
    assert sorted(comments) == ["a1", "a2", "a3", "a4"]
    [letter] = letters
    assert letter.position.endswith(":2[2]") and letter.reason == "record: 应为 JSON 对象 / expected a JSON object"


def test_a_whole_json_array_file_still_reads_as_one_document(tmp_path, run_import):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([record("d1"), record("d2")], ensure_ascii=False, indent=2), encoding="utf-8")
    _status, _output, comments, _letters = run_import(path)
    assert sorted(comments) == ["d1", "d2"]


def test_one_pretty_printed_object_is_one_record(tmp_path, run_import):
    path = tmp_path / "response.json"
    path.write_text(json.dumps(record("p1"), ensure_ascii=False, indent=2), encoding="utf-8")
    _status, _output, comments, letters = run_import(path)
    assert sorted(comments) == ["p1"] and letters == []


def test_a_csv_header_naming_a_column_twice_is_refused_not_guessed(tmp_path, run_import):
    # no row of such a file can be read: the file is refused (exit 2), not dead-lettered as one record
    path = tmp_path / "twice.csv"
    path.write_text("platform,account_id,content_id,comment_id,text,created_at,text\n"
                    "douyin,lanji_official,v1,t1,质量太差了,2026-11-20T00:02:13+08:00,\n", encoding="utf-8")
    status, output, comments, letters = run_import(path)
    assert status == 2 and comments == {} and letters == []
    assert "CSV 表头中有重复的列 / CSV header names a column twice: text" in output


def test_a_utf8_file_cut_mid_character_keeps_its_good_lines(tmp_path, run_import):
    path = tmp_path / "feed.jsonl"
    data = "\n".join(line(record(f"g{i}")) for i in range(3)).encode("utf-8") + b"\n" + line(record("cut")).encode("utf-8")
    path.write_bytes(data[: data.rindex("评".encode()) + 2])  # the last line ends inside a character
    status, output, comments, letters = run_import(path)
    assert status == 0, output
    assert sorted(comments) == ["g0", "g1", "g2"]
    [letter] = letters
    assert letter.position.endswith(":4") and "第 4 行不是 UTF-8 或 GB18030 文本（字节损坏）/ line 4" in letter.reason


def test_corrupt_bytes_in_the_middle_reject_only_their_line(tmp_path, run_import):
    path = tmp_path / "feed.csv"
    header = "platform,account_id,content_id,comment_id,text,created_at\n"
    rows = [f"douyin,a,v,m{i},第{i}条,2026-11-22T20:15:00+08:00\n".encode() for i in range(3)]
    rows[1] = rows[1].replace("条".encode(), b"\xff\xfe")  # neither UTF-8 nor GB18030
    path.write_bytes(header.encode() + b"".join(rows))
    status, output, comments, letters = run_import(path)
    assert status == 0, output
    assert sorted(comments) == ["m0", "m2"]
    [letter] = letters
    assert letter.position.endswith(":3") and "字节损坏" in letter.reason and "damaged" in letter.reason
