"""Queue items in an English channel name their facts in English: a card there said "抖音 … · 情绪 负面 ·
优先级 87 · 粉丝 10 · ⚠️ 风险 …", Chinese-only labels in a channel set to `language: en`. A Chinese channel's
card is unchanged. A refreshed card keeps the language it was posted in.

Real database, service and console port; the rendering is the project's own (no fakes but the scorer)."""

from __future__ import annotations

import copy
import itertools
from datetime import timedelta

import pytest

from bot.app import build_app
from bot.config import parse_config
from bot.i18n import platform_label
from bot.messages import Command, Message
from bot.replies import render
from tests.conftest import TEST_CONFIG

from .conftest import KeywordScorer, ago, rec

#: the Chinese-only labels an English card must not carry (names, quotes and bilingual parts may stay)
CHINESE_LABELS = ("抖音", "情绪", "优先级", "粉丝", "风险", "负面", "万")
_events = itertools.count(1)


@pytest.fixture
def english_bot(db, settings, clock):
    data = copy.deepcopy(TEST_CONFIG)
    data["channels"] = [{"id": "console:lanji", "client": "lanji", "language": "en"},
                        {"id": "console:xiaochu", "client": "xiaochu"}]
    app = build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False)
    app.services.ingest._scorer = lambda: KeywordScorer()
    yield app
    app.stop()


def _ingest(bot, clock, minutes: float = 5) -> None:
    bot.services.ingest.ingest_records([rec("hot", ago(clock, minutes), "用了过敏，要去12315投诉", like_count=12_000,
                                            author_followers=10)], source="test")


def _facts(section_text: str) -> tuple[str, str]:
    head, _quote, facts = section_text.splitlines()[:3]
    return head, facts


def _entry(bot):
    (entry,) = bot.services.replies.list_queue(channel="console:lanji", user="console:alice")
    return entry


def _section(bot, clock, entry, lang: str) -> str:
    return render.item_section(entry.item, entry.comment, now=clock.now(), score=entry.score, overdue=False,
                               account_name="澜肌官方旗舰店", reasons=entry.reasons, lang=lang).text


def test_an_english_item_names_its_platform_and_facts_in_english(english_bot, clock):
    _ingest(english_bot, clock)
    entry = _entry(english_bot)
    head, facts = _facts(_section(english_bot, clock, entry, "en"))
    assert " · Douyin 澜肌官方旗舰店 · " in head, head
    assert facts.startswith("👍 12,000 · followers 10 · "), facts
    assert " · Sentiment negative" in facts and " · ⚠️ Risk 12315, 投诉 · " in facts, facts
    assert f" · Priority {entry.score:.0f} (" in facts, facts
    for label in CHINESE_LABELS:
        assert label not in head and label not in facts.split(" · Priority")[0], (label, facts)


def test_a_chinese_item_is_unchanged(english_bot, clock):
    _ingest(english_bot, clock)
    entry = _entry(english_bot)
    text = _section(english_bot, clock, entry, "zh")
    assert text == render.item_section(entry.item, entry.comment, now=clock.now(), score=entry.score, overdue=False,
                                       account_name="澜肌官方旗舰店", reasons=entry.reasons).text  # the default
    head, facts = _facts(text)
    assert " · 抖音 澜肌官方旗舰店 · " in head
    assert facts.startswith("👍 1.2万 · 粉丝 10 · ") and " · 情绪 负面" in facts, facts
    assert " · ⚠️ 风险 12315、投诉 · " in facts and f" · 优先级 {entry.score:.0f}（" in facts, facts


def test_the_sentiment_fact_in_english_for_each_kind_of_label():
    from types import SimpleNamespace as Signals

    assert render._sentiment_en(Signals(label="neg", scored=True, neg_score=0.93, score=0.07),
                                corrected=False) == "Sentiment negative (P(neg) 0.93)"
    assert render._sentiment_en(Signals(label="pos", scored=True, neg_score=None, score=0.88),
                                corrected=False) == "Sentiment positive (P(pos) 0.88)"
    assert render._sentiment_en(Signals(label="neg", scored=True, neg_score=1.0, score=0.0),
                                corrected=True) == "Sentiment negative (labelled by a person)"
    assert render._sentiment_en(Signals(label="neu", scored=False, neg_score=None, score=None),
                                corrected=False) == "Sentiment neutral (by keywords)"
    assert render._sentiment_en(Signals(label=None, scored=False, neg_score=None, score=None),
                                corrected=False) == "Sentiment unscored"


