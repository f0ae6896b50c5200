"""The shipped playbooks' texts (public statements above all) have no stray spaces in Chinese.

YAML's `>-` folding turns each line break into a space, so a statement wrapped in the file read
"正在全面核实情况， 将于24 小时内公布进展" in `/crisis next`. The house style, which the reply templates
follow too, is no space between Chinese and digits or Latin words ("24小时", "大V转发"); only slash
commands keep their spaces, since they are typed as written ("用 /crisis report 生成复盘文档").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.playbooks.validate import default_playbook_dir, load_playbooks
from bot.replies.templates import TemplateLibrary, fill

ROOT = Path(__file__).resolve().parents[3]
# CJK ideographs and punctuation, full-width forms and the curly quotes Chinese text uses.
WIDE = r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef“”‘’…—]"
# A slash command with its arguments, up to the punctuation that ends it ("/crisis assign 角色 @人）").
COMMAND = re.compile(r"/crisis(?: [^\s，。；、（）“”]+)*")
STRAY = re.compile(rf"(?<={WIDE})[ \t\u3000]+(?=[\w{{}}“”])|(?<=[\w{{}}“”])[ \t\u3000]+(?={WIDE})")


def strays(text: str) -> list[str]:
    """Each space next to Chinese text (other than around a slash command), with a little context."""
    masked = COMMAND.sub("\0", text)
    return [repr(masked[max(0, m.start() - 6): m.end() + 6]) for m in STRAY.finditer(masked)]


def texts(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from texts(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from texts(item, f"{path}/{index}")
    elif isinstance(value, str):
        yield path, value


def test_the_checker_catches_folding_spaces_and_allows_commands():
    assert len(strays("我们正在全面核实情况， 将于24 小时内公布进展")) == 2
    assert strays("关注 7 天") and strays("大V 转发") and strays("将于 {next_update}")
    assert strays("指定负责人（/crisis assign 角色 @人）。用 /crisis report 生成复盘文档") == []
    assert strays("Set up monitoring and data updates") == []


def test_every_shipped_playbook_text_has_no_stray_space():
    loaded = load_playbooks([default_playbook_dir()])
    assert not loaded.problems, loaded.problems
    assert len(loaded.playbooks) == 5
    found = [
        f"{playbook.id}{path}: {hit}"
        for playbook in loaded.playbooks
        for path, text in texts(playbook.snapshot())
        for hit in strays(text)
    ]
    assert found == []


@pytest.mark.parametrize("playbook_id", ["negative-outbreak", "product-complaint", "rumor"])
def test_public_statements_are_one_paragraph(playbook_id):
    """A statement is posted as written: a line break in it would be a break in the published text."""
    playbook = load_playbooks([default_playbook_dir()]).find(playbook_id)
    assert playbook is not None
    for step in playbook.steps:
        for template in step.templates:
            assert "\n" not in template.text, (step.id, template.name)


def test_holding_statement_with_default_variables_reads_as_one_sentence():
    playbook = load_playbooks([default_playbook_dir()]).find("negative-outbreak")
    assert playbook is not None
    values = {name: v.default for name, v in playbook.variables.items() if v.default is not None}
    values.update(title="面霜过敏", brand="澜肌")
    (template,) = playbook.step("holding_statement").templates
    text = template.text.format_map(values)
    assert "正在全面核实情况，将于24小时内公布进展。" in text
    assert strays(text) == []


def test_reply_templates_filled_have_no_stray_space():
    """config/reply_templates.yaml also wraps its texts with `>-` and is read by the same YAML loader;
    `fill` joins the folded lines, so the suggestions come out clean."""
    library = TemplateLibrary.from_file(ROOT / "config" / "reply_templates.yaml")
    variables = {name: "X" for name in library.known_variables()}
    assert library.templates
    found = [f"{t.id}: {hit}" for t in library.templates for hit in strays(fill(t.text, variables))]
    assert found == []
