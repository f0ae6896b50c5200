"""`crisisbot ingest FILE` of a JSON array file (`[ {...}, {...} ]`, pretty-printed over many lines or on
one line) reads it a value at a time (bot/feeds/files.py `_array_values`), like JSONL and CSV files: it was
parsed whole (json.loads of the whole text, twice: to count it and to store it), so a 200,000-record
export took its whole parsed list into memory.

Everything the user sees stays as it was: the same "N 行" count and encoding, positions `file:[i]`, the
same rejections among stored records across batches, values as json.loads reads them (NaN, 1e400, a lone
surrogate escape). The new behaviour itself: no parse covers more than one value (`parsed` spies on json's
decoder; memory is measured in bench/ingest, `--import-memory --format json`). A broken array (truncated,
extra data, a missing comma, a form feed as space) stores its records before the damage, and the damage is
one rejection at json's own position with json's own message (it was one rejection and nothing stored:
test_ingest_json_array_broken.py has the small cases). SQLite and PostgreSQL."""

from __future__ import annotations

import codecs
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.config import Settings
from bot.feeds import files
from bot.feeds.files import read_items
from bot.storage.db import Database
from bot.storage.models import Comment, DeadLetter

NOW = datetime.now(UTC).replace(microsecond=0)
#: a value of the array is a record of about 250 characters: a parse of more than this read several
ONE_VALUE = 1000


def record(comment_id: str, **over) -> dict:
    base = {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
            "text": f"请问{comment_id}怎么退款", "created_at": (NOW - timedelta(minutes=10)).isoformat(),
            "author_id": f"u{comment_id}", "like_count": 1}
    return {**base, **over}


def _url(db: Database) -> str:
    # the PostgreSQL fixture works in its own schema; the import reaches it through libpq's options
    return db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"


def run_import(db: Database, app_config, path: Path) -> tuple[int, str]:
    from bot.importer import import_files

    settings = Settings(_env_file=None, database_url=_url(db))  # type: ignore[call-arg]
    out = io.StringIO()
    status = import_files(settings, app_config, [path], console=Console(file=out, width=400))
    return status, out.getvalue().replace(str(path.parent) + "/", "")


def stored(db: Database) -> tuple[dict[str, Comment], list[DeadLetter]]:
    with db.session() as s:
        return ({c.comment_id: c for c in s.exec(select(Comment)).all()},
                list(s.exec(select(DeadLetter).order_by(DeadLetter.id)).all()))


@pytest.fixture
def parsed(monkeypatch) -> list[int]:
    """How many characters each successful JSON parse of the imported records read (a spy on json's
    decoder, which json.loads uses too: the real parser runs). Other parses (the sentiment model's
    metadata, loaded once) are not the file's."""
    spans: list[int] = []
    real = json.JSONDecoder.raw_decode

    def spy(self, s, idx=0):
        value, end = real(self, s, idx)
        if '"comment_id"' in s[idx:end]:
            spans.append(end - idx)
        return value, end

    monkeypatch.setattr(json.JSONDecoder, "raw_decode", spy)
    return spans


def an_array_of_2500(*, bad: bool = True) -> list:
    """2,500 values, three batches of the import: at the first boundary a value that is not an object
    ([1000]) and a record with a bad time ([1001]); a duplicate across it ([10] and [1500]); a count that is
    left out with a warning ([2000]); a record json.loads reads as NaN ([2100]) and one as infinity ([2200])."""
    values: list = [record(f"c{i}") for i in range(1, 2501)]
    if bad:
        values[999] = 5
        values[1000] = record("bad-time", created_at="不是时间")
        values[9] = record("dup", text="第一份的文字")
        values[1499] = record("dup", text="第二份的文字不保存", like_count=99)
        values[1999] = record("warned", like_count="很多")
        values[2099] = record("nan", like_count=float("nan"))
        values[2199] = record("inf", created_at=float("inf"))
    return values