def test_an_account_without_a_name_is_named_by_its_platform_in_the_channels_language():
    assert render.account_label("douyin:acc", None) == "抖音 acc"
    assert render.account_label("douyin:acc", None, "en") == "Douyin acc"
    assert render.account_label("xiaohongshu:acc", "小红书店", "en") == "小红书店"  # a configured name as written
    assert platform_label("tiktok", "en") == "tiktok"


def test_queue_and_approval_cards_keep_their_language_for_a_refresh(english_bot, clock):
    _ingest(english_bot, clock)
    entry = _entry(english_bot)
    [en_card] = render.queue_messages([entry], now=clock.now(), names={}, user="console:alice", scope_text="x",
                                      filters="", lang="en")
    [zh_card] = render.queue_messages([entry], now=clock.now(), names={}, user="console:alice", scope_text="x",
                                      filters="")
    assert "Sentiment negative" in en_card.sections[0].text and "情绪 负面" in zh_card.sections[0].text
    assert (render.card_lang(en_card), render.card_lang(zh_card)) == ("en", "zh")
    assert "lang" not in render.card_info(zh_card)  # a Chinese card's meta as before
    assert render.card_lang(Message.from_dict(en_card.to_dict())) == "en"  # kept through the outbox's payload
    assert render.card_lang(Message(text="no card")) == "zh"


def _reminders(bot, channel: str = "lanji"):
    return [e.message for e in (bot.console.entries[i] for i in bot.console.order)
            if e.channel_id == channel and (e.message.title or "").startswith("⏰")]


def test_an_english_channels_reminder_card_is_english_and_stays_so_when_refreshed(english_bot, clock):
    _ingest(english_bot, clock)
    clock.advance(timedelta(hours=1))
    assert english_bot.services.replies.overdue_reminders() == 1
    english_bot.services.outbox.drain()
    (card,) = _reminders(english_bot)
    assert render.card_lang(card) == "en"
    assert "Sentiment negative" in card.sections[0].text and "情绪" not in card.sections[0].text
    item_id = card.meta[render.CARD_META]["items"][0]
    english_bot.dispatcher.handle(Command("console", "console:lanji", "console:alice", f"/reply-queue claim {item_id}",
                                          user_name="alice", event_id=f"en-{next(_events)}"))
    english_bot.services.outbox.drain()
    (refreshed,) = _reminders(english_bot)
    section = refreshed.sections[0].text
    assert "alice" in section, section  # refreshed: the claim shows
    assert "Sentiment negative" in section and "Douyin" in section and "情绪" not in section, section


def test_a_chinese_channels_reminder_card_is_unchanged(rq_bot, clock):
    _ingest(rq_bot, clock)
    clock.advance(timedelta(hours=1))
    assert rq_bot.services.replies.overdue_reminders() == 1
    rq_bot.services.outbox.drain()
    (card,) = _reminders(rq_bot)
    assert render.card_lang(card) == "zh" and "lang" not in card.meta[render.CARD_META]
    assert "情绪 负面" in card.sections[0].text and "抖音" in card.sections[0].text


def test_reply_queue_typed_in_an_english_channel_lists_english_cards(english_bot, clock):
    _ingest(english_bot, clock)
    reply = english_bot.dispatcher.handle(Command("console", "console:lanji", "console:alice", "/reply-queue",
                                                  user_name="alice", event_id=f"en-{next(_events)}"))
    cards = reply if isinstance(reply, list) else [reply]
    text = "\n".join(section.text for card in cards for section in card.sections)
    assert "Sentiment negative" in text and "情绪" not in text, text
    assert all(render.card_lang(card) == "en" for card in cards if render.card_info(card))
