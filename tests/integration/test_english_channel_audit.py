"""An outside-in audit of a channel set to English (`channels: [{id, language: en}]`): alerts, notices and
reports are English only there, and command answers, bilingual by design, carry an English line written in
English. What an audit found: English lines that repeated the Chinese line's bracket ("Watching “过敏”
(本频道的全部账号 / all of …)", "2 unanswered（仅逾期 / overdue only）"), a per-person stats line and a review's
duration and progress in Chinese only, Chinese bars "｜" in an English report's title, the report's count
run into its quote ("👍0“…”"), and the mute-ended reminder's button named unlike the alert's own.

Real database, dispatcher and console port; the English words are checked with a regex over the bot's own
text, the quoted names (accounts, client, terms, comments, playbook step titles) taken out first.
"""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.render import alert_message, unmuted_message
from bot.app import build_app
from bot.config import parse_config
from bot.messages import Command
from tests.conftest import TEST_CONFIG

#: Chinese characters and Chinese (full-width) punctuation: none belongs in the bot's own English words
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
ACCOUNT, CLIENT = "澜肌官方旗舰店", "澜肌护肤"
LANJI = {"platform": "douyin", "account_id": "lanji_official"}


def own_words(text: str, *quoted: str) -> str:
    """`text` without the names and quotes it carries (those stay Chinese in any language)."""
    for part in sorted((ACCOUNT, CLIENT, *quoted), key=len, reverse=True):
        text = text.replace(part, "")
    return text


def comment(at, n: int, text: str) -> dict:
    return {**LANJI, "content_id": "v1", "comment_id": f"c{n}", "text": text, "created_at": at.isoformat(),
            "content_title": "新品面霜", "content_url": "https://www.douyin.com/video/v1"}


@pytest.fixture
def english_bot(db, settings, clock):
    data = copy.deepcopy(TEST_CONFIG)
    data["channels"] = [{"id": "console:lanji", "client": "lanji", "language": "en"},
                        {"id": "console:xiaochu", "client": "xiaochu"}]
    app = build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False)
    yield app
    app.stop()


@pytest.fixture
def say(english_bot):
    events = iter(range(1, 10**6))

    def run(text: str, channel: str = "console:lanji"):
        replies = english_bot.dispatcher.handle(
            Command("console", channel, "console:alice", text, user_name="alice", event_id=f"en-{next(events)}"))
        english_bot.services.outbox.drain()
        return replies

    return run


def queued_comments(bot, clock) -> list[str]:
    texts = ["请问这个面霜孕妇能用吗？", "用了过敏了，怎么退款？", "发货太慢了，一周还没到"]
    now = clock.now()
    bot.services.ingest.ingest_records(
        [comment(now - timedelta(minutes=50 + i), i, t) for i, t in enumerate(texts)], source="test")
    bot.services.outbox.drain()
    return texts


def test_a_watch_is_confirmed_in_english_alone(say):
    [everywhere] = say("/watch add 过敏")
    assert everywhere.text == "Watching “过敏” (all of this channel's accounts), #1.", everywhere.text
    [one] = say("/watch add 退款 --account douyin:lanji_official")
    assert one.text == f"Watching “退款” ({ACCOUNT} (Douyin)), #2.", one.text


def test_the_queue_answer_and_its_card_name_their_filters_in_english_on_the_english_line(english_bot, clock, say):
    # (once Chinese first with an English line after it; English alone now, the filters named in English)
    quotes = queued_comments(english_bot, clock)
    [empty] = say("/reply-queue --mine")
    assert (empty.title, empty.text) == ("Reply queue", f"{ACCOUNT}: nothing waiting for a reply (mine) 🎉")
    [card] = say("/reply-queue --unclaimed")
    assert card.title == "Reply queue"
    assert card.text == f"{ACCOUNT}: 3 unanswered (unclaimed), **2 overdue**\nAll 3 below, by priority", card.text
    say("/reply-queue claim 1")  # the card is refreshed in place: its summary says the filters too
    refreshed = [m for m in english_bot.console.messages("lanji") if m.title == "Reply queue" and m.sections][-1]
    assert refreshed.text == f"{ACCOUNT}: 3 of 3 on this card unanswered (unclaimed), **2 overdue**, 1 claimed", refreshed.text
    assert not CJK.search(own_words(refreshed.text, *quotes)), refreshed.text


