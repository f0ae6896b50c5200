"""Fixtures for the reply-queue integration tests: a wired bot with a keyword scorer and replies config."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.config import parse_config
from bot.messages import Action, Command
from bot.sentiment.base import RiskFlag, SentimentResult
from tests.conftest import TEST_CONFIG

NEGATIVE = ("过敏", "烂脸", "退款", "投诉", "垃圾", "失望", "坏了")
RISK = ("12315", "维权", "投诉", "曝光")


class KeywordScorer:
    """Stands in for the sentiment engine (another feature): negative words -> neg, risk terms flagged."""

    name = "test-keywords"

    def score(self, text: str) -> SentimentResult:
        flags = tuple(RiskFlag(term, "complaint") for term in RISK if term in text)
        if any(word in text for word in NEGATIVE):
            return SentimentResult("neg", 0.1, risk_flags=flags)
        if any(word in text for word in ("好用", "喜欢", "支持")):
            return SentimentResult("pos", 0.9, risk_flags=flags)
        return SentimentResult("neu", 0.5, risk_flags=flags)

    def score_batch(self, texts: Sequence[str]) -> list[SentimentResult]:
        return [self.score(t) for t in texts]


@pytest.fixture
def make_bot(db, settings, clock) -> Callable[..., Any]:
    """Build the whole bot on the test database with a `replies:` section and roles of the test's choosing."""
    from bot.app import build_app

    built = []

    def build(replies: dict | None = None, roles: dict | None = None, playbooks: dict | None = None):
        data = dict(TEST_CONFIG)
        if replies:
            data["replies"] = replies
        if roles:
            data["roles"] = roles
        if playbooks:
            data["playbooks"] = playbooks
        app = build_app(settings, parse_config(data, source="tests"), clock=clock, db=db, upgrade=False)
        app.services.ingest._scorer = lambda: KeywordScorer()
        built.append(app)
        return app

    yield build
    for app in built:
        app.stop()


@pytest.fixture
def rq_bot(make_bot):
    return make_bot()


def rec(comment_id: str, created_at: datetime, text: str = "请问敏感肌能用吗", **over) -> dict:
    """A comment record for lanji's Douyin account (override platform/account_id for others)."""
    base = {
        "platform": "douyin", "account_id": "lanji_official", "content_id": "v1", "comment_id": comment_id,
        "text": text, "created_at": created_at.isoformat(), "like_count": 0, "author_id": f"u-{comment_id}",
        "author_name": f"用户{comment_id}", "author_followers": 10, "content_title": "新品面霜",
        "content_url": "https://www.douyin.com/video/v1",
    }
    base.update(over)
    return base


def own(comment_id: str, created_at: datetime, parent_id: str | None, text: str = "谢谢支持～", **over) -> dict:
    return rec(comment_id, created_at, text, parent_id=parent_id, author_id="lanji_official",
               author_name="澜肌官方旗舰店", is_from_account=True, **over)


def cmd(text: str, *, channel: str = "console:lanji", user: str = "console:alice", name: str = "alice") -> Command:
    return Command("console", channel, user, text, user_name=name)


def press(action_id: str, value: str = "", *, channel: str = "console:lanji", user: str = "console:alice",
          name: str = "alice", form: dict | None = None) -> Action:
    return Action("console", channel, user, action_id, value, user_name=name, form=form or {})


def ago(clock, minutes: float) -> datetime:
    return clock.now() - timedelta(minutes=minutes)
