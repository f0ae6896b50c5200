"""`crisisbot ingest` of CSV files with quotes, through the real CLI on SQLite and PostgreSQL (audit 12).

A quoted cell may hold line breaks (a multi-line comment). A quote that is never closed made the reader
swallow every row after it into one cell: the good rows after it were neither stored nor mentioned, and
the one rejection named the wrong reason and the file's last line. Now that line alone is rejected
("引号未闭合 / unclosed quote", its own line number) and the rows after it are read as usual. Every row
is reported at its FIRST line, a multi-line one too, in the summary and in the dead letters.
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.storage.models import Comment, DeadLetter

HEADER = "platform,account_id,content_id,comment_id,text,created_at,like_count\n"
UNCLOSED = '引号未闭合（以"开头的单元格没有结尾的"）/unclosedquote'
CLEARED = ("CRISISBOT_PORT", "CRISISBOT_LANGUAGE", "CRISISBOT_LOG_LEVEL", "CRISISBOT_DEFAULT_CHANNEL",
           "CRISISBOT_SECRET_KEY", "CRISISBOT_FEISHU_MODE", "DATABASE_URL")


def good(comment_id: str, text: str | None = None) -> str:
    return f"douyin,lanji_official,v1,{comment_id},{text or '正常评论' + comment_id},1796500193,1\n"


def open_quote(comment_id: str) -> str:
    return f'douyin,lanji_official,v1,{comment_id},"质量差,1796500193,1\n'


def _url(db) -> str:
    # The PostgreSQL fixture works in its own schema; the CLI reaches it through libpq's options.
    return db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"


@pytest.fixture
def ingest(db, tmp_path, monkeypatch):
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text("accounts: [{platform: douyin, account_id: lanji_official}]\n", encoding="utf-8")
    env = {"CRISISBOT_CONFIG": str(config), "CRISISBOT_DATABASE_URL": _url(db)}

    def run(name: str, content: str, *, newline: str = "\n") -> tuple[int, str]:
        (tmp_path / name).write_bytes(content.replace("\n", newline).encode("utf-8"))
        result = CliRunner().invoke(cli, ["ingest", name], env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        return result.exit_code, "".join(result.output.split())  # rich may wrap long lines anywhere

    return run


def stored(db) -> tuple[dict[str, str], list[DeadLetter]]:
    with db.session() as session:
        comments = {c.comment_id: c.text for c in session.exec(select(Comment)).all()}
        letters = list(session.exec(select(DeadLetter).order_by(DeadLetter.id)).all())
    return comments, letters


def test_an_unclosed_quote_rejects_its_line_alone_and_the_rows_after_it_are_stored(ingest, db):
    # the audit's file: ten good rows, q3's text opens a quote it never closes
    rows = [good(f"q{i}") if i != 3 else open_quote("q3") for i in range(1, 11)]
    code, out = ingest("quote.csv", HEADER + "".join(rows))
    assert code == 0, out
    assert "quote.csv:10行/rows" in out
    assert "新增accepted9,重复更新duplicates0,拒收rejected1" in out
    assert f"quote.csv:4:text:{UNCLOSED}" in out
    assert "quote.csv:11" not in out and "缺少必填字段" not in out
    comments, letters = stored(db)
    assert sorted(comments) == sorted(f"q{i}" for i in range(1, 11) if i != 3)
    assert comments["q4"] == "正常评论q4"
    [letter] = letters
    assert letter.position == "quote.csv:4" and "unclosed quote" in letter.reason
    # the raw text is the rejected line alone, by column like any rejected CSV row: not the swallowed rows
    assert json.loads(letter.raw) == {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1",
                                      "comment_id": "q3", "text": '"质量差', "created_at": "1796500193",
                                      "like_count": "1"}


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_unclosed_quotes_closed_by_a_later_quote_or_by_each_other_or_at_the_end(ingest, db, newline):
    rows = [good("r1"), open_quote("r2"), good("r3"), good("r4", '"好,用"'),  # r4's quote would close r2's
            open_quote("r5"), open_quote("r6"), good("r7"),  # r6's quote would close r5's and hide both
            "douyin,lanji_official,v1,r8,\"多行\n评论\",1796500193,1\n", good("r9"),
            'douyin,lanji_official,v1,r10,"最后一行没有结尾的引号,1796500193,1']  # and no line break either
    code, out = ingest("quotes.csv", HEADER + "".join(rows), newline=newline)
    assert code == 0, out
    assert "新增accepted6,重复更新duplicates0,拒收rejected4" in out
    for line in (3, 6, 7, 12):
        assert f"quotes.csv:{line}:text:{UNCLOSED}" in out
    comments, letters = stored(db)
    assert sorted(comments) == ["r1", "r3", "r4", "r7", "r8", "r9"]
    assert comments["r4"] == "好,用" and comments["r8"] == f"多行{newline}评论"
    assert [letter.position for letter in letters] == [f"quotes.csv:{n}" for n in (3, 6, 7, 12)]


def test_multi_line_cells_are_kept_whole_and_reported_at_their_first_line(ingest, db):
    rows = [good("m1"),
            # a comment whose second line looks like CSV, even a row of this header's width: still one comment
            'douyin,lanji_official,v1,m2,"第一行\na,b,c,d,e,f,g\n第三行, 有逗号",1796500193,1\n',
            'douyin,lanji_official,v1,m3,"坏时间\n第二行\n第三行",not-a-date,1\n',  # a bad multi-line row
            "douyin,lanji_official,v1,m4,少一列\n",  # an ordinary bad row
            'douyin,lanji_official,v1,m5,"多一列\n第二行",1796500193,1,extra\n',
            good("m6")]
    code, out = ingest("multi.csv", HEADER + "".join(rows))
    assert code == 0, out
    assert "新增accepted3,重复更新duplicates0,拒收rejected3" in out
    assert "multi.csv:6:created_at:不是ISO8601时间/notISO8601:'not-a-date'" in out
    assert "multi.csv:9:created_at:缺少必填字段" in out
    assert "multi.csv:10:该行的单元格比表头多" in out
    assert UNCLOSED not in out
    comments, letters = stored(db)
    assert sorted(comments) == ["m1", "m2", "m6"]
    assert comments["m2"] == "第一行\na,b,c,d,e,f,g\n第三行, 有逗号"
    assert [letter.position for letter in letters] == ["multi.csv:6", "multi.csv:9", "multi.csv:10"]
    assert json.loads(letters[0].raw)["text"] == "坏时间\n第二行\n第三行"