def test_a_pretty_json_array_over_several_batches_stores_the_good_records_and_rejects_the_bad(
        db, tmp_path, app_config, parsed, batches):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(an_array_of_2500(), ensure_ascii=False, indent=2), encoding="utf-8")
    status, output = run_import(db, app_config, path)
    assert status == 0, output
    assert "export.json: 2500 行 / rows (utf-8)" in output
    assert "export.json: 新增 accepted 2495, 重复更新 duplicates 1, 拒收 rejected 4" in output
    assert [len(b) for b in batches] == [1000, 1000, 500]
    assert [p for b in batches for p in b] == [f"{path}:[{i}]" for i in range(1, 2501)]
    listed = [row.strip() for row in output.splitlines() if row.startswith("  export.json:")]
    assert listed == ["export.json:[1000]: record: 应为 JSON 对象 / expected a JSON object",
                      "export.json:[1001]: created_at: 不是 ISO 8601 时间 / not ISO 8601: '不是时间'",
                      "export.json:[2100]: like_count: 应为非负整数 / expected a non-negative integer: nan",
                      "export.json:[2200]: created_at: 纪元秒超出范围 / epoch seconds out of range: inf",
                      "export.json:[2000]: like_count: 无法识别的计数，未保存该计数（按未知处理），评论照常保存 / "
                      "unreadable count, not stored (treated as unknown); the comment is stored: '很多'"]
    comments, letters = stored(db)
    assert len(comments) == 2495 and comments["dup"].text == "第一份的文字" and comments["dup"].like_count == 99
    assert [(d.position.rsplit(":", 1)[1], d.raw[:40]) for d in letters] == [
        ("[1000]", "5"), ("[1001]", json.dumps(record("bad-time"), ensure_ascii=False)[:40]),
        ("[2100]", json.dumps(record("nan"), ensure_ascii=False)[:40]),
        ("[2200]", json.dumps(record("inf"), ensure_ascii=False)[:40])]
    # read a value at a time (counted, then stored): no parse of the whole document
    assert parsed and max(parsed) < ONE_VALUE, max(parsed)


def test_a_json_array_on_one_line_is_read_a_value_at_a_time_too(db, tmp_path, app_config, parsed):
    path = tmp_path / "compact.json"
    path.write_text(json.dumps(an_array_of_2500(), ensure_ascii=False), encoding="utf-8")
    status, output = run_import(db, app_config, path)
    assert status == 0 and "compact.json: 新增 accepted 2495, 重复更新 duplicates 1, 拒收 rejected 4" in output
    assert "compact.json:[1000]: record: 应为 JSON 对象" in output
    assert max(parsed) < ONE_VALUE


@pytest.mark.parametrize("encoding, shown", [("utf-8-sig", "utf-8 BOM"), ("gb18030", "gb18030"),
                                             ("gb18030 BOM", "gb18030")])
def test_a_json_array_in_each_encoding_is_read_a_value_at_a_time(db, tmp_path, app_config, parsed, encoding,
                                                                  shown):
    values = an_array_of_2500(bad=False)
    values[1200] = record("c1201", text="质量太差了，烂脸！！")
    text = json.dumps(values, ensure_ascii=False, indent=1)
    path = tmp_path / "export.json"
    if encoding == "gb18030 BOM":  # GB18030's own byte-order mark (84 31 95 33)
        path.write_bytes("\ufeff".encode("gb18030") + text.encode("gb18030"))
    else:
        path.write_bytes(text.encode(encoding))
    status, output = run_import(db, app_config, path)
    assert status == 0, output
    assert f"export.json: 2500 行 / rows ({shown})" in output
    assert "export.json: 新增 accepted 2500, 重复更新 duplicates 0, 拒收 rejected 0" in output
    assert stored(db)[0]["c1201"].text == "质量太差了，烂脸！！"
    assert max(parsed) < ONE_VALUE


def test_a_lone_surrogate_escape_is_read_as_json_loads_reads_it(db, tmp_path, app_config):
    """json.loads keeps "\\ud800" as a lone surrogate, which the import stores as U+FFFD (as for a JSONL
    line); a parser that replaced it with "?" would change the text."""
    values = an_array_of_2500(bad=False)
    values[1700] = record("c1701", text="坏\ud800字")
    path = tmp_path / "export.json"
    path.write_text(json.dumps(values, indent=2), encoding="utf-8")  # ensure_ascii: "\\ud800" in the file
    status, output = run_import(db, app_config, path)
    assert status == 0 and "拒收 rejected 0" in output, output
    assert stored(db)[0]["c1701"].text == "坏\ufffd字"


def _broken(text: str) -> tuple[int, int, str]:
    """Where json.loads of the whole text finds it broken: (line, column, message)."""
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(text)
    exc = caught.value
    return exc.lineno, exc.colno, exc.msg


