"""`crisisbot purge --author PLATFORM:ID` through the real CLI, on SQLite and PostgreSQL.

Dead letters (rejected records kept raw) are matched on the record itself: exactly this platform and
this author id (a string or a JSON number), never by a LIKE pattern, so "_" and "%" in an id are
literal. An unknown platform or an empty id is refused before anything runs.
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.storage.models import DeadLetter

NO_TIME = {"account_id": "lanji_official", "content_id": "v1", "text": "被拒的评论"}  # no created_at: rejected


def _rejected(comment_id, **fields):
    return {"platform": "douyin", **NO_TIME, "comment_id": comment_id, **fields}


FEED = [
    # one accepted comment of theirs, so the purge also finds their comments
    {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": "c1",
     "text": "用了过敏", "created_at": "2026-11-22T20:00:00+08:00", "author_id": "u_1", "author_name": "小一"},
    _rejected("d-theirs", author_id="u_1"),
    _rejected("d-theirs-padded", platform=" Douyin ", author_id=" u_1 "),  # ingestion trims and lower-cases these
    _rejected("d-ux1", author_id="uX1"),
    _rejected("d-uy1", author_id="uY1"),
    _rejected("d-percent", author_id="user%"),
    _rejected("d-u-12", author_id="u_12"),
    _rejected("d-weibo", platform="weibo", author_id="u_1"),
    _rejected("d-number", author_id=777),
    _rejected("d-number-text", author_id="7777"),
    {**NO_TIME, "comment_id": "d-no-platform", "author_id": "u_1"},  # cannot be told apart from others: kept
    _rejected("d-mention", author_id="someone", text='他说 "author_id": "u_1" 是谁'),  # their id in text only
]
BROKEN_LINE = '{"platform": "douyin", "comment_id": "d-broken", "author_id": "u_1", "text": '  # not JSON: theirs
OTHER_BROKEN = '{"platform": "weibo", "author_id": "u_1", "text": '  # not JSON, another platform's user


def _url(db) -> str:
    # The PostgreSQL fixture works in its own schema; the CLI reaches it through libpq's options.
    return db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"


@pytest.fixture
def cli(db, tmp_path, monkeypatch):
    (tmp_path / "crisisbot.yaml").write_text("default_channel: console:general\n", encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(tmp_path / "crisisbot.yaml"))
    monkeypatch.setenv("CRISISBOT_DATABASE_URL", _url(db))
    monkeypatch.chdir(tmp_path)
    lines = [json.dumps(r, ensure_ascii=False) for r in FEED] + [BROKEN_LINE, OTHER_BROKEN]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    from bot.cli import app

    runner = CliRunner()
    runner.invoke(app, ["ingest", "feed.jsonl"])  # exits 1: it reports the rejected records
    assert len(_dead_letters(db)) == len(FEED) + 1, "every record but the accepted one is a dead letter"

    def invoke(*args):
        return runner.invoke(app, list(args))

    return invoke


def _dead_letters(db) -> list[str]:
    with db.session() as session:
        return [d.raw for d in session.exec(select(DeadLetter).order_by(DeadLetter.id))]


def _left(db) -> set[str]:
    """Which dead letters remain, by the comment id they carry (the broken lines by their platform)."""
    out = set()
    for raw in _dead_letters(db):
        try:
            out.add(json.loads(raw)["comment_id"])
        except ValueError:
            out.add("broken-douyin" if "d-broken" in raw else "broken-weibo")
    return out


ALL = {"d-theirs", "d-theirs-padded", "d-ux1", "d-uy1", "d-percent", "d-u-12", "d-weibo", "d-number",
       "d-number-text", "d-no-platform", "d-mention", "broken-douyin", "broken-weibo"}


def test_purge_removes_exactly_their_dead_letters(cli, db):
    result = cli("purge", "--author", "douyin:u_1")
    assert result.exit_code == 0, result.output
    assert "评论 comments 1," in result.output and "拒收记录 dead letters 3," in result.output
    # "_" is no wildcard (uX1, uY1 stay), another platform's u_1 stays, a longer id stays
    assert _left(db) == ALL - {"d-theirs", "d-theirs-padded", "broken-douyin"}


def test_like_wildcards_in_an_id_match_nothing_but_that_id(cli, db):
    result = cli("purge", "--author", "douyin:%")
    assert result.exit_code == 0, result.output
    assert "拒收记录 dead letters 0," in result.output
    assert _left(db) == ALL
    assert "拒收记录 dead letters 1," in cli("purge", "--author", "douyin:user%").output
    assert _left(db) == ALL - {"d-percent"}


def test_an_id_sent_as_a_json_number_is_theirs(cli, db):
    result = cli("purge", "--author", "douyin:777")
    assert result.exit_code == 0, result.output
    assert "拒收记录 dead letters 1," in result.output
    assert _left(db) == ALL - {"d-number"}


def test_the_platform_decides(cli, db):
    result = cli("purge", "--author", "weibo:u_1")
    assert result.exit_code == 0, result.output
    assert "评论 comments 0," in result.output and "拒收记录 dead letters 2," in result.output
    assert _left(db) == ALL - {"d-weibo", "broken-weibo"}


def test_the_platform_is_read_as_ingestion_reads_it(cli, db):
    # ingestion accepts "Douyin" and stores "douyin": a request may be written either way
    result = cli("purge", "--author", "DOUYIN:uX1")
    assert result.exit_code == 0, result.output
    assert _left(db) == ALL - {"d-ux1"}


@pytest.mark.parametrize("author", ["foo:bar", ":x", "tiktok:u_1", "slack:u_1", "douyin:", "douyin:  ", "u_1"])
def test_an_unknown_platform_or_empty_id_is_refused_and_nothing_is_removed(cli, db, author):
    result = cli("purge", "--author", author)
    assert result.exit_code == 2, result.output
    assert "错误 / error:" in result.output
    assert "已删除 / removed" not in result.output
    assert _left(db) == ALL


def test_an_unknown_platform_is_named_in_the_refusal(cli):
    result = cli("purge", "--author", "foo:bar")
    assert "未知平台 / unknown platform 'foo'" in result.output
    assert "douyin, kuaishou, bilibili, weibo, xiaohongshu" in result.output
