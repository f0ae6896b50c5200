"""The headline's baseline says when it is the detector's floor, not what the stream usually sees."""

from __future__ import annotations

from tests.integration.alerts.test_alert_service import alert_posts, live, load_history


def test_a_pile_on_where_there_were_no_negative_comments_says_normally_almost_none(bot, clock, db):
    load_history(bot, clock, days=2)  # calm comments only: no negative one in two days
    live(bot, clock, 20)
    live(bot, clock, 15, per_minute=12)
    [post] = alert_posts(db)
    assert "平时几乎没有（基线按下限" in post.payload["text"]
    assert "，基线 " not in post.payload["text"]
