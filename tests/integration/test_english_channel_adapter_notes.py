"""The notes the adapters add to a message of their own accord speak the channel's language: in a channel set to
English they are English alone (they were Chinese first with English, under an English message); a Chinese
channel reads them exactly as before.

- console: "[图片 / image: …]", "[文件 / file: …]", "（已更新 / updated）" and a reason button's "原因…";
- Feishu: the chart/file "not attached" note of a card sent without im:resource, and the line that ends a text
  cut to fit the card ("…（还有 N 行未显示 / …）");
- Slack: the note of a message cut to Block Kit's 50 blocks ("…另有 N 块内容未显示 / …").

The real ports (the console port, the Feishu port through lark-oapi against the local fake Open API, the whole
bot served with Slack on against the fake Web API, which wires the Slack port with the configured languages).
"""

from __future__ import annotations

import io
import json
import re
import uuid

from bot.adapters.console.port import ConsolePort
from bot.adapters.console.render import render_text
from bot.adapters.feishu.cards import render_card
from bot.adapters.feishu.port import FeishuChatPort
from bot.adapters.feishu.settings import FeishuSettings
from bot.config import parse_config
from bot.messages import Button, File, Image, Message, Section
from bot.outbox import Outbox
from tests.conftest import TEST_CONFIG
from tests.fakes.feishu_api import FakeFeishuApi
from tests.fakes.slack_api import FakeSlack
from tests.integration.slack.conftest import running_bot, slack_settings

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LANGUAGES = {"console:en": "en", "slack:CEN": "en", "feishu:oc_en": "en"}


def language(channel: str) -> str:
    return LANGUAGES.get(channel, "zh")


def with_chart_and_file(title: str) -> Message:
    return Message(title=title, text="Negative share 12%",
                   images=(Image("Negative share", png=PNG, filename="chart.png"),),
                   files=(File("report.html", b"<html>report</html>", "text/html"),))


def test_the_consoles_notes_follow_the_channels_language(tmp_path):
    echo = io.StringIO()
    port = ConsolePort(echo=echo, files_dir=tmp_path, language=language)
    skip = Button("Skip", "crisis.skip", "1:spread")
    for channel in ("en", "zh"):
        port.post(channel, with_chart_and_file("Report"), idempotency_key=f"r-{channel}")
        port.update(channel, "console-1", Message(text="Step done", buttons=(skip,)))
    english, chinese = echo.getvalue().split("\n#zh\n", 1)

    assert not CJK.search(english), english
    assert "  [image: Negative share (72 bytes)]" in english
    assert f"  [file: report.html (19 bytes) → {tmp_path / 'report.html'}]" in english
    assert "(updated)" in english and "[Skip: /press crisis.skip 1:spread reason…]" in english
    assert "  [图片 / image: Negative share (72 bytes)]" in chinese
    assert f"  [文件 / file: report.html (19 bytes) → {tmp_path / 'report.html'}]" in chinese
    assert "（已更新 / updated）" in chinese and "[Skip: /press crisis.skip 1:spread 原因…]" in chinese
    # without a language (a console showing what is queued, a test's port): as before
    assert render_text(with_chart_and_file("Report")) == render_text(with_chart_and_file("Report"), lang="zh")


