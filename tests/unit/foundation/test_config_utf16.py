"""A config file (CRISISBOT_CONFIG) saved as UTF-16 (Notepad's "Unicode", PowerShell's `>`) was refused as
"line 1: not UTF-8 or GB18030 text", while `crisisbot ingest` names UTF-16 for the same bytes: the config's
message now names it too, by the importer's own check (bot/feeds/files.py `wide_unicode`)."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config

TEXT = "timezone: Asia/Shanghai\nclients:\n  - id: lanjing\n    name: 蓝鲸\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_config_is_named_utf16(tmp_path, encoding):
    path = tmp_path / "crisisbot.yaml"
    data = TEXT.encode(encoding)
    path.write_bytes(data if encoding != "utf-16-be" else b"\xfe\xff" + data)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert problem == (f"{path}: 这是 UTF-16 或 UTF-32 文本（如记事本另存为的“Unicode”），请另存为 UTF-8 / this is "
                       "UTF-16 or UTF-32 text (such as Notepad's \"Unicode\"): save it as UTF-8")


def test_other_text_that_is_not_utf8_keeps_its_line(tmp_path):
    path = tmp_path / "crisisbot.yaml"
    path.write_bytes(b"timezone: Asia/Shanghai\nclients: \x81\x30\xff\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "第 2 行 / line 2: 不是 UTF-8 或 GB18030 文本" in str(caught.value)
