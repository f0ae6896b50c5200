"""`crisisbot ingest` as a new user runs it on the wrong things: a missing file, a folder, an empty file,
a spreadsheet instead of its CSV, UTF-16, a binary, a huge line, text that looks like rich markup. Each
ends with a clear message, Chinese first with English, never a traceback; a file none of whose rows can
be read exits 2 (as other bad input does) and stores nothing; bad rows beside good ones exit 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli

HEADER = "platform,account_id,content_id,comment_id,text,created_at\n"
CLEARED = ("CRISISBOT_PORT", "CRISISBOT_LANGUAGE", "CRISISBOT_LOG_LEVEL", "CRISISBOT_DEFAULT_CHANNEL",
           "CRISISBOT_SECRET_KEY", "CRISISBOT_FEISHU_MODE", "DATABASE_URL")


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text("accounts: [{platform: douyin, account_id: lanji_official}]\n", encoding="utf-8")
    return {"CRISISBOT_CONFIG": str(config), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}


def ingest(env, *args) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["ingest", *map(str, args)], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def squashed(text: str) -> str:
    """The output without spaces and line breaks: rich wraps long lines between words or inside Chinese."""
    return "".join(text.split())


def stored(env) -> tuple[list[str], list[str]]:
    """(comment ids, dead-letter reasons) in the database."""
    from bot.storage.db import Database
    from bot.storage.models import Comment, DeadLetter

    db = Database(env["CRISISBOT_DATABASE_URL"])
    try:
        db.upgrade()
        with db.session() as session:
            return (sorted(session.exec(select(Comment.comment_id)).all()),
                    [d.reason for d in session.exec(select(DeadLetter).order_by(DeadLetter.id)).all()])
    finally:
        db.dispose()


def row(comment_id: str, **over) -> dict:
    base = {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
            "text": "好用", "created_at": "2026-11-22T20:15:00+08:00"}
    return {**base, **over}


def test_a_missing_file_exits_2_and_creates_no_database(env, tmp_path):
    code, out = ingest(env, tmp_path / "typo.csv")
    assert code == 2, out
    assert f"{tmp_path / 'typo.csv'}:无法读取/cannotread:文件不存在/nosuchfile" in squashed(out)
    assert not (tmp_path / "bot.db").exists()  # nothing to import: the database is not even created


def test_a_folder_exits_2_and_says_to_give_its_files(env, tmp_path):
    (tmp_path / "exports").mkdir()
    code, out = ingest(env, tmp_path / "exports")
    assert code == 2 and "这是目录，请给出其中的文件/thisisafolder:givethefilesinit" in squashed(out), out


@pytest.mark.parametrize("content", ["", HEADER, "\n\n"], ids=["empty", "header-only", "blank-lines"])
def test_an_empty_file_says_so_and_exits_0(env, tmp_path, content):
    path = tmp_path / "today.csv"
    path.write_text(content, encoding="utf-8")
    code, out = ingest(env, path)
    assert code == 0, out
    assert "文件中没有记录/norecordsinthefile" in squashed(out)


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"PK\x03\x04" + b"\x00" * 200, "这是Excel工作簿或压缩包，不是CSV：请在Excel中另存为“CSVUTF-8（逗号分隔）”/"
                                        "thisisanExcelworkbookorazipfile,notaCSV"),
        ((HEADER + "douyin,lanji_official,v1,c1,好,1763813700\n").encode("utf-16"),
         "这是UTF-16或UTF-32文本（如Excel的“Unicode文本”）"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 300, "不是文本文件（含有大量NUL字节）/notatextfile"),
    ],
    ids=["xlsx", "utf-16", "binary"],
)
def test_a_file_that_is_not_a_text_export_is_named_for_what_it_is(env, tmp_path, content, expected):
    """These were read as text and refused for a header of garbage and NUL characters."""
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    code, out = ingest(env, path)
    assert code == 2 and expected in squashed(out), out
    assert "\x00" not in out


def test_a_gbk_file_and_a_bom_file_are_read(env, tmp_path):
    gbk, bom = tmp_path / "gbk.csv", tmp_path / "bom.csv"
    gbk.write_bytes((HEADER + "douyin,lanji_official,v1,g1,质量太差了,1763813700\n").encode("gbk"))
    bom.write_bytes(("\ufeff" + HEADER + "douyin,lanji_official,v1,b1,好用,1763813700\n").encode("utf-8"))
    code, out = ingest(env, gbk, bom)
    assert code == 0, out
    assert "(gb18030)" in out and "(utf-8 BOM)" in out
    assert stored(env)[0] == ["b1", "g1"]


def test_missing_columns_in_one_file_exit_2_but_the_other_files_are_stored(env, tmp_path):
    good, wrong = tmp_path / "good.csv", tmp_path / "wrong.csv"
    good.write_text(HEADER + "douyin,lanji_official,v1,g1,好,1763813700\n", encoding="utf-8")
    wrong.write_text("评论ID,内容\nc1,好\n", encoding="utf-8")
    code, out = ingest(env, good, wrong)
    assert code == 2, out
    text = squashed(out)
    assert "CSV表头缺少必需列/CSVheaderlacksrequiredcolumn(s):platform,account_id,content_id,comment_id,text," \
           "created_at;找到的列/columnsfound:评论ID,内容" in text
    assert "有文件未能导入，见上/somefileswerenotimported:seeabove" in text
    assert stored(env) == (["g1"], [])  # the good file stored; nothing of the wrong one, not even a dead letter


def test_bad_rows_beside_good_ones_exit_0_with_their_reasons(env, tmp_path):
    path = tmp_path / "feed.jsonl"
    lines = [row("g1"), {k: v for k, v in row("b1").items() if k != "text"}, row("b2", created_at="昨天"), row("g2")]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in lines) + "\nnot json\n", encoding="utf-8")
    code, out = ingest(env, path)
    assert code == 0, out
    text = squashed(out)
    assert "新增accepted2" in text and "拒收rejected3" in text
    assert "feed.jsonl:2:text:缺少必填字段（纯表情评论可为空字符串）/missingrequiredfield" in text
    assert "feed.jsonl:3:created_at:不是ISO8601时间/notISO8601:'昨天'" in text
    assert "feed.jsonl:5:JSON格式错误（第1列）/invalidJSONatcolumn1:Expectingvalue" in text
    comments, reasons = stored(env)
    assert comments == ["g1", "g2"] and len(reasons) == 3 and all(" / " in r or "）/ " in r for r in reasons)


def test_a_huge_line_is_one_rejection_with_its_reason(env, tmp_path):
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps(row("h1", text="长" * 2_000_000), ensure_ascii=False) + "\n"
                    + json.dumps(row("g1"), ensure_ascii=False) + "\n", encoding="utf-8")
    code, out = ingest(env, path)
    assert code == 0, out
    assert "huge.jsonl:1:text:超过50000个字符/longerthan50000characters" in squashed(out)
    assert len(out) < 2000  # the line itself is not echoed
    assert stored(env)[0] == ["g1"]


def test_text_that_looks_like_markup_is_shown_as_is(env, tmp_path):
    """A reason quotes the input; rich read "[/x]" in it as a closing tag and stopped with a traceback
    (MarkupError), in the import summary and in --dead-letters."""
    path = tmp_path / "[red]feed.jsonl"
    path.write_text(json.dumps(row("m1", text="[/x] 好", created_at="[/bad]"), ensure_ascii=False) + "\n",
                    encoding="utf-8")
    code, out = ingest(env, path)
    assert code == 0, out
    assert "[red]feed.jsonl:1:" in squashed(out) and "notISO8601:'[/bad]'" in squashed(out)
    result = CliRunner().invoke(cli, ["ingest", "--dead-letters"], env={**env, "COLUMNS": "200"})
    assert result.exit_code == 0 and result.exception is None, result.output
    assert "'[/bad]'" in result.output and "[/x]" in result.output


def test_a_markup_like_missing_path_is_named_as_is(env, tmp_path):
    code, out = ingest(env, Path("[/nope].csv"))
    assert code == 2 and "[/nope].csv:无法读取/cannotread:文件不存在/nosuchfile" in squashed(out), out