def test_feishus_notes_follow_the_chats_language(db, clock):
    with FakeFeishuApi() as fake:
        fake.missing_scopes["image.create"] = "im:resource"
        fake.missing_scopes["file.create"] = "im:resource"
        outbox = Outbox(db, clock)
        # a fresh app id per port: the SDK caches tenant tokens process-wide, keyed by app id
        outbox.register_port(FeishuChatPort(FeishuSettings(f"cli_{uuid.uuid4().hex[:12]}", "secret",
                                                           domain=fake.url), language=language))
        for chat in ("oc_en", "oc_zh"):
            outbox.send(channel=f"feishu:{chat}", message=with_chart_and_file("Report"), key=f"report:{chat}")
        outbox.drain()
        (english,) = [json.dumps(m.card, ensure_ascii=False) for m in fake.sent("oc_en")]
        (chinese,) = [json.dumps(m.card, ensure_ascii=False) for m in fake.sent("oc_zh")]
    assert not CJK.search(english), english
    assert ("(Chart and file not attached: the Feishu app lacks the im:resource scope; grant it on the "
            "Feishu Open Platform, then retry)") in english
    assert ("（图表和文件未附上：飞书应用缺少 im:resource 权限，请在开放平台开通后重试 / chart and file not attached: "
            "the app lacks the im:resource scope）") in chinese

    long = Message(title="Long", text="\n".join(f"{n:04d} " + "comment text " * 10 for n in range(3000)))
    last = [json.dumps(render_card(long, lang=lang), ensure_ascii=False) for lang in ("en", "zh")]
    cut = re.search(r"…\((\d+) more lines not shown\)", last[0])
    assert cut and not CJK.search(last[0])
    lines = re.search(r"…（还有 (\d+) 行未显示 / (\d+) more lines not shown）", last[1])
    assert lines and lines.group(1) == lines.group(2)


def test_slacks_cut_note_follows_the_channels_language(db, clock):
    config = json.loads(json.dumps(TEST_CONFIG))
    config["channels"] += [{"id": "slack:CEN", "client": "lanji", "language": "en"},
                           {"id": "slack:CZH", "client": "lanji"}]
    app_config = parse_config(config, source="tests")
    big = Message(title="Queue", sections=tuple(Section(f"item {n}") for n in range(40)))  # 80 blocks
    with FakeSlack() as fake, running_bot(slack_settings(fake), app_config, db, clock) as (bot, _url):
        for channel in ("CEN", "CZH"):
            bot.services.outbox.send(channel=f"slack:{channel}", message=big, key=f"big:{channel}")
        fake.wait_for("chat.postMessage", 2)
        notes = {call.args["channel"]: call.args["blocks"][-1] for call in fake.successful("chat.postMessage")}
    omitted = 80 - 49
    assert notes["CEN"] == {"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"…{omitted} more blocks not shown"}]}
    assert notes["CZH"] == {"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"…另有 {omitted} 块内容未显示 / {omitted} more blocks not shown"}]}


def test_the_bots_console_knows_each_channels_language(db, settings, clock, tmp_path):
    """build_app gives the console port the configured languages (it printed Chinese-first notes in every
    channel while the Slack and Feishu ports already knew them)."""
    from bot.app import build_app

    data = {**TEST_CONFIG, "channels": [{"id": "console:lanji", "client": "lanji", "language": "en"},
                                        {"id": "console:xiaochu", "client": "xiaochu"}]}
    echo = io.StringIO()
    app = build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False, console_echo=echo)
    app.console.files_dir = tmp_path
    try:
        for channel in ("lanji", "xiaochu"):
            app.services.outbox.send(channel=f"console:{channel}", message=with_chart_and_file("Report"),
                                     key=f"report:{channel}")
        app.services.outbox.drain()
    finally:
        app.stop()
    english, chinese = echo.getvalue().split("\n#xiaochu\n", 1)
    assert "  [image: Negative share (72 bytes)]" in english and "图片" not in english, english
    assert "  [图片 / image: Negative share (72 bytes)]" in chinese, chinese


def test_the_console_commands_feed_speaks_its_channels_language(db):
    """`crisisbot console` shows the channel's messages from the outbox table (ChannelFeed), in its own form."""
    from bot.console_repl import ChannelFeed

    english = ChannelFeed(db, "console:en", language=language)._render(with_chart_and_file("Report"), updated=True)
    chinese = ChannelFeed(db, "console:zh", language=language)._render(with_chart_and_file("Report"), updated=True)
    assert "[image: Negative share (72 bytes)]" in english and "(updated)" in english and not CJK.search(english)
    assert "[图片 / image: Negative share (72 bytes)]" in chinese and "（已更新 / updated）" in chinese