GOOD = json.dumps([record(f"c{i}") for i in range(1, 1501)], ensure_ascii=False, indent=2)
#: a broken array, and how many of its records come before the damage
BROKEN = {
    # cut off mid-record after 1,500 records' worth (an export that stopped writing)
    "truncated": (GOOD[: GOOD.rindex('"comment_id"')], 1499),
    "truncated after a value": (GOOD[: GOOD.rindex("}") + 1] + ",\n", 1500),
    "no closing bracket": (GOOD[:-1], 1500),
    "extra data": (GOOD + "\n{\"platform\": \"douyin\"}\n", 1500),
    "a second array": (GOOD + "\n" + GOOD, 1500),
    "a missing comma at the end": (GOOD[: GOOD.rindex("},")] + "}" + GOOD[GOOD.rindex("},") + 2:], 1499),
    "a trailing comma": (GOOD[:-2] + ",\n]", 1500),
    "a form feed as space": (GOOD[:-2] + "\n\x0c]", 1500),  # JSON whitespace is space, tab, CR and LF only
    "a non-breaking space as space": (GOOD[:-2] + "\n\u00a0]", 1500),
    "NaN written as nan": (GOOD.replace('"like_count": 1\n  }\n]', '"like_count": nan\n  }\n]'), 1499),
    "a raw tab inside a string": (GOOD.replace("请问c1500怎么退款", "请问c1500\t怎么退款"), 1499),
    "leading blank lines then a broken array": ("\n\n  " + GOOD[:-1], 1500),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_json_array_stores_the_records_before_the_damage_and_rejects_the_damage(
        db, tmp_path, app_config, name, batches):
    text, before = BROKEN[name]
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    status, output = run_import(db, app_config, path)
    line, column, message = _broken(text)
    assert status == 0, output  # as for any file whose records were read, some of them rejected
    assert f"broken.json: {before + 1} 行 / rows (utf-8)" in output
    assert f"broken.json: 新增 accepted {before}, 重复更新 duplicates 0, 拒收 rejected 1" in output
    assert [len(b) for b in batches] == [1000, before + 1 - 1000]
    comments, letters = stored(db)
    assert sorted(comments) == sorted(f"c{i}" for i in range(1, before + 1))
    [letter] = letters
    assert letter.position.endswith(f"/broken.json:{line}")  # the stored position keeps the end of a long path
    assert letter.reason.startswith(f"JSON 格式错误（第 {line} 行第 {column} 列，")
    assert f"/ invalid JSON at line {line} column {column} (" in letter.reason
    assert f"): {message}; " in letter.reason and "could not be read" in letter.reason
    assert f"broken.json:{line}: {letter.reason}" in " ".join(output.split())  # rich may wrap a long line


def test_an_object_wrapping_the_array_is_still_one_record(db, tmp_path, app_config):
    path = tmp_path / "response.json"
    path.write_text(json.dumps({"data": [record(f"c{i}") for i in range(1, 1201)]}, ensure_ascii=False, indent=2),
                    encoding="utf-8")
    status, output = run_import(db, app_config, path)
    assert status == 0 and "response.json: 1 行 / rows (utf-8)" in output
    assert "response.json:1: platform, account_id, content_id, comment_id, text, created_at: 缺少必填字段" in output
    assert stored(db)[0] == {}


def test_a_json_array_with_damaged_bytes_rejects_only_the_records_holding_them(db, tmp_path, app_config):
    """Bytes that are not text inside a record's strings reject that record; the others are stored. Read line
    by line (as before), one bad byte made every line of a pretty-printed array a rejection: nothing stored."""
    records = [record(f"c{i}") for i in range(1, 1501)]
    text = json.dumps(records, ensure_ascii=False, indent=2)
    path = tmp_path / "damaged.json"
    path.write_bytes(text.replace("请问c1200怎么", "请问c1200\udcff怎么", 1).encode("utf-8", "surrogateescape"))
    items, encoding = read_items(path)
    assert encoding == "utf-8，损坏的行已拒收 / utf-8, damaged lines rejected"
    assert len(items) == 1500 and [item.position for item in items if item.record is None] == [f"{path}:[1200]"]
    assert items[1199].error == "第 1200 条记录含有损坏的字节（不是 UTF-8 或 GB18030 文本）/ record 1200: damaged bytes (not UTF-8 or GB18030 text)"
    assert "请问c1200\ufffd怎么" in items[1199].raw
    status, _out = run_import(db, app_config, path)
    comments, dead = stored(db)
    assert len(comments) == 1499 and "c1200" not in comments
    assert [d.reason for d in dead] == [items[1199].error]


def test_damaged_bytes_outside_the_strings_are_the_damage_of_a_broken_array(tmp_path):
    """Damaged bytes between two records break the array there: the record before them is read, the damage
    is one rejection (left to the line reader, every line of the array was a rejection, nothing stored)."""
    text = json.dumps([record("c1"), record("c2")], ensure_ascii=False, indent=2)
    path = tmp_path / "damaged.json"
    path.write_bytes(text.replace("},", "}\udcff,", 1).encode("utf-8", "surrogateescape"))
    items, _encoding = read_items(path)
    assert [item.record for item in items[:1]] == [record("c1")]
    [damage] = items[1:]
    before = text[:text.index("},") + 1]
    line, column = before.count("\n") + 1, len(before) - before.rindex("\n")
    assert damage.position == f"{path}:{line}" and damage.record is None
    assert damage.error.startswith(f"JSON 格式错误（第 {line} 行第 {column} 列，第 1 条记录之后）：含有损坏的字节（")
    assert "\ufffd," in damage.raw  # storable


def test_read_items_of_a_json_array_file_lists_each_value_with_its_position(tmp_path, parsed):
    values = [record(f"c{i}") if i % 400 else [i] for i in range(1, 1201)]
    path = tmp_path / "export.json"
    path.write_text("\n\n " + json.dumps(values, ensure_ascii=False, indent=2) + "\n\r\n", encoding="utf-8")
    items, encoding = read_items(path)
    assert encoding == "utf-8" and [i.position for i in items] == [f"{path}:[{n}]" for n in range(1, 1201)]
    assert [i.record for i in items if i.record is not None] == [v for v in values if isinstance(v, dict)]
    assert [(i.raw, i.error) for i in items if i.record is None] == \
        [(f"[{n}]", "record: 应为 JSON 对象 / expected a JSON object") for n in (400, 800, 1200)]
    assert max(parsed) < ONE_VALUE


def test_a_json_array_read_in_small_pieces_is_still_read_a_value_at_a_time(tmp_path, monkeypatch, parsed):
    """Pieces of a few bytes cut values of the array that are numbers ("1763813700" of "1763813700.25",
    "1.5" of "1.5e-07"; each is a rejection, not an object), literals and strings: each value still comes
    out whole and as json.loads reads it, without falling back to reading the whole document."""
    monkeypatch.setattr(files, "READ_BYTES", 7)
    values = [record(f"c{i}", created_at=1763813700.25 + i, like_count=i, seen=i % 2 == 0, parent=None)
              for i in range(1, 1101)]
    values[100:100] = [1763813700.25 + i for i in range(1, 30)] + [1.5e-7 * i for i in range(1, 30)] + \
        [-i for i in range(1, 30)] + [True, False, None, "请问"]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(values, ensure_ascii=False, indent=2), encoding="gb18030")
    items, encoding = read_items(path)
    assert encoding == "gb18030" and [i.record for i in items if i.record is not None] == values[:100] + values[191:]
    assert [i.raw for i in items[100:191]] == [json.dumps(v, ensure_ascii=False) for v in values[100:191]]
    assert max(parsed) < ONE_VALUE


