"""The chat side of sentiment in a channel set to English: English alone there, Chinese channels as before.

Before, an English channel still read "模型的判断 / How the model reads it", "负面 neg · P(正面 pos)",
"理由 / reasons：… (负面词/negative word)", "风险词 / risk terms：投诉（投诉举报 complaint）" from
`/sentiment score`, the "纠正情感 / Fix sentiment" card with "当前 / now: 负面 neg（负面概率 …）" and buttons
"改为中性 neu", the Fix sentiment button itself named "Fix sentiment 纠正情感", and the labels of
`/sentiment fix` as codes alone ("relabelled neu → neg").

Real database, dispatcher, shipped model and console port, as tests/integration/test_english_channel_replies.py.
The quoted comment and the words the model took from it stay as written: they are taken out before the check.
"""

from __future__ import annotations

import re
import shutil

import pytest

from bot.config import parse_config
from bot.sentiment.actions import review_button
from bot.sentiment.risk import PACKAGE_DATA_DIR
from tests.integration.test_english_channel_replies import (  # noqa: F401 - app_config is a fixture
    CJK,
    EN,
    REVIEWER,
    ZH,
    _config,
    _one,
    app_config,
)

RISKY = "我要投诉，退款，律师函，曝光，封号"


def _own_words(text: str, *quoted: str) -> str:
    """`text` without the quoted comment and the words taken from it (those stay Chinese in any language)."""
    for part in sorted(quoted, key=len, reverse=True):
        text = text.replace(part, "")
    assert not CJK.search(text), text
    return text


def _ingest(bot, comment_id: str, text: str, account: str = "lanji_official", platform: str = "douyin") -> None:
    report = bot.services.ingest.ingest_records([{
        "platform": platform, "account_id": account, "content_id": "v1", "comment_id": comment_id,
        "text": text, "created_at": "2026-11-22T20:15:00+08:00",
    }], source="test")
    assert report.results[0].status == "accepted"


# ---- /sentiment score ------------------------------------------------------------------------------------------
def test_score_reads_english_alone_in_an_english_channel(bot, run_command):
    reply = _one(run_command(f"/sentiment score {RISKY}", channel=EN))
    quote, label, reasons, risks, wrong = reply.text.split("\n")
    assert (reply.title, reply.ephemeral, quote) == ("How the model reads it", True, f"> {RISKY}")
    assert re.fullmatch(r"negative \(neg\) · P\(pos\) 0\.\d{3} · P\(neg\) 0\.\d{3}", label), label
    assert reasons.startswith("Reasons: NEG (negative word); "), reasons
    # the shipped categories by their English names; "public exposure" and "account action" say more than the ids
    assert risks == ("Risk terms: 投诉 (complaint), 退款 (refund), 律师函 (legal), 曝光 (public exposure), "
                     "封号 (account action)")
    assert wrong == "Wrong? Once it is a stored comment, correct it with /sentiment fix COMMENT_ID LABEL."
    _own_words(reply.text, RISKY, "投诉", "退款", "律师函", "曝光", "封号")


@pytest.mark.parametrize(("typed", "gloss", "quoted"), [
    ("呵呵，服务真好", "(sarcastic praise: negative)", ("呵呵，服务真好", "好+呵呵", "呵呵")),
    ("不难看", "不难看 (negated complaint: not negative)", ("不难看", "¬难看")),
    ("😀", "EMO:laughing (emoticon class)", ()),  # the model's emoticon class 哈哈, not a word of the text
    ("http://x.y @张三 ??", "<@> (@mention)", ("@张三",)),
])
def test_score_reasons_keep_their_english_gloss_alone(bot, run_command, typed, gloss, quoted):
    reply = _one(run_command(f"/sentiment score {typed}", channel=EN))
    assert gloss in reply.text
    _own_words(reply.text, *quoted)


def test_score_in_a_chinese_channel_reads_as_before(bot, run_command):
    reply = _one(run_command(f"/sentiment score {RISKY}", channel=ZH))
    assert reply.title == "模型的判断 / How the model reads it"
    lines = reply.text.split("\n")
    assert lines[1].startswith("负面 neg · P(正面 pos) 0.") and " · P(负面 neg) 0." in lines[1]
    assert lines[2].startswith("理由 / reasons：NEG (负面词/negative word)；")
    assert lines[3:] == [
        "风险词 / risk terms：投诉（投诉举报 complaint）、退款（退款 refund）、律师函（法律 legal）、"
        "曝光（曝光/舆情 exposure）、封号（账号处置 account）",
        "判断不对？评论入库后可用 /sentiment fix 评论ID 标签 更正。",
        "Wrong? Once it is a stored comment, correct it with /sentiment fix COMMENT_ID LABEL.",
    ]


