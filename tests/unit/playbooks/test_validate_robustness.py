"""Playbook files that used to crash the validator (and the bot's start-up), or slip through it:
non-UTF-8 files, infinite or enormous durations, upper-case suffixes, ambiguous names, English-only
messages, and a relative `playbooks.directory` read from the config file's folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app as main_app
from bot.playbooks.cli import app

PLAYBOOK = """\
id: {id}
name: {name}
title_en: {title_en}
roles: {{指挥: {{}}}}
steps:
  - {{id: a, title: 受理, owner: 指挥, due: {due}}}
exit: {{rule: 平息, hold: {hold}}}
"""


def write(folder: Path, filename: str, *, id="t1", name="测试预案", title_en="Test", due="1h", hold="2h",
          encoding="utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_bytes(PLAYBOOK.format(id=id, name=name, title_en=title_en, due=due, hold=hold).encode(encoding))
    return path


def validate(*paths: Path):
    return CliRunner().invoke(app, ["validate", *map(str, paths)])


def test_a_gbk_playbook_is_read_like_other_chinese_files(tmp_path):
    path = write(tmp_path, "gbk.yaml", name="谣言应对", encoding="gbk")
    result = validate(path)
    assert result.exit_code == 0, result.output
    assert "谣言应对" in result.output


def test_a_file_that_is_not_text_is_a_problem_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe\x00\x81 not text \x81\xff")
    good = write(tmp_path / "more", "good.yaml")
    result = validate(bad, good)
    assert result.exit_code == 2, result.output
    assert "bad.yaml: (file): 不是 UTF-8 或 GB18030 文本" in result.output
    assert "OK" in result.output  # the other file is still checked


@pytest.mark.parametrize(
    ("due", "why"),
    [
        (".inf", "有限"),
        (".nan", "有限"),
        ("99999999999d", "时长过大"),
        ("3000000d", "1 分钟到 365 天"),
        ("99999999999", "1 分钟到 365 天"),  # minutes
        ("30s", "1 分钟到 365 天"),
    ],
)
def test_due_out_of_range_is_reported_with_step_and_key(tmp_path, due, why):
    result = validate(write(tmp_path, "p.yaml", due=due))
    assert result.exit_code == 2, result.output
    line = next(line for line in result.output.splitlines() if "due" in line)
    assert "步骤/step a · due:" in line and why in line


def test_every_duration_problem_is_listed_at_once(tmp_path):
    result = validate(write(tmp_path, "p.yaml", due=".inf", hold="99999999999d"))
    assert result.exit_code == 2
    assert "步骤/step a · due:" in result.output and "exit.hold:" in result.output
    assert "2 个问题" in result.output


def test_the_limits_themselves_are_fine(tmp_path):
    assert validate(write(tmp_path, "p.yaml", due="1m", hold="365d")).exit_code == 0


def test_upper_case_suffixes_are_read(tmp_path):
    write(tmp_path, "A.YAML", id="a1", name="甲", title_en="Alpha", due=".inf")
    write(tmp_path, "B.Yml", id="b1", name="乙", title_en="Beta")
    result = validate(tmp_path)
    assert result.exit_code == 2
    assert "A.YAML" in result.output and "OK" in result.output and "b1" in result.output


def test_names_shared_by_two_playbooks_are_flagged(tmp_path):
    write(tmp_path, "a.yaml", id="alpha", name="甲", title_en="Shared")
    write(tmp_path, "b.yaml", id="beta", name="乙", title_en="shared")  # same title, other case
    write(tmp_path, "c.yaml", id="gamma", name="丙", title_en="ALPHA")  # another playbook's id
    result = validate(tmp_path)
    assert result.exit_code == 2
    assert "b.yaml: title_en:" in result.output and "c.yaml: title_en:" in result.output
    assert "/crisis start" in result.output


def test_schema_messages_lead_in_chinese(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "id: 'has space'\nname: 测试\ntitle_en: T\nroles: {指挥: {}}\n"
        "steps:\n  - {id: a, title: [x], owner: 指挥, due: 1h}\nexit: {rule: r, min_comments: 0}\n",
        encoding="utf-8",
    )
    output = validate(path).output
    assert "id: 格式不符" in output
    assert "title: 应为文本 / Input should be a valid string" in output
    assert "exit.min_comments: 数值太小，应不小于" in output


@pytest.mark.parametrize("directory", ["playbooks", "config/playbooks"])
def test_relative_directory_is_read_from_the_config_files_folder(tmp_path, monkeypatch, directory):
    config_dir = tmp_path / "x" / "config"
    write(config_dir / "playbooks", "broken.yaml", due=".inf")
    config = config_dir / "crisisbot.yaml"
    config.write_text(f"playbooks:\n  directory: {directory}\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    env = {"CRISISBOT_CONFIG": str(config)}
    validated = CliRunner().invoke(app, ["validate"], env=env)
    assert validated.exit_code == 2 and "broken.yaml" in validated.output, validated.output
    checked = CliRunner().invoke(main_app, ["config", "check"], env=env)
    assert checked.exit_code == 2 and "broken.yaml" in checked.output, checked.output


def test_a_missing_relative_directory_is_reported_not_replaced(tmp_path, monkeypatch):
    config = tmp_path / "crisisbot.yaml"
    config.write_text("playbooks:\n  directory: nowhere\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["validate"], env={"CRISISBOT_CONFIG": str(config)})
    assert result.exit_code == 2
    assert str(tmp_path / "nowhere") in result.output


def test_reminder_timings_beyond_a_year_are_config_problems(tmp_path):
    config = tmp_path / "crisisbot.yaml"
    config.write_text(
        "playbooks:\n  remind_every_minutes: 99999999999\n  snooze_minutes: 0\n"
        "  status_nag_minutes: {1: 99999999999}\n  reminder_interval_seconds: 99999999999\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main_app, ["config", "check"], env={"CRISISBOT_CONFIG": str(config)})
    assert result.exit_code == 2
    for key in ("remind_every_minutes", "snooze_minutes", "status_nag_minutes", "reminder_interval_seconds"):
        assert f"playbooks.{key}" in result.output, key
