"""Durations at the edge of what validation allows still start a run; durations beyond it, and files
that are not UTF-8, stop the bot's start with the problem named; `crisisbot playbooks report` refuses a
bad --out and works on a database that was never set up."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.config import ConfigError
from bot.playbooks.cli import app as cli

PLAYBOOK = """\
id: edge
name: 极限时限
title_en: Edge limits
roles: {{指挥: {{}}}}
steps:
  - {{id: a, title: 受理, owner: 指挥, due: {due}}}
exit: {{rule: 平息, hold: {hold}, baseline_window: 365d}}
"""


def folder_with(tmp_path: Path, *, due: str, hold: str = "2h", encoding: str = "utf-8") -> Path:
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "edge.yaml").write_bytes(PLAYBOOK.format(due=due, hold=hold).encode(encoding))
    return folder


def test_the_longest_allowed_due_starts_a_run(make_bot, tmp_path):
    bot = make_bot({"playbooks": {"directory": str(folder_with(tmp_path, due="365d", hold="365d"))}})
    view = bot.services.playbooks.start_run("console:lanji", "edge", "测试", 2, None, "console:a")
    assert view.state.steps[0].due_at is not None


@pytest.mark.parametrize("due", ["3000000d", "99999999999", ".inf", "99999999999d"])
def test_a_due_beyond_the_limit_stops_the_start(make_bot, tmp_path, due):
    with pytest.raises(ConfigError) as error:
        make_bot({"playbooks": {"directory": str(folder_with(tmp_path, due=due))}})
    assert "edge.yaml" in str(error.value) and "due" in str(error.value)


def test_a_gbk_playbook_loads_at_start(make_bot, tmp_path):
    bot = make_bot({"playbooks": {"directory": str(folder_with(tmp_path, due="1h", encoding="gbk"))}})
    assert bot.services.playbooks.playbooks.find("极限时限") is not None


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "c.yaml"
    config.write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    return config


def test_report_out_must_be_a_folder(tmp_path):
    a_file = tmp_path / "taken.md"
    a_file.write_text("x", encoding="utf-8")
    database = tmp_path / "never-touched.db"
    env = {"CRISISBOT_DATABASE_URL": f"sqlite:///{database}", "CRISISBOT_CONFIG": str(_config(tmp_path))}
    for out in (a_file, a_file / "sub" / "dir"):
        result = CliRunner().invoke(cli, ["report", "1", "--out", str(out)], env=env)
        assert result.exit_code == 2, result.output
        assert "--out must be a folder" in result.output and str(a_file) in result.output
    assert not database.exists()  # refused before the database was opened


def test_report_on_a_database_never_set_up(tmp_path):
    env = {
        "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "CRISISBOT_CONFIG": str(_config(tmp_path)),
    }
    result = CliRunner().invoke(cli, ["report", "1", "--out", str(tmp_path / "out")], env=env)
    assert result.exit_code == 2, result.output
    assert "没有预案 #1 / no run #1" in result.output  # the tables exist now: an answer, not a traceback


def test_start_up_reads_a_relative_directory_from_the_config_files_folder(db, clock, tmp_path, monkeypatch):
    import copy

    from bot.app import build_app
    from bot.config import Settings, parse_config
    from tests.conftest import TEST_CONFIG

    config_dir = tmp_path / "x" / "config"
    config_dir.mkdir(parents=True)
    (config_dir / "crisisbot.yaml").write_text("playbooks:\n  directory: mine\n", encoding="utf-8")
    folder_with(config_dir, due="1h").rename(config_dir / "mine")
    monkeypatch.chdir(tmp_path)  # not the config's folder, not the repository
    settings = Settings(_env_file=None, CRISISBOT_CONFIG=str(config_dir / "crisisbot.yaml"))  # type: ignore[call-arg]
    data = copy.deepcopy(TEST_CONFIG)
    data["playbooks"] = {"directory": "mine"}
    bot = build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False)
    try:
        assert [p.id for p in bot.services.playbooks.playbooks.playbooks] == ["edge"]
    finally:
        bot.stop()
