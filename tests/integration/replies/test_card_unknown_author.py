"""A comment whose author the feed did not give (or the retention window removed) read "—— ?" and
"粉丝 ?" on its queue card; it now says so in words and leaves the unknown follower count out."""

from __future__ import annotations

from bot.messages import Command

from .conftest import ago, rec


def _card_text(bot) -> str:
    bot.dispatcher.handle(Command("console", "console:lanji", "console:alice", "/reply-queue", user_name="alice",
                                  event_id="unknown-author-1"))
    bot.services.outbox.drain()
    entries = [bot.console.entries[i] for i in bot.console.order]
    message = entries[-1].message
    return "\n".join([message.text or "", *(s.text for s in message.sections)])


def test_a_comment_without_author_or_followers_says_so_in_words(bot, clock):
    bot.services.ingest.ingest_records([
        rec("c1", ago(clock, 30), author_name=None, author_followers=None, author_id=None),
        rec("c2", ago(clock, 20)),
    ], source="test")
    text = _card_text(bot)
    assert "—— 作者未知 / unknown author" in text and "—— ?" not in text
    assert "粉丝 ?" not in text
    assert "—— 用户c2" in text and "粉丝 10" in text  # a known author and count as before