def test_score_names_a_category_as_the_lexicon_names_it_in_english(tmp_path, monkeypatch, db, settings, clock):
    """A team's own category (食安) gets its English name from the risk lexicon the scorer reads
    (`category_names_en`); a category the table leaves out keeps our default."""
    from bot.app import build_app

    (tmp_path / "sentiment").mkdir()
    (tmp_path / "sentiment" / "risk_terms.yaml").write_text(
        "变质: 食安\n投诉: complaint\n曝光: exposure\ncategory_names_en:\n  食安: food safety\n  complaint: complaint/report\n",
        encoding="utf-8")
    (tmp_path / "crisisbot.yaml").write_text("{}\n", encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(tmp_path / "crisisbot.yaml"))
    # a model path of its own, so this bot builds its own scorer (reading this lexicon), not a cached one
    model = tmp_path / "model.npz"
    shutil.copyfile(PACKAGE_DATA_DIR / "model.npz", model)
    config = parse_config(_config(sentiment={"model_path": str(model)}), source="tests")
    app = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        from bot.messages import Command

        def say(channel: str):
            [reply] = app.dispatcher.handle(Command("console", channel, "console:alice",
                                                    "/sentiment score 投诉，变质了，曝光", user_name="alice",
                                                    event_id=f"score-{channel}"))
            return reply.text.split("\n")
        english, chinese = say(EN), say(ZH)
    finally:
        app.stop()
    assert "Risk terms: 投诉 (complaint/report), 变质 (food safety), 曝光 (public exposure)" in english
    assert "风险词 / risk terms：投诉（投诉举报 complaint）、变质（食安 食安）、曝光（曝光/舆情 exposure）" in chinese


# ---- the Fix sentiment card ----------------------------------------------------------------------------------
def test_the_fix_sentiment_card_and_its_buttons_read_english_alone_in_an_english_channel(bot, press_button):
    _ingest(bot, "c1", "发货太慢了，差评")
    _ingest(bot, "c2", "")  # a sticker-only comment
    card = _one(press_button("sentiment.review", "douyin:c1,douyin:c2", channel=EN, user=REVIEWER))
    assert (card.title, card.ephemeral) == ("Fix sentiment", True)
    assert card.text == ("Pick the right label; each correction is kept as a training example "
                         "(`crisisbot sentiment train --include-corrections`).")
    first, second = card.sections
    assert re.fullmatch(r"> 发货太慢了，差评\nNow: negative \(neg\), P\(neg\) 0\.\d\d · `douyin:c1`", first.text)
    assert second.text.startswith("> (sticker only)\nNow: neutral (neu), P(pos) 0.") and "`douyin:c2`" in second.text
    assert [(b.label, b.value, b.style) for b in first.buttons] == [
        ("Mark neutral", "douyin:c1 neu", "default"), ("Mark positive", "douyin:c1 pos", "primary")]
    assert [b.label for b in second.buttons] == ["Mark negative", "Mark positive"]
    _own_words(card.text + "\n" + second.text)

    # pressing a label: the answer names the labels in words; the card then says a person labelled it
    done = _one(press_button("sentiment.fix", "douyin:c2 pos", channel=EN, user=REVIEWER))
    said, _, quoted = done.text.rpartition("\n> ")
    assert (done.title, quoted) == ("Sentiment corrected", "(sticker only)")
    assert said.startswith("douyin:c2 relabelled neutral (neu) → positive (pos) by rita; recorded"), said
    _own_words(done.text)
    again = _one(press_button("sentiment.review", "douyin:c2", channel=EN, user=REVIEWER))
    assert again.sections[0].text == "> (sticker only)\nNow: positive (pos), labelled by a person · `douyin:c2`"


def test_a_confirmation_names_the_label_in_words_in_an_english_channel(bot, run_command):
    _ingest(bot, "c3", "还行吧")
    run_command("/sentiment fix c3 neg", channel=EN, user=REVIEWER)
    done = _one(run_command("/sentiment fix c3 neg", channel=EN, user=REVIEWER))
    assert done.title == "Sentiment confirmed"
    assert done.text.startswith("douyin:c3 confirmed negative (neg) by rita; kept as a training example.\n")


def test_the_fix_sentiment_card_in_a_chinese_channel_reads_as_before(bot, press_button):
    _ingest(bot, "x1", "", account="xiaochu_kitchen", platform="bilibili")
    bilibili = "bilibili:x1"
    card = _one(press_button("sentiment.review", bilibili, channel=ZH, user=REVIEWER))
    assert card.title == "纠正情感 / Fix sentiment"
    assert card.text == ("选择正确的标签，更正会存为训练样本（`crisisbot sentiment train --include-corrections`）。\n"
                         "Pick the right label; each correction is kept as a training example.")
    assert card.sections[0].text == "> （仅表情 / sticker only）\n当前 / now: 中性 neu（正面概率 P(pos) 0.50） · `bilibili:x1`"
    assert [b.label for b in card.sections[0].buttons] == ["改为负面 neg", "改为正面 pos"]
    press_button("sentiment.fix", f"{bilibili} neg", channel=ZH, user=REVIEWER)
    again = _one(press_button("sentiment.review", bilibili, channel=ZH, user=REVIEWER))
    assert again.sections[0].text == ("> （仅表情 / sticker only）\n当前 / now: 负面 neg（人工标注 / labelled by a person）"
                                      " · `bilibili:x1`")


def test_the_fix_sentiment_button_is_named_in_english_alone_for_an_english_channel():
    assert review_button(["douyin:c1"], lang="en").label == "Fix sentiment"
    assert review_button(["douyin:c1"]).label == "纠正情感 Fix sentiment"
