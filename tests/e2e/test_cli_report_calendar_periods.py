"""`crisisbot report --month 2025-10` and `--from/--to`: a calendar month or whole days (both ends included) in
the channel's zone, made again later with the same figures; `--period 月报` the last whole month; the .html
written beside the .md and .png; a mixed-up request refused with exit 2, Chinese first (audit 13)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.config import parse_config

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONFIG = (
    "clients: [{id: lanji, name: 澜肌护肤}]\n"
    "accounts: [{platform: douyin, account_id: lanji_official, name: 澜肌官方旗舰店, client: lanji}]\n"
    "channels: [{id: 'console:lanji', client: lanji}]\n"
)
CLEARED = ("CRISISBOT_PORT", "CRISISBOT_LANGUAGE", "CRISISBOT_LOG_LEVEL", "CRISISBOT_DEFAULT_CHANNEL",
           "CRISISBOT_SECRET_KEY", "CRISISBOT_FEISHU_MODE", "DATABASE_URL", "CRISISBOT_TIMEZONE")


@pytest.fixture
def env(tmp_path, monkeypatch, sqlite_db, settings):
    from bot.app import build_app
    from bot.clock import FakeClock

    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    app = build_app(settings, parse_config({"clients": [{"id": "lanji", "name": "澜肌护肤"}], "accounts": [
        {"platform": "douyin", "account_id": "lanji_official", "name": "澜肌官方旗舰店", "client": "lanji"}],
        "channels": [{"id": "console:lanji", "client": "lanji"}]}, source="tests"),
        clock=FakeClock(datetime(2025, 11, 2, tzinfo=UTC)), db=sqlite_db, upgrade=False)
    try:
        # the account's comments go back before September: the comparison with September is a whole one
        moments = {"aug": datetime(2025, 8, 20, tzinfo=SHANGHAI), "sep": datetime(2025, 9, 30, 12, tzinfo=SHANGHAI), "oct-1": datetime(2025, 10, 1, 0, 5, tzinfo=SHANGHAI),
                   "oct-31": datetime(2025, 10, 31, 23, 55, tzinfo=SHANGHAI),
                   "nov-1": datetime(2025, 11, 1, 0, 5, tzinfo=SHANGHAI)}
        app.services.ingest.ingest_records([
            {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": key,
             "text": f"评论 {key}", "created_at": moment.isoformat()} for key, moment in moments.items()
        ], source="test")
    finally:
        app.close()
    return {"CRISISBOT_CONFIG": str(config), "CRISISBOT_DATABASE_URL": sqlite_db.url}


def invoke(args, env):
    result = CliRunner().invoke(cli, ["report", "--channel", "console:lanji", *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def test_month_is_the_calendar_month_in_the_channels_zone(env, tmp_path):
    result = invoke(["--month", "2025-10", "--out", str(tmp_path / "out")], env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# 月报 / monthly report｜澜肌护肤｜2025-10-01 – 2025-10-31 Asia/Shanghai")
    assert "评论 / comments：2（+100% 较上期 / vs previous，上期 1）" in result.output  # Oct 1st and 31st vs Sep
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "report-console-lanji-2025-10.md" in names and "report-console-lanji-2025-10.html" in names, names
    page = (tmp_path / "out" / "report-console-lanji-2025-10.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page


def test_from_and_to_are_whole_days_both_included(env):
    result = invoke(["--from", "2025-10-31", "--to", "2025-11-01"], env)
    assert result.exit_code == 0, result.output
    assert "2 天报告 / 2-day report｜澜肌护肤｜2025-10-31 – 2025-11-01" in result.output
    assert "评论 / comments：2（" in result.output  # 23:55 on the 31st and 00:05 on the 1st


@pytest.mark.parametrize(("args", "said"), [
    (["--month", "2025-10", "--from", "2025-10-01", "--to", "2025-10-02"], "--month 与 --from/--to 只能用一个"),
    (["--from", "2025-10-01"], "--from 与 --to 要一起写"),
    (["--period", "7d", "--month", "2025-10"], "--period 与 --month、--from/--to 只能用一个"),
    (["--month", "2025-13"], "不是月份"),
    (["--from", "2025-10-05", "--to", "2025-10-01"], "早于"),
    (["--month", "2999-01"], "还没有结束"),
])
def test_a_mixed_up_period_is_refused_chinese_first(env, args, said):
    result = invoke(args, env)
    assert result.exit_code == 2 and said in result.output, result.output


def test_help_names_the_new_options_chinese_first(env):
    result = CliRunner().invoke(cli, ["report", "--help"], env={**env, "COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--month", "--from", "--to", "--period", "--out", "--post", "--channel"):
        assert option in result.output
    assert "某个自然月（频道时区），如 2026-11 / a calendar month" in result.output


def test_period_takes_chinese_units_and_names_the_last_whole_month(env):
    days = invoke(["--period", "7天"], env)
    assert days.exit_code == 0 and "近 7 天报告 / report for the last 7 days" in days.output, days.output
    month = invoke(["--period", "月报"], env)
    assert month.exit_code == 0 and "月报 / monthly report" in month.output, month.output
    first_line = month.output.splitlines()[0]
    assert first_line.split("｜")[2].split(" Asia")[0].endswith(("-28", "-29", "-30", "-31")), first_line  # whole month
