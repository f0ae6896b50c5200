"""`crisisbot backtest --comments FEED.jsonl`: the whole pipeline on a simulated clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from bot.alerts.cli import app

pytestmark = pytest.mark.slow


def test_replay_prints_the_alert_with_its_time_and_its_episode_lines_chinese_first(tmp_path, monkeypatch):
    """One replay of a quiet day and a pile-on (~27 h of feed, the slow part) checked for both the alert line
    and the episode lines: they were two tests replaying the same feed."""
    monkeypatch.chdir(tmp_path)  # no config file here: defaults (everything to the default channel)
    monkeypatch.delenv("CRISISBOT_CONFIG", raising=False)
    start = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    lines = []
    n = 0
    for b in range(288 + 36):  # a quiet day, then a pile-on
        at = start + timedelta(minutes=5 * b)
        per = 2 if b < 288 else 15
        for i in range(per):
            n += 1
            text = "今天直播几点开始" if b < 288 else "垃圾产品，烂脸过敏，退款！"
            lines.append(json.dumps({"platform": "douyin", "account_id": "acc", "content_id": "v1",
                                     "comment_id": f"c{n}", "text": text,
                                     "created_at": (at + timedelta(seconds=10 * i)).isoformat()}, ensure_ascii=False))
    lines.append("{not json")
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["backtest", "--comments", str(feed)])
    assert result.exit_code == 0, result.output
    assert "跳过 / skipped" in result.output  # the bad line is reported, the rest replayed
    alert_lines = [line for line in result.output.splitlines() if "告警 ALERT" in line]
    assert len(alert_lines) == 1
    assert "2026-11-22" in alert_lines[0]
    # the episode lines read Chinese first
    episodes = [line for line in result.output.splitlines() if "episode" in line]
    assert episodes, result.output
    for line in episodes:
        assert line.startswith("事件 / episode "), line
        assert "可检测桶 detectable bucket" in line and "恢复 recovered" in line, line


def _comment(comment_id: str, created_at) -> str:
    return json.dumps({"platform": "douyin", "account_id": "acc", "content_id": "v1", "comment_id": comment_id,
                       "text": "今天直播几点开始", "created_at": created_at}, ensure_ascii=False)


def test_a_bom_does_not_cost_the_first_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRISISBOT_CONFIG", raising=False)
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(_comment(f"c{i}", f"2026-11-22T10:0{i}:00+08:00") for i in range(3)) + "\n",
                    encoding="utf-8-sig")
    result = CliRunner().invoke(app, ["backtest", "--comments", str(feed)])
    assert result.exit_code == 0, result.output
    assert "跳过 / skipped" not in result.output
    assert "回放 / replayed 3 条评论" in result.output


@pytest.mark.timeout(120)
def test_years_between_comments_replay_in_seconds(tmp_path, monkeypatch):
    """Epoch 0 is refused as no real comment time; years of silence between real ones are jumped over
    instead of closing every 5-minute bucket in between (that took hours)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRISISBOT_CONFIG", raising=False)
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join([_comment("zero", 0), _comment("old", "2001-01-01T00:00:00+00:00"),
                               _comment("new", "2026-11-22T20:00:00+08:00")]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["backtest", "--comments", str(feed)])
    assert result.exit_code == 0, result.output
    assert "feed.jsonl:1: created_at: 早于 2000-01-01，不是真实的评论时间 / before 2000-01-01" in result.output
    assert "回放 / replayed 2 条评论" in result.output


@pytest.mark.parametrize("bucket", ["2h", "1d", "90s"])
def test_a_comment_replay_refuses_a_bucket_the_bot_cannot_run_with(tmp_path, monkeypatch, bucket):
    """alerts.bucket_minutes is 1-60: a replay on 2-hour buckets ran and reported what no configuration of
    the bot can do."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRISISBOT_CONFIG", raising=False)
    feed = tmp_path / "feed.jsonl"
    feed.write_text(_comment("c1", "2026-11-21T12:00:00+00:00") + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["backtest", "--comments", str(feed), "--bucket", bucket])
    assert result.exit_code == 2, result.output
    assert "错误 / error" in result.output and "1m to 60m" in result.output


def test_the_feed_is_checked_and_counted_as_ingest_checks_and_counts_it(tmp_path, monkeypatch):
    """A bad line was skipped for its created_at alone (in English), a record without content_id was let
    through, and neither it nor a re-delivered comment was counted: "(0 条被拒 rejected)"."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRISISBOT_CONFIG", raising=False)
    no_content = json.dumps({"platform": "douyin", "account_id": "acc", "comment_id": "x", "text": "hi",
                             "created_at": "0"})
    no_content_good_time = json.dumps({"platform": "douyin", "account_id": "acc", "comment_id": "y",
                                       "text": "hi", "created_at": "2026-11-22T10:00:30+08:00"})
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join([_comment("c1", "2026-11-22T10:00:00+08:00"), "{not json", no_content,
                               _comment("c2", "2026-11-22T10:01:00+08:00"),
                               _comment("c2", "2026-11-22T10:01:00+08:00"), no_content_good_time,
                               _comment("c1", "2026-11-22T10:00:00+08:00")]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["backtest", "--comments", str(feed)])
    assert result.exit_code == 0, result.output
    # the reasons `crisisbot ingest` gives, Chinese first, every one of them
    assert ("feed.jsonl:3: content_id: 缺少必填字段 / missing required field; created_at: 早于 2000-01-01，"
            "不是真实的评论时间 / before 2000-01-01") in result.output, result.output
    assert "feed.jsonl:6: content_id: 缺少必填字段 / missing required field" in result.output
    assert "feed.jsonl:2: JSON 格式错误" in result.output
    assert "回放 / replayed 2 条评论 comments, 重复更新 duplicates 2, 拒收 rejected 3," in result.output
    assert result.output.count("跳过 / skipped") == 3


def test_a_feed_without_a_good_comment_says_why_chinese_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRISISBOT_CONFIG", raising=False)
    feed = tmp_path / "feed.jsonl"
    feed.write_text("{not json\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["backtest", "--comments", str(feed)])
    assert result.exit_code == 2, result.output
    assert "文件中没有可回放的评论（1 行被拒收）/ the feed has no comments to replay (1 lines rejected)" in result.output
    assert "跳过 / skipped: " in result.output and "feed.jsonl:1: JSON 格式错误" in result.output


def test_bucket_errors_of_a_replay_read_chinese_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRISISBOT_CONFIG", raising=False)
    feed = tmp_path / "feed.jsonl"
    feed.write_text(_comment("c1", "2026-11-21T12:00:00+00:00") + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["backtest", "--comments", str(feed), "--bucket", "7x"])
    assert result.exit_code == 2, result.output
    assert "could not convert" not in result.output
    assert "--bucket: 桶大小应写成 5m、300s 或 1h 这样的形式 / a bucket looks like 5m, 300s or 1h" in result.output
    result = CliRunner().invoke(app, ["backtest", "--comments", str(feed), "--bucket", "2h"])
    assert "--bucket 回放评论时应为 1m 到 60m 的整分钟数" in result.output
