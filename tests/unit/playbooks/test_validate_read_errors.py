"""`crisisbot playbooks validate` on a file it cannot read says why in user terms, Chinese first, in the
same `FILE: (file): message` form as the other whole-file problems (not the raw OS text)."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from bot.playbooks.cli import app
from bot.playbooks.validate import load_playbook_file


def test_a_missing_file_says_it_does_not_exist(tmp_path):
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2, result.output
    assert "missing.yaml: (file): 文件不存在 / no such file" in result.output
    assert "No such file or directory" not in result.output
    assert "无法读取" not in result.output


def test_a_folder_given_as_a_file_says_it_is_a_folder(tmp_path):
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    playbook, problems = load_playbook_file(folder)
    assert playbook is None
    assert [p.message for p in problems] == ["这是文件夹，不是文件 / this is a folder, not a file"]
    assert "Is a directory" not in str(problems[0])


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_says_permission_denied(tmp_path):
    path = tmp_path / "locked.yaml"
    path.write_text("id: x\n", encoding="utf-8")
    path.chmod(0)
    try:
        _playbook, problems = load_playbook_file(path)
    finally:
        path.chmod(0o600)
    assert [p.message for p in problems] == ["没有读取权限 / permission denied: cannot read it"]


def test_a_folder_without_playbooks_is_named_as_the_user_gave_it(tmp_path):
    from bot.playbooks.validate import load_playbooks

    result = load_playbooks([tmp_path])
    assert [str(p) for p in result.problems] == [f"{tmp_path}: (files): 没有找到预案文件（*.yaml、*.yml）/ no playbook files (*.yaml, *.yml)"]
