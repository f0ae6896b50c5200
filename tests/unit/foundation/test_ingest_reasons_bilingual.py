"""Every reason a record or a line is refused for is Chinese first with English ("中文 / English"), as
the ingest output, the dead letters and the webhook's `reason` show it. They were English only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.feeds.files import FileFormatError, read_items
from bot.feeds.records import validate_record

GOOD = {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": "c1",
        "text": "好用", "created_at": "2026-11-22T20:15:00+08:00"}
#: Chinese, then " / " (or "）/ "), then English words
BILINGUAL = re.compile(r"[\u4e00-\u9fff][^/]*/ .*[A-Za-z]{3}")

BAD_RECORDS = [
    {"platform": "tiktok"}, {"platform": None}, {"account_id": ""}, {"content_id": [1]}, {"comment_id": "x" * 200},
    {"comment_id": "c\x00"}, {"comment_id": "7.40100137614299E+18"}, {"text": 5}, {"text": "长" * 50_001},
    {"created_at": None}, {"created_at": ""}, {"created_at": " "}, {"created_at": True}, {"created_at": [1]},
    {"created_at": "yesterday"}, {"created_at": "2026-11-22T20:15:00"}, {"created_at": "0001-01-01T00:00:00+08:00"},
    {"created_at": 0}, {"created_at": 1763813700000}, {"created_at": 10**30}, {"like_count": -1},
    {"like_count": True}, {"like_count": 2**64}, {"is_from_account": "maybe"}, {"author_name": 3},
]


@pytest.mark.parametrize("change", BAD_RECORDS, ids=lambda change: next(iter(change)))
def test_every_record_reason_is_chinese_first_with_english(change):
    problems = validate_record({**GOOD, **change})
    assert isinstance(problems, list) and problems
    for problem in problems:
        assert BILINGUAL.search(problem), problem
        field = next(iter(change))
        assert problem.startswith(f"{field}: "), problem  # the field first, as config errors name their key


def test_missing_fields_say_so_in_both_languages():
    problems = validate_record({})
    assert "text: 缺少必填字段（纯表情评论可为空字符串）/ missing required field (may be empty for sticker-only comments)" \
        in problems
    assert "created_at: 缺少必填字段 / missing required field" in problems
    assert problems[0].startswith("platform: 缺少必填字段 / missing required field (one of douyin,")
    assert validate_record([1]) == ["record: 应为 JSON 对象，不能是 list / expected a JSON object, got list"]


def test_a_future_time_and_milliseconds_are_explained_in_both_languages():
    from datetime import UTC, datetime

    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    [future] = validate_record({**GOOD, "created_at": "2026-12-22T20:15:00+08:00"}, now=now)
    assert future == "created_at: 比现在晚 7 天以上（时钟或字段有误）/ more than 7 days in the future: 2026-12-22 12:15 UTC"
    [millis] = validate_record({**GOOD, "created_at": 1763813700000})
    assert millis == ("created_at: 纪元秒超出范围（像是毫秒，请发送秒）/ epoch seconds out of range "
                      "(looks like milliseconds: send seconds): 1763813700000")


def test_a_long_bad_value_is_shortened_in_the_reason():
    [problem] = validate_record({**GOOD, "created_at": "x" * 10_000})
    assert len(problem) < 200 and problem.endswith("xxx...")


@pytest.mark.parametrize(
    "name, content",
    [
        ("bad.jsonl", b'{"platform": \n'),
        ("arr.jsonl", b"[1]\n"),
        ("scalar.jsonl", b"5\n"),
        ("doc.json", b'[{"a": 1},\n {"b": }\n]'),
        ("deep.jsonl", b"[" * 100_000 + b"\n"),
        ("cells.csv", b"platform,account_id,content_id,comment_id,text,created_at\ndouyin,a,v,c,t,1763813700,extra\n"),
        ("cut.jsonl", b'{"text": "\xe5\xa5\xbd"}\n{"text": "\xff\xfe"}\n'),
    ],
)
def test_every_line_reason_is_chinese_first_with_english(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    items, _encoding = read_items(path)
    errors = [item.error for item in items if item.error]
    assert errors
    for error in errors:
        assert BILINGUAL.search(error), error


@pytest.mark.parametrize(
    "content, expected",
    [
        ("Platform;account_id;content_id;comment_id;text;created_at\ndouyin;a;v;c;t;1\n",
         "CSV 表头缺少必需列 / CSV header lacks required column(s): platform, account_id, content_id, comment_id, text, "
         "created_at; 找到的列 / columns found: Platform;account_id;content_id;comment_id;text;created_at（列之间应以逗号"
         "分隔，这个文件用的是分号 / columns must be separated by commas, this file uses semicolons）"),
        ("Platform,account_id,content_id,comment_id,Text,created_at\ndouyin,a,v,c,t,1\n",
         "CSV 表头缺少必需列 / CSV header lacks required column(s): platform, text; 找到的列 / columns found: Platform, "
         "account_id, content_id, comment_id, Text, created_at（列名须为小写 / column names are lower case: "
         "Platform → platform, Text → text）"),
        ("平台,账号,视频,评论ID,内容,时间\n抖音,a,v,c,t,1\n",
         "CSV 表头缺少必需列 / CSV header lacks required column(s): platform, account_id, content_id, comment_id, text, "
         "created_at; 找到的列 / columns found: 平台, 账号, 视频, 评论ID, 内容, 时间"),
        ("platform,account_id,content_id,comment_id,text,created_at,text\n",
         "CSV 表头中有重复的列 / CSV header names a column twice: text"),
    ],
)
def test_a_csv_header_no_row_can_be_read_with_refuses_the_file(tmp_path, content, expected):
    path = tmp_path / "export.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FileFormatError) as refused:
        read_items(path)
    assert str(refused.value) == expected


@pytest.mark.parametrize(
    "setup, expected",
    [
        (lambda p: None, "文件不存在 / no such file"),
        (lambda p: p.mkdir(), "这是目录，请给出其中的文件 / this is a folder: give the files in it"),
        (lambda p: p.write_bytes(b"PK\x03\x04" + b"\x00" * 100), "这是 Excel 工作簿或压缩包，不是 CSV"),
        (lambda p: p.write_text("platform,text\n", encoding="utf-16"), "这是 UTF-16 或 UTF-32 文本"),
        (lambda p: p.write_bytes(b"\x7fELF" + b"\x00\x01" * 500), "不是文本文件（含有大量 NUL 字节）/ not a text file"),
    ],
    ids=["missing", "folder", "xlsx", "utf-16", "binary"],
)
def test_a_file_that_is_no_text_export_is_refused_with_why(tmp_path, setup, expected):
    path: Path = tmp_path / "export.csv"
    setup(path)
    with pytest.raises(FileFormatError) as refused:
        read_items(path)
    assert expected in str(refused.value) and BILINGUAL.search(str(refused.value))
