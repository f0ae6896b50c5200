"""The unhealthy notice of a failing source says what is late: for an announcements source (a platform's
rules page) the rule and announcement updates, not "评论可能延迟 / comments may be late"."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.pollers.helpers import outbox


def _fail_until_unhealthy(app, clock, source_id: str) -> None:
    for _ in range(2):
        outcome = app.services.sources.poll(source_id)
        assert outcome.status == "failed", outcome.reason
        clock.set(outcome.next_attempt_at + timedelta(seconds=1))


def _unhealthy_texts(db, source_id: str) -> list[str]:
    return [m.payload["text"] for m in outbox(db) if m.key.startswith(f"feeds:unhealthy:{source_id}:")]


def test_a_failing_announcements_source_says_rule_updates_may_be_late(make_bot, fakes, clock, db):
    def tweak(sources: list[dict]) -> None:
        sources[4]["backoff"] = {"base": 60, "max": 600, "unhealthy_after": 2}

    fakes["announcements"].script("/feed", status=500, raw=b"down", times=5)
    app = make_bot(tweak)
    _fail_until_unhealthy(app, clock, "rules")
    [text] = _unhealthy_texts(db, "rules")
    assert "平台规则/公告更新可能延迟" in text and "rule and announcement updates may be late" in text, text
    assert "评论" not in text and "comments" not in text, text
    assert text.index("可能延迟") < text.index("may be late")


def test_a_failing_comment_source_still_says_comments_may_be_late(make_bot, fakes, clock, db):
    def tweak(sources: list[dict]) -> None:
        sources[0]["backoff"] = {"base": 60, "max": 600, "unhealthy_after": 2}

    fakes["bilibili"].script("/x/v2/reply/wbi/main", status=500, body={"code": -500}, times=5)
    app = make_bot(tweak)
    source_id = app.services.config.feeds.sources[0].id
    _fail_until_unhealthy(app, clock, source_id)
    [text] = _unhealthy_texts(db, source_id)
    assert "评论可能延迟" in text and "comments may be late" in text, text