# ---- the command itself ---------------------------------------------------------------------------------

CLEARED = ("CRISISBOT_PORT", "CRISISBOT_LANGUAGE", "CRISISBOT_LOG_LEVEL", "CRISISBOT_DEFAULT_CHANNEL",
           "CRISISBOT_SECRET_KEY", "CRISISBOT_FEISHU_MODE", "DATABASE_URL")


def test_crisisbot_ingest_of_a_pretty_json_array(tmp_path, monkeypatch, parsed):
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text("accounts: [{platform: douyin, account_id: lanji_official}]\n", encoding="utf-8")
    env = {"CRISISBOT_CONFIG": str(config), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    Path("export.json").write_text(json.dumps(an_array_of_2500(), ensure_ascii=False, indent=2), encoding="utf-8")
    Path("broken.json").write_bytes(codecs.BOM_UTF8 + BROKEN["truncated"][0].encode())
    result = CliRunner().invoke(cli, ["ingest", "export.json", "broken.json"], env=env)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    out = "".join(result.output.split())  # rich may wrap long lines
    assert "export.json:2500行/rows(utf-8)" in out and "broken.json:1500行/rows(utf-8BOM)" in out
    assert "export.json:新增accepted2495,重复更新duplicates1,拒收rejected4" in out
    # its 1,499 records before the damage: c10, c1000 and c1001 are new (export.json's were not stored)
    assert "broken.json:新增accepted3,重复更新duplicates1496,拒收rejected1" in out
    assert f"broken.json:{_broken(BROKEN['truncated'][0])[0]}:JSON格式错误" in out
    assert "合计/total:新增accepted2498,重复更新duplicates1497,拒收rejected5" in out
    assert max(parsed) < ONE_VALUE
