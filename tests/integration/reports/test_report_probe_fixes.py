"""Report gaps found by an acceptance probe:

- a bad period ("0d", "3x", "93d") was explained in English only, in `/report`, `report --period` and
  `config check`: Chinese first now, with the English kept;
- `report --out DIR` run twice in the same minute overwrote the first report's files: the second gets a
  `-2` name now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.reports.settings import parse_period

CONFIG = (
    "timezone: Asia/Shanghai\n"
    "clients: [{id: lanji, name: 澜肌护肤}]\n"
    "accounts: [{platform: douyin, account_id: lanji_official, name: 澜肌官方旗舰店, client: lanji}]\n"
    "channels: [{id: 'console:lanji', client: lanji}]\n"
)
CLEARED = ("CRISISBOT_PORT", "CRISISBOT_LANGUAGE", "CRISISBOT_LOG_LEVEL", "CRISISBOT_DEFAULT_CHANNEL",
           "CRISISBOT_SECRET_KEY", "CRISISBOT_FEISHU_MODE", "CRISISBOT_TIMEZONE", "DATABASE_URL")
NOT_A_PERIOD_ZH = "不是有效的周期（整数小时、天或周，例如 24h、1d、7d、2w）/ "


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return {"CRISISBOT_CONFIG": str(config), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}


def invoke(args, env):
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def _chinese_first(message: str, english: str) -> bool:
    """Chinese, then the English phrase after it (and no Chinese after the English starts)."""
    start = message.index(english)
    return any("\u4e00" <= ch <= "\u9fff" for ch in message[:start]) and not any(
        "\u4e00" <= ch <= "\u9fff" for ch in message[start:])


# ---- period messages --------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["0d", "3x", "d", "000h"])
def test_a_text_that_is_no_period_is_explained_chinese_first(text):
    with pytest.raises(ValueError) as caught:
        parse_period(text)
    message = str(caught.value)
    assert message == f"{text!r} {NOT_A_PERIOD_ZH}{text!r} is not a period (use e.g. '24h', '1d', '7d', '2w')"
    assert _chinese_first(message, "is not a period"), message


@pytest.mark.parametrize("text", ["93d", "14w", "99999999999999999999d"])
def test_a_period_too_long_is_explained_chinese_first(text):
    with pytest.raises(ValueError) as caught:
        parse_period(text)
    message = str(caught.value)
    assert "超过 92 天 / " in message and message.endswith("is longer than 92 days"), message
    assert _chinese_first(message, "is longer than"), message


def test_chat_report_0d_is_chinese_first(bot, run_command):
    [reply] = run_command("/report 0d", channel="console:lanji")
    assert f"周期无效 / bad period: '0d' {NOT_A_PERIOD_ZH}'0d' is not a period" in reply.text, reply.text


def test_cli_report_period_0d_is_chinese_first(env):
    result = invoke(["report", "--channel", "console:lanji", "--period", "0d"], env)
    assert result.exit_code == 2, result.output
    assert f"周期无效 / bad period: '0d' {NOT_A_PERIOD_ZH}'0d' is not a period" in result.output


def test_config_check_period_0d_is_chinese_first(env, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG + "reports:\n  schedules: [{id: d, channel: 'console:lanji', period: 0d}]\n",
                      encoding="utf-8")
    result = invoke(["config", "check"], env)
    assert result.exit_code == 2, result.output
    assert f"reports.schedules[0].period: '0d' {NOT_A_PERIOD_ZH}'0d' is not a period" in result.output


# ---- report --out: never overwrite --------------------------------------------------------------------
def _stem(moment: datetime, span: str = "1d") -> str:
    return f"report-console-lanji-{span}-{moment.astimezone(ZoneInfo('Asia/Shanghai')):%Y%m%d-%H%M}"


def test_report_out_does_not_overwrite_a_report_of_the_same_minute(env, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    # reports already written this minute (and the next one, should the clock turn meanwhile)
    now = datetime.now(UTC)
    kept = {}
    for moment in (now, now + timedelta(minutes=1)):
        path = out / f"{_stem(moment)}.md"
        path.write_text(f"earlier report {moment.isoformat()}\n", encoding="utf-8")
        kept[path] = path.read_text(encoding="utf-8")
    result = invoke(["report", "--channel", "console:lanji", "--out", str(out)], env)
    assert result.exit_code == 0, result.output
    for path, text in kept.items():
        assert path.read_text(encoding="utf-8") == text  # not overwritten
    new = sorted(set(out.glob("report-*.md")) - set(kept))
    assert len(new) == 1, sorted(p.name for p in out.iterdir())
    [written] = new
    assert written.name.startswith("report-console-lanji-1d-") and written.stem.endswith("-2")
    assert written.read_text(encoding="utf-8").startswith("# 近 24 小时报告 / report for the last 24 hours")
    assert f"已写入 / written: {out / written.stem}.md" in result.output
    if (out / f"{written.stem}.png").exists():  # the chart goes with its own report
        assert f"{out / written.stem}.png" in result.output


def test_report_out_twice_keeps_both_reports(env, tmp_path):
    out = tmp_path / "out"
    first = invoke(["report", "--channel", "console:lanji", "--out", str(out)], env)
    second = invoke(["report", "--channel", "console:lanji", "--out", str(out)], env)
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    names = sorted(p.name for p in out.glob("report-*.md"))
    assert len(names) == 2 and all(n.startswith("report-console-lanji-1d-") for n in names), names
    pngs = sorted(p.name for p in out.glob("report-*.png"))
    assert len(pngs) in (0, 2), pngs
