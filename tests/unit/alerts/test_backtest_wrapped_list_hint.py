"""`crisisbot backtest --comments FILE` reads a file as `crisisbot ingest` does (bot/alerts/replay.py
`load_feed`), but a JSON file wrapping its comments (`{"comments": [...]}`, an API response saved as it came)
was skipped only for the six fields it lacks as a comment; ingest's hint (how to give the list) is now
given there too, in ingest's own words (bot/importer.py `wrapped_list_reason`)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bot.alerts.cli import app
from bot.alerts.replay import load_feed


def record(comment_id: str, **over) -> dict:
    base = {"platform": "bilibili", "account_id": "a", "content_id": "BV1", "comment_id": comment_id,
            "text": "锅好用吗？", "created_at": 1763813700}
    base.update(over)
    return base


def test_a_file_wrapping_its_comments_is_refused_saying_how_to_give_the_list(tmp_path):
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps({"comments": [record("1"), record("2")]}, ensure_ascii=False, indent=2),
                    encoding="utf-8")
    result = CliRunner().invoke(app, ["backtest", "--comments", str(feed)])
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())  # the console may wrap long lines
    assert "missing required fields" in output  # what it lacks as a comment, as before
    assert "评论列表在其 'comments' 字段中" in output
    assert "with the comments in its 'comments' field" in output and "one JSON array" in output
    assert output.index("评论列表") < output.index("with the comments")  # Chinese first


def test_a_comment_carrying_a_list_of_its_own_is_still_read(tmp_path):
    feed = tmp_path / "feed.jsonl"
    lines = [record("1", tags=["a"]), {"items": [record("2")]}]
    feed.write_text("\n".join(json.dumps(r) for r in lines) + "\n", encoding="utf-8")
    records, problems = load_feed(feed)
    assert [r["comment_id"] for r in records] == ["1"]
    (problem,) = problems
    assert problem.startswith(f"{feed}:2: ") and "'items'" in problem and "JSONL" in problem
