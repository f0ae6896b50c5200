"""Issue #5 acceptance probe: `crisisbot backtest --comments` shows what a channel would have seen."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from bot.alerts.cli import app


def _line(comment_id: str, text: str, at: datetime) -> str:
    return json.dumps({"platform": "douyin", "account_id": "acc", "content_id": "v1", "comment_id": comment_id,
                       "text": text, "created_at": at.isoformat()}, ensure_ascii=False)


@pytest.mark.slow
def test_replay_prints_the_first_post_its_escalations_and_the_recovery(tmp_path, monkeypatch):
    """Nothing was ever delivered in the replay: an alert's later edits rewrote its pending first post (the
    ALERT line, at 20:40, already said 已恢复, which happened at 23:00) and escalation, which counts from
    delivery, never ran (no 升级 line for a sev2 nobody acknowledged for an hour)."""
    monkeypatch.chdir(tmp_path)  # no config file: defaults, escalation of sev1/sev2 after 15 minutes
    monkeypatch.delenv("CRISISBOT_CONFIG", raising=False)
    start = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    lines = [_line(f"c{i}", "垃圾产品，烂脸过敏，退款！", start + timedelta(seconds=75 * i)) for i in range(80)]
    calm = start + timedelta(seconds=75 * 80)  # then two and a half calm hours: the share drops, it recovers
    lines += [_line(f"n{j}", "今天直播几点开始", calm + timedelta(minutes=j)) for j in range(150)]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["backtest", "--comments", str(feed)])

    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    alerts = [line for line in out if "告警 ALERT" in line]
    assert len(alerts) == 1, result.output
    assert "已恢复" not in alerts[0], alerts[0]  # as first posted
    escalations = [line for line in out if "升级 ESCALATE" in line]
    assert len(escalations) == 3, result.output  # escalation.max_notifications
    assert all(alerts[0][:19] < line[:19] for line in escalations)
    recovered = [line for line in out if "更新 UPDATE" in line and "已恢复" in line]
    assert len(recovered) == 1, result.output


def test_a_fresh_video_going_bad_alerts_on_the_accounts_usual_curve(bot, clock, db):
    """A new video is judged on the account's usual curve for posts of its age, and that curve learnt from
    the new video's own buckets as they closed: within its first hour its pile-on became its own "usual"
    (the prior rose from nearly 0 towards 10 a bucket) and the fresh video never had an episode of its own;
    the account's alert then named an older video as the place. The curve learns a video's hour once the
    video is past it, so a video's prior never includes the video itself."""
    from tests.integration.alerts.test_alert_service import NEGATIVE, comment, episodes, load_history, tick

    load_history(bot, clock)  # v1: a calm day, the curve knows posts of ages 0-23 h (no negative comments)
    end = clock.now() + timedelta(minutes=40)
    while clock.now() < end:  # v2 appears and goes bad at once: 2 negative comments a minute
        clock.advance(timedelta(seconds=30))
        now = clock.now()
        if now.second < 30:
            bot.services.ingest.ingest_records([comment(now, text=NEGATIVE, content="v2") for _ in range(2)],
                                               source="test")
        tick(bot)
    fresh = [e for e in episodes(db) if e.content_id == "v2"]
    assert fresh, [(e.content_id, e.stats.get("merged_into")) for e in episodes(db)]
    account = [e for e in episodes(db) if e.content_id == ""]
    assert all(e.stats.get("content_id") == "v2" for e in account), [e.stats.get("content_id") for e in account]


def test_backtest_summary_counts_in_english_singular(tmp_path, monkeypatch):
    """'1 rows, 1 alerts' in the English half of the summary line."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRISISBOT_CONFIG", raising=False)
    series = tmp_path / "one.csv"
    series.write_text("timestamp,value\n2026-01-01T00:00:00Z,3\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["backtest", str(series), "--out", str(tmp_path / "out.csv"), "--tz", "UTC"])
    assert result.exit_code == 0, result.output
    assert "/ 1 row, 0 alerts ->" in result.output
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [f"{(start + timedelta(minutes=5 * i)).isoformat()},{3 if i < 600 else 200}" for i in range(602)]
    series.write_text("timestamp,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["backtest", str(series), "--out", str(tmp_path / "out.csv"), "--tz", "UTC"])
    assert result.exit_code == 0, result.output
    assert "/ 602 rows, 1 alert ->" in result.output


@pytest.mark.parametrize(("alerts", "where", "says"), [
    # an account's name (as /watch takes it) or no platform: the surge applied to no account at all
    ({"surges": [{"account": "澜肌官方旗舰店", "from": "2026-11-11T20:00:00+08:00",
                  "until": "2026-11-12T01:00:00+08:00"}]}, "alerts.surges[0].account", "平台:账号ID"),
    ({"surges": [{"account": "tiktok:a", "from": "2026-11-11T20:00:00+08:00",
                  "until": "2026-11-12T01:00:00+08:00"}]}, "alerts.surges[0].account", "unknown platform"),
    ({"watch_terms": [{"term": "维权", "account": "lanji_official"}]}, "alerts.watch_terms[0].account", "平台:账号ID"),
    # a blank term matched every comment holding two spaces
    ({"watch_terms": [{"term": "  "}]}, "alerts.watch_terms[0].term", "blank"),
    # a severity that does not exist never suggested anything
    ({"playbooks": {"sev4": "negative-outbreak"}}, "alerts.playbooks", "sev4"),
])
def test_config_check_refuses_alert_entries_that_apply_to_nothing(alerts, where, says):
    from bot.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as refused:
        parse_config({"alerts": alerts}, source="probe")
    problems = [line for line in str(refused.value).splitlines() if where in line]
    assert problems and says in problems[0], str(refused.value)


def test_a_watched_term_from_the_config_is_matched_without_its_spaces():
    """`{term: " 维权"}` (a space kept by YAML quotes) never matched "我要维权"."""
    from bot.config import parse_config

    config = parse_config({"alerts": {"watch_terms": [{"term": " 维权 ", "account": "douyin:lanji_official"}]}},
                          source="probe")
    assert [t.term for t in config.alerts.watch_terms] == ["维权"]
