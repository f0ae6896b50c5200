"""`crisisbot console --channel`: "lanji" and "console:lanji" open the same channel; an empty name or
another platform's address is refused; a channel missing from the config is opened with a warning
(it sees no client's accounts, so every answer would look empty)."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import TEST_CONFIG

THEIR_TEXT = "面霜用了过敏，脸上起红疹了，客服也不理人，太差了"


def _url(db) -> str:
    # The PostgreSQL fixture works in its own schema; the CLI reaches it through libpq's options.
    return db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"


@pytest.fixture
def cli(db, tmp_path, monkeypatch):
    path = tmp_path / "crisisbot.yaml"
    path.write_text(yaml.safe_dump(TEST_CONFIG, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(path))
    monkeypatch.setenv("CRISISBOT_DATABASE_URL", _url(db))
    monkeypatch.chdir(tmp_path)
    record = {"platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": "c1",
              "text": THEIR_TEXT, "created_at": "2026-11-22T20:00:00+08:00", "author_id": "u1", "author_name": "顾客"}
    (tmp_path / "feed.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    from bot.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["ingest", "feed.jsonl"]).exit_code == 0

    def invoke(*args, input=None):
        return runner.invoke(app, list(args), input=input)

    return invoke


@pytest.mark.parametrize("channel", ["lanji", "console:lanji", " console:lanji "])
def test_a_name_and_the_address_open_the_same_channel(cli, channel):
    result = cli("console", "--channel", channel, input="/reply-queue\nquit\n")
    assert result.exit_code == 0, result.output
    assert THEIR_TEXT in result.output  # console:lanji sees the lanji account's queue
    assert "未配置" not in result.output and "console:console:" not in result.output


@pytest.mark.parametrize(("channel", "why"), [
    ("", "频道名不能为空 / the channel name is empty"),
    ("  ", "频道名不能为空 / the channel name is empty"),
    ("console:", "频道名不能为空 / the channel name is empty"),
    ("slack:C1", "控制台只能打开 console 频道"),
    ("feishu:oc_1", "the console opens console channels only"),
])
def test_an_empty_channel_or_another_platform_is_refused(cli, channel, why):
    result = cli("console", "--channel", channel, input="/help\nquit\n")
    assert result.exit_code == 2, result.output
    assert "错误 / error:" in result.output and why in result.output
    assert "Traceback" not in result.output


def test_an_unconfigured_channel_opens_with_a_warning(cli):
    result = cli("console", "--channel", "lanij", input="/reply-queue\nquit\n")
    assert result.exit_code == 0, result.output
    assert ("注意：频道 console:lanij 未配置，看不到任何客户的账号 / warning: channel console:lanij is not configured: "
            "it sees no client's accounts") in result.output
    assert THEIR_TEXT not in result.output


def test_switching_channels_in_the_console_reads_names_the_same_way(cli):
    lines = ["#console:xiaochu", "/reply-queue", "#slack:C1", "#console:lanji", "/reply-queue", "#nowhere", "quit"]
    result = cli("console", "--channel", "general", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert "[xiaochu]>" in result.output and "[lanji]>" in result.output
    assert "错误 / error: 控制台只能打开 console 频道" in result.output
    assert result.output.count(THEIR_TEXT) == 1  # seen from console:lanji only, not from console:xiaochu
    assert "channel console:nowhere is not configured" in result.output
    assert "console:console:" not in result.output
