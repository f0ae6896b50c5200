"""`crisisbot ingest FILE` reads and stores a file a batch at a time (bot/importer.py, bot/feeds/files.py).

It read the whole file into memory first: every line as an item, every result kept for the summary (a
150 MB JSONL file took the process to 1.45 GB). Now the file is read a record at a time, in batches of
`batch` records, and only the counts and the first rejections are kept. Here with a batch of a few
records: a file of several batches gives the same summary, the same rows, dead letters, alert counts and
reply queue as one batch; a duplicate, a bad record and a multi-line CSV row across a batch boundary keep
their line numbers. SQLite and PostgreSQL. Also: the planner statistics after a bulk import (PostgreSQL).
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy import text
from sqlmodel import select

from bot.alerts.models import AlertBucket
from bot.config import Settings
from bot.feeds import files
from bot.importer import SHOW_REJECTED, import_files
from bot.replies.models import ReplyQueueItem
from bot.storage.db import Database
from bot.storage.models import Comment, DeadLetter
from tests.conftest import postgres_schema

#: live comments (the reply queue and the alert counts take them), a few minutes old
NOW = datetime.now(UTC).replace(microsecond=0)


def record(comment_id: str, minutes: int = 10, **over) -> dict:
    base = {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
            "text": f"请问{comment_id}怎么退款", "created_at": (NOW - timedelta(minutes=minutes)).isoformat(),
            "author_id": f"u{comment_id}", "like_count": 1}
    return {**base, **over}


def line(rec: dict) -> str:
    return json.dumps(rec, ensure_ascii=False)


def _url(db: Database) -> str:
    # the PostgreSQL fixture works in its own schema; the import reaches it through libpq's options
    return db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"


@contextmanager
def another_database(db: Database, tmp_path: Path) -> Iterator[Database]:
    """A second empty database on the same engine as `db`."""
    if db.dialect == "sqlite":
        other = Database(f"sqlite:///{tmp_path / 'other.db'}")
        other.upgrade()
        try:
            yield other
        finally:
            other.dispose()
        return
    with postgres_schema() as other:
        other.upgrade()
        yield other




def run_import(db: Database, app_config, *paths: Path, batch: int, **options) -> tuple[int, str]:
    settings = Settings(_env_file=None, database_url=_url(db))  # type: ignore[call-arg]
    out = io.StringIO()
    status = import_files(settings, app_config, list(paths), console=Console(file=out, width=400), batch=batch,
                          **options)
    return status, out.getvalue().replace(str(paths[0].parent) + "/", "")


def snapshot(db: Database) -> dict:
    """What an import leaves, with what differs between any two databases (ids, clock times) left out."""
    with db.session() as s:
        comments = {c.comment_id: (c.text, c.like_count, c.reply_count, c.author_id, c.content_title,
                                   c.sentiment_label, c.raw, c.source)
                    for c in s.exec(select(Comment)).all()}
        letters = [(d.position, d.reason, d.raw, d.seen_count) for d in s.exec(select(DeadLetter).order_by(DeadLetter.id)).all()]
        # per stream, not per bucket: a later batch's comments whose bucket the alerts had already judged
        # count in the stream's next bucket (bot/alerts/service.py, _carry_late), each still once
        buckets: dict[str, tuple[int, int]] = {}
        for b in s.exec(select(AlertBucket)).all():
            total, negative = buckets.get(b.content_id, (0, 0))
            buckets[b.content_id] = (total + b.total, negative + b.negative)
        queue = sorted((q.comment_id, q.state) for q in s.exec(select(ReplyQueueItem)).all())
    return {"comments": comments, "letters": letters, "buckets": buckets, "queue": queue}


def a_jsonl_file(path: Path) -> Path:
    """23 lines: with batches of 5, a duplicate across the first boundary (lines 4 and 7), a bad record right
    after it (line 6, the first of the second batch), a duplicated bad record across the next (lines 10 and
    11), a line that is not JSON after two boundaries (line 13), a blank line, a count that is left out."""
    lines = [line(record(f"c{i}")) for i in range(1, 24)]
    lines[3] = line(record("dup", like_count=1, text="第一份的文字"))
    lines[6] = line(record("dup", like_count=99, text="第二份的文字不保存"))
    lines[5] = line(record("bad-time", created_at="not a time"))
    lines[9] = lines[10] = line(record("bad-twice", created_at="昨天"))
    lines[12] = '{"platform": "douyin", '
    lines[15] = ""
    lines[18] = line(record("warned", like_count="很多"))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_file_of_several_batches_is_stored_as_one_batch_would_store_it(db, tmp_path, app_config, batches):
    path = a_jsonl_file(tmp_path / "feed.jsonl")
    status, output = run_import(db, app_config, path, batch=5)
    assert status == 0, output
    # bounded: every batch the service got held at most 5 records, in file order, each line once
    assert batches and max(len(b) for b in batches) <= 5
    assert [p for b in batches for p in b] == [f"{path}:{n}" for n in range(1, 24) if n != 16]
    assert "feed.jsonl: 22 行 / rows (utf-8)" in output
    assert "feed.jsonl: 新增 accepted 17, 重复更新 duplicates 1, 拒收 rejected 4" in output
    rejected = [row.split(":")[1] for row in output.splitlines() if row.startswith("  feed.jsonl:")]
    assert rejected == ["6", "10", "11", "13", "19"]  # four rejections, then the stored one with a warning
    assert "feed.jsonl:13: JSON 格式错误" in output and "feed.jsonl:6: created_at" in output
    stored = snapshot(db)
    # the duplicate across the boundary: one row, the first copy's text, the later copy's count
    assert stored["comments"]["dup"][:2] == ("第一份的文字", 99)
    assert len(stored["comments"]) == 17
    assert [(pos.rsplit(":", 1)[1], seen) for pos, _reason, _raw, seen in stored["letters"]] == \
        [("6", 1), ("11", 2), ("13", 1)]

    # the same file in one batch: the same summary and the same stored state, listeners' work included
    # (each stored comment counted once in the alert buckets, queued once)
    with another_database(db, tmp_path) as whole:
        batches.clear()
        status, one_batch = run_import(whole, app_config, path, batch=1000)
        assert status == 0 and len(batches) == 1
        assert one_batch == output
        assert snapshot(whole) == stored
    assert stored["buckets"][""][0] == stored["buckets"]["v1"][0] == 17
    assert len(stored["queue"]) == 17


def test_a_csv_file_keeps_its_rows_and_line_numbers_across_batches(db, tmp_path, app_config, batches):
    """Multi-line cells and an unclosed quote at the batch boundaries: the rows are read the same, each
    reported at its first line."""
    header = ["platform", "account_id", "content_id", "comment_id", "text", "created_at"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for i in range(1, 4):
        writer.writerow([*(record(f"r{i}")[k] for k in header[:4]), "正常", record("x")["created_at"]])
    writer.writerow([*(record("multi")[k] for k in header[:4]), "第一行\n第二行\n第三行", record("x")["created_at"]])  # lines 5-7
    buffer.write(f'douyin,lanji_official,v1,open,"质量差,{record("x")["created_at"]}\r\n')  # line 8: never closed
    for i in range(4, 9):  # lines 9-13
        writer.writerow([*(record(f"r{i}")[k] for k in header[:4]), "正常", record("x")["created_at"]])
    writer.writerow([*(record("r4")[k] for k in header[:4]), "又来一次", record("x")["created_at"]])  # line 14: duplicate
    writer.writerow(["douyin", "lanji_official", "v1", "late", "", "不是时间"])  # line 15
    path = tmp_path / "feed.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    status, output = run_import(db, app_config, path, batch=4)
    assert status == 0, output
    assert [len(b) for b in batches] == [4, 4, 4]  # the multi-line row ends the first, the open quote starts the next
    assert [p.rsplit(":", 1)[1] for b in batches for p in b] == ["2", "3", "4", "5", "8", "9", "10", "11",
                                                                 "12", "13", "14", "15"]
    assert "feed.csv: 12 行 / rows (utf-8)" in output
    assert "feed.csv: 新增 accepted 9, 重复更新 duplicates 1, 拒收 rejected 2" in output
    assert "feed.csv:8: text: 引号未闭合" in output and "feed.csv:15: created_at" in output
    stored = snapshot(db)["comments"]
    assert stored["multi"][0] == "第一行\n第二行\n第三行" and stored["r4"][0] == "正常"
    assert sorted(stored) == sorted(["multi", *(f"r{i}" for i in range(1, 9))])


def test_the_summary_lists_the_first_rejections_of_the_whole_file(db, tmp_path, app_config):
    """The results are not kept per record: the summary still lists the first 20 rejections in file order
    (from several batches) and counts the rest."""
    lines = [line(record(f"b{i}", created_at=f"坏时间{i}")) if i % 2 else line(record(f"g{i}")) for i in range(1, 61)]
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    status, output = run_import(db, app_config, path, batch=7)
    assert status == 0
    listed = [row.split(":")[1] for row in output.splitlines() if row.startswith("  many.jsonl:")]
    assert listed == [str(n) for n in range(1, 41, 2)] and len(listed) == SHOW_REJECTED
    assert f"…另有 {30 - SHOW_REJECTED} 条，见 `crisisbot ingest --dead-letters` / more in --dead-letters" in output
    assert "新增 accepted 30, 重复更新 duplicates 0, 拒收 rejected 30" in output


def test_gb18030_is_told_from_utf8_by_the_whole_file_not_its_start(db, tmp_path, app_config, monkeypatch):
    """The encoding is decided on every byte, as before: a GB18030 export whose first megabytes are ASCII is
    still GB18030 (deciding on a prefix read it as UTF-8 and rejected its Chinese lines as damaged)."""
    monkeypatch.setattr(files, "READ_BYTES", 64)  # the file is read in many pieces
    rows = [line(record(f"a{i}", text="ok")) for i in range(30)] + [line(record("zh", text="质量太差了，要退货"))]
    path = tmp_path / "export.jsonl"
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("gb18030"))
    status, output = run_import(db, app_config, path, batch=4)
    assert status == 0, output
    assert "export.jsonl: 31 行 / rows (gb18030)" in output and "拒收 rejected 0" in output
    assert snapshot(db)["comments"]["zh"][0] == "质量太差了，要退货"


def test_a_bad_csv_header_refuses_the_file_before_any_batch(db, tmp_path, app_config, batches):
    path = tmp_path / "wrong.csv"
    path.write_text("平台,账号\n" + "douyin,a\n" * 50, encoding="utf-8")
    good = a_jsonl_file(tmp_path / "good.jsonl")
    status, output = run_import(db, app_config, path, good, batch=5)
    assert status == 2
    assert "CSV 表头缺少必需列" in output
    assert all(p.startswith(str(good)) for b in batches for p in b)


def test_file_items_can_be_read_again_and_in_turns(tmp_path):
    """`open_items` reads the file afresh for each iteration; two iterations may even be read in turns
    (the import counts the items first, then stores them)."""
    path = a_jsonl_file(tmp_path / "feed.jsonl")
    expected, _encoding = files.read_items(path)
    with files.open_items(path) as items:
        assert items.count() == len(expected) == 22
        first, second = iter(items), iter(items)
        pairs = list(zip(first, second, strict=True))
    assert [a for a, _b in pairs] == [b for _a, b in pairs] == expected


def _statistics(db: Database) -> int:
    if db.dialect == "sqlite":
        with db.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar_one()
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_stats WHERE schemaname = :schema AND tablename = 'comment'"),
                            {"schema": db.schema}).scalar_one()


def test_a_bulk_import_refreshes_the_planner_statistics_on_postgresql_only(db, tmp_path, app_config):
    """Over `analyze_after` new comments, PostgreSQL's statistics of the comment table are refreshed
    (ANALYZE) at the end of the import; under it, and on SQLite (whose databases have never had
    statistics: their first appearance would change every plan), nothing is done."""
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(line(record(f"s{i}")) for i in range(5)), encoding="utf-8")
    run_import(db, app_config, small, batch=2, analyze_after=6)
    assert _statistics(db) == 0
    large = tmp_path / "large.jsonl"
    large.write_text("\n".join(line(record(f"l{i}")) for i in range(6)), encoding="utf-8")
    status, _output = run_import(db, app_config, large, batch=2, analyze_after=6)
    assert status == 0
    assert (_statistics(db) > 0) == (db.dialect == "postgresql")


def test_a_pipe_is_still_imported(db, tmp_path, app_config):
    """A pipe (`crisisbot ingest <(zcat feed.jsonl.gz)`) cannot be read twice: it is kept in a temporary
    file, and imported like the file itself."""
    source = a_jsonl_file(tmp_path / "feed.jsonl")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)

    def feed() -> None:
        with open(pipe, "wb") as writer:
            writer.write(source.read_bytes())

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        status, output = run_import(db, app_config, pipe, batch=5)
    finally:
        writer.join(10)
    assert status == 0, output
    assert "pipe: 22 行 / rows (utf-8)" in output
    assert "pipe: 新增 accepted 17, 重复更新 duplicates 1, 拒收 rejected 4" in output
