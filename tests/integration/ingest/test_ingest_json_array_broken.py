"""A broken JSON array file (a truncated export, a missing comma, a stray character or byte between two
records) gives its complete records before the damage, each read as any record, then the damage as one
rejection at json's own line and column saying that what follows could not be read (bot/feeds/files.py
`_array_values`, `FileItems._array_file_items`). It was read whole (twice) and was one rejection, nothing
of it stored. The import itself (batches, summary, exit status) is in test_ingest_json_array_streamed.py."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.feeds import files
from bot.feeds.files import open_items


def record(i: int) -> dict:
    return {"platform": "douyin", "account_id": "a1", "content_id": "v1", "comment_id": f"c{i}", "text": f"第{i}条"}


def pretty(n: int) -> str:
    return json.dumps([record(i) for i in range(1, n + 1)], ensure_ascii=False, indent=2)


def where(text: str) -> tuple[int, int, str]:
    """Where json.loads of the whole text finds it broken: (line, column, message)."""
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(text)
    return caught.value.lineno, caught.value.colno, caught.value.msg


def read(path: Path) -> tuple[list[str], list[files.FileItem], int]:
    """The comment ids read, the rejected items, and the count the import shows first."""
    with open_items(path) as opened:
        count = opened.count()
        items = list(opened)
    return [i.record["comment_id"] for i in items if i.record is not None], [i for i in items if i.record is None], count


def test_a_truncated_array_gives_the_complete_records_before_the_cut(tmp_path):
    text = pretty(5)
    text = text[: text.rindex('"comment_id"')]  # the download stopped inside the 5th record
    path = tmp_path / "export.json"
    path.write_text(text, encoding="utf-8")
    ids, [damage], count = read(path)
    line, column, message = where(text)
    assert ids == ["c1", "c2", "c3", "c4"] and count == 5
    assert damage.position == f"{path}:{line}"
    assert damage.error == (
        f"JSON 格式错误（第 {line} 行第 {column} 列，第 5 条记录）：这条及之后的记录未能读取（之前的 4 条照常导入）；"
        "文件不以 ] 结尾，可能不完整（下载或导出中断） / "
        f"invalid JSON at line {line} column {column} (record 5): {message}; this record and the ones after it "
        "could not be read (the 4 before it are imported); the file does not end with ]: it may be incomplete "
        "(an interrupted download or export)")
    assert damage.raw.startswith('{\n    "platform": "douyin"')  # the cut record, as far as it goes


def test_an_array_cut_inside_a_character_gives_the_complete_records_before_it(tmp_path):
    """A UTF-8 export cut inside a Chinese character: its bytes are not all text (read line by line before,
    every line of the array was a rejection); the cut record is the damage, with its damaged bytes."""
    data = pretty(5).encode()
    cut = data.rindex("第5条".encode()) + 1  # inside the 3 bytes of 第
    path = tmp_path / "export.json"
    path.write_bytes(data[:cut])
    ids, [damage], count = read(path)
    line, column, message = where(data[:cut].decode("utf-8", "replace"))
    assert ids == ["c1", "c2", "c3", "c4"] and count == 5
    assert damage.position == f"{path}:{line}"
    assert damage.error.startswith(f"JSON 格式错误（第 {line} 行第 {column} 列，第 5 条记录）：含有损坏的字节（")
    assert f"(record 5): {message}; damaged bytes" in damage.error and "may be incomplete" in damage.error
    assert damage.raw.endswith('"text": "\ufffd')


def test_a_missing_comma_between_records_3_and_4_gives_records_1_to_3(tmp_path):
    text = pretty(6)
    third_ends = text.index("},", text.index('"c3"'))
    text = text[:third_ends + 1] + text[third_ends + 2:]
    path = tmp_path / "export.json"
    path.write_text(text, encoding="utf-8")
    ids, [damage], count = read(path)
    line, column, message = where(text)
    assert ids == ["c1", "c2", "c3"] and count == 4  # not c4 to c6: nothing is guessed after the damage
    assert damage.position == f"{path}:{line}"
    assert damage.error == (
        f"JSON 格式错误（第 {line} 行第 {column} 列，第 3 条记录之后）：之后的记录未能读取（之前的 3 条照常导入） / "
        f"invalid JSON at line {line} column {column} (after record 3): {message}; the records after it could "
        "not be read (the 3 before it are imported)")


@pytest.mark.parametrize("garbage, hurt", [(b"x", False), (b"\xff", True)], ids=["a stray character", "a byte that is not text"])
def test_garbage_between_records_gives_the_records_before_it(tmp_path, garbage, hurt):
    text = pretty(4).encode()
    second_ends = text.index(b"},", text.index(b'"c2"'))
    data = text[:second_ends + 1] + garbage + text[second_ends + 1:]
    path = tmp_path / "export.json"
    path.write_bytes(data)
    ids, [damage], count = read(path)
    line, column, _message = where(data.decode("utf-8", "replace"))
    assert ids == ["c1", "c2"] and count == 3
    assert damage.position == f"{path}:{line}"
    assert damage.error.startswith(f"JSON 格式错误（第 {line} 行第 {column} 列，第 2 条记录之后）：")
    assert ("含有损坏的字节（不是 UTF-8 或 GB18030 文本）" in damage.error) is hurt
    assert "the records after it could not be read (the 2 before it are imported)" in damage.error


def test_an_array_that_is_fine_is_read_as_before(tmp_path):
    path = tmp_path / "export.json"
    path.write_text("\n " + pretty(7) + "\n", encoding="utf-8")
    ids, rejected, count = read(path)
    assert ids == [f"c{i}" for i in range(1, 8)] and rejected == [] and count == 7


def small(i: int) -> dict:
    return {"platform": "douyin", "comment_id": f"c{i}"}


@pytest.mark.parametrize("layout", ["pretty, truncated", "one line, a bad value"])
def test_a_broken_array_past_the_first_piece_keeps_the_records_of_the_pieces_before(tmp_path, monkeypatch,
                                                                                     layout):
    """The damage is past the first READ_BYTES of text: the records before it, in the pieces read before,
    are given. No parse holds much more than a piece of text, even on one line where no line break after
    the damage tells that it is the text's own (it was read whole: the file's size, 4 MiB here)."""
    held: list[int] = []
    real = json.JSONDecoder.raw_decode

    def spy(self, s, idx=0):
        held.append(len(s))
        return real(self, s, idx)

    n = 100_000 if layout.startswith("one line") else 30_000
    values = [small(i) for i in range(1, n + 1)]
    if layout.startswith("pretty"):
        text = json.dumps(values, indent=1)
        assert len(text) > 1.5 * files.READ_BYTES
        damage_at = text.index('"c25000"')  # inside record 25,000, past the first piece
        text = text[:damage_at]
        before = 24_999
    else:
        text = json.dumps(values)
        assert len(text) > 3 * files.READ_BYTES
        damage_at = text.index('"c40000"')  # record 40,000, past the first piece: a value json refuses
        text = text[:damage_at] + "nan" + text[damage_at + len('"c40000"'):]
        before = 39_999
    assert damage_at > files.READ_BYTES
    path = tmp_path / "export.json"
    path.write_text(text, encoding="ascii")
    monkeypatch.setattr(json.JSONDecoder, "raw_decode", spy)
    ids, [damage], count = read(path)
    monkeypatch.undo()
    line, column, _message = where(text)
    assert ids == [f"c{i}" for i in range(1, before + 1)] and count == before + 1
    assert damage.error.startswith(f"JSON 格式错误（第 {line} 行第 {column} 列，第 {before + 1} 条记录）")
    assert max(held) < 2.1 * files.READ_BYTES, max(held)


def test_the_damage_is_in_the_summary_after_many_rejections(db, tmp_path, app_config):
    """The summary lists the first 20 rejections; a broken array's damage, its last, says what of the file
    was not read: it is shown after them. The import of a partial file exits 0 and counts the damage as
    one rejected row, as for any file some of whose records were rejected."""
    from rich.console import Console

    from bot.config import Settings
    from bot.importer import import_files

    values = [{**record(i), "created_at": "2026-12-01T08:00:00+08:00"} for i in range(1, 31)]
    for value in values[:25]:
        value["created_at"] = "不是时间"
    text = json.dumps(values, ensure_ascii=False, indent=2)
    text = text[: text.rindex('"comment_id"')]
    path = tmp_path / "export.json"
    path.write_text(text, encoding="utf-8")
    url = db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"
    out = io.StringIO()
    status = import_files(Settings(_env_file=None, database_url=url), app_config, [path],  # type: ignore[call-arg]
                          console=Console(file=out, width=1000))
    output = out.getvalue()
    line = where(text)[0]
    assert status == 0
    assert "export.json: 30 行 / rows (utf-8)" in output
    assert "export.json: 新增 accepted 4, 重复更新 duplicates 0, 拒收 rejected 26" in output
    assert "…另有 6 条" in output
    assert f"  {path}:{line}: JSON 格式错误（第 {line} 行" in output
