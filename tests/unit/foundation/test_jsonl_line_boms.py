"""`crisisbot ingest` of JSONL joined from Windows exports (`type a.jsonl b.jsonl > all.jsonl`): every part
starts with a byte-order mark, and only the file's first was taken off, so each later part's first line was
rejected "Unexpected UTF-8 BOM". A mark at the start of any line is now ignored, as at the start of the file
(bot/feeds/files.py `without_bom`, which the webhook's NDJSON reading shares)."""

from __future__ import annotations

import json

import pytest

from bot.feeds.files import read_items


def record(comment_id: str) -> str:
    return json.dumps({"platform": "bilibili", "account_id": "a", "content_id": "BV1", "comment_id": comment_id,
                       "text": "锅好用吗？", "created_at": 1763813700}, ensure_ascii=False)


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])  # GB18030 has a mark of its own (84 31 95 33)
def test_a_bom_at_the_start_of_each_joined_part_is_ignored(tmp_path, encoding):
    bom = "\ufeff"
    path = tmp_path / "all.jsonl"
    part = f"{record('1')}\r\n{record('2')}\r\n"
    path.write_bytes((bom + part + bom + record("3") + "\r\n" + bom + "\r\n").encode(encoding))
    items, _encoding = read_items(path)
    assert [item.error for item in items] == [None, None, None]  # the last part's lone mark is a blank line
    assert [item.record["comment_id"] for item in items] == ["1", "2", "3"]
    assert items[2].raw == record("3")


def test_a_file_with_damaged_bytes_elsewhere_ignores_the_marks_too(tmp_path):
    path = tmp_path / "all.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + record("1").encode() + b"\n\xef\xbb\xbf" + record("2").encode()
                     + b"\n{\"text\": \"\xff\"}\n")
    items, _encoding = read_items(path)
    assert [item.record["comment_id"] for item in items[:2]] == ["1", "2"]
    assert items[2].record is None and "damaged" in (items[2].error or "")


def test_a_malformed_line_after_a_mark_is_placed_as_without_it(tmp_path):
    path = tmp_path / "all.jsonl"
    path.write_text(record("1") + "\n\ufeff{x\n", encoding="utf-8")
    items, _encoding = read_items(path)
    assert items[1].error.startswith("JSON 格式错误（第 2 列）"), items[1].error
    assert "BOM" not in items[1].error and items[1].raw == "{x"