def test_queue_stats_per_person_are_in_english_alone(english_bot, clock, say):
    queued_comments(english_bot, clock)
    say("/reply-queue claim 1")
    say("/reply-queue skip 2 广告")
    [stats] = say("/reply-queue stats")
    [line] = [x for x in stats.text.splitlines() if x.startswith("• alice")]
    assert line == "• alice: replied 0, skipped 1, claimed 1", line


def test_an_english_report_uses_english_punctuation_in_its_title_and_spaces_its_quote(english_bot, clock, say):
    quotes = queued_comments(english_bot, clock)
    [report] = say("/report")
    assert report.title.startswith(f"Report for the last 24 hours | {CLIENT} | "), report.title
    assert not CJK.search(own_words(report.title)), report.title
    keywords = [k.strip().split(" ×")[0] for line in report.text.splitlines() if line.startswith("- Keywords: ")
                for k in line.removeprefix("- Keywords: ").split(",")]
    assert not CJK.search(own_words(report.text, *quotes, *keywords)), report.text
    [liked] = [x for x in report.text.splitlines() if x.startswith("- Most-liked negative: ")]
    assert re.match(r"- Most-liked negative: 👍\d+ “", liked), liked
    page = report.files[0].content.decode("utf-8")
    [heading] = re.findall(r"<h1>(.*)</h1>", page)
    assert not CJK.search(own_words(heading)), heading


def test_the_mute_ended_reminder_names_its_button_as_the_alert_does():
    ep = {"episode_key": "douyin:lanji_official|*@20261122T1200", "platform": "douyin",
          "account_id": "lanji_official", "severity": "sev1", "status": "open",
          "stats": {"account_name": ACCOUNT, "metric": "negative"}, "started_at": "2026-11-22T12:00:00+00:00",
          "history": []}
    for lang in ("en", "zh"):
        alert = alert_message(ep, lang=lang, zone=ZoneInfo("Asia/Shanghai"))
        reminder = unmuted_message(ep, lang=lang)
        [on_alert] = [b.label for b in alert.buttons if b.action_id == "alert.mute"]
        [on_reminder] = [b.label for b in reminder.buttons if b.action_id == "alert.mute"]
        assert on_reminder == on_alert, (lang, on_reminder, on_alert)
    assert not CJK.search(own_words(unmuted_message(ep, lang="en").text))


def test_a_review_gives_its_duration_progress_starter_and_severity_in_english_too(english_bot, clock, say):
    say("/crisis start product-complaint --account douyin:lanji_official")
    clock.advance(timedelta(minutes=45))
    say("/crisis resolve handled")
    # an English channel's review is in English alone (its title, summary and file)
    [review] = [m for m in english_bot.console.messages("lanji") if (m.title or "").startswith("Post-incident review")]
    lines = {line.split(": ", 1)[0]: line for line in review.text.splitlines() if ": " in line}
    assert lines["• Duration"] == "• Duration: 45 min", lines
    assert re.fullmatch(r"• Progress: \d+/\d+ steps", lines["• Progress"]), lines
    assert lines["• Started"].endswith(" by alice"), lines
    assert lines["• Severity"] == "• Severity: SEV2", lines
    own = "\n".join(line for line in review.text.splitlines() if not line.startswith("• Exit rule: "))  # the playbook's
    assert not CJK.search(own), review.text


def test_a_reminder_for_an_unassigned_role_names_it_in_english_on_the_english_half(english_bot, clock, say):
    say("/crisis start product-complaint --account douyin:lanji_official")
    before = len(english_bot.console.messages("lanji"))
    clock.advance(timedelta(minutes=40))  # intake (客服, 30 min) is late and nobody holds the role
    english_bot.services.playbooks.tick()
    english_bot.services.outbox.drain()
    # an English channel's reminder is in English alone
    [reminder] = [m for m in english_bot.console.messages("lanji")[before:] if "reminder" in (m.title or "")]
    head = reminder.text.splitlines()[0]
    assert head == "Overdue, role Support unassigned: /crisis assign Support @user", head
    say("/crisis assign Support me")  # what it says to type works
    [run] = english_bot.services.playbooks.active_runs("console:lanji")
    assert run.state.role_assignees.get("客服") == "console:alice"
