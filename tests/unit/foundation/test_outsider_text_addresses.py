"""A chat address typed by a commenter is text, not a person (and bidi controls reorder nothing).

Handlers name people by address ('slack:U0123ABCD', 'feishu:ou_x'); the Slack port shows such an address as
a mention (which notifies the person) and the Feishu port as the person's name. A comment, an author name or
a video title that types one went through `inert` unchanged, so a commenter could ping a team member from
the alert, the reply-queue card or the escalation timeline. `outsider_text` makes it plain text; `inert`,
which also carries the team's own texts (timelines naming people by address), keeps addresses.
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from bot.adapters.feishu.cards import card_content
from bot.adapters.slack.render import render_message
from bot.alerts.render import alert_message
from bot.messages import inert, outsider_text

ZONE = ZoneInfo("Asia/Shanghai")
TYPED = "快来 slack:U0123ABCD 和 feishu:ou_abc123 看看\u202e反转"


def test_outsider_text_makes_typed_addresses_plain_and_drops_bidi_controls():
    assert outsider_text(TYPED) == "快来 slack：U0123ABCD 和 feishu：ou_abc123 看看反转"
    assert outsider_text("") == "" and outsider_text("Slack:W1ABC") == "Slack：W1ABC"
    assert outsider_text("slack:channel 不是地址") == "slack:channel 不是地址"


def test_inert_keeps_the_teams_addresses_but_drops_bidi_controls():
    assert inert("console:alice → slack:U0123ABCD\u202e") == "console:alice → slack:U0123ABCD"


def _episode(comment: str) -> dict:
    return {
        "episode_key": "douyin:a|v1@20261122T1230", "platform": "douyin", "account_id": "a", "severity": "sev2",
        "status": "open", "started_at": "2026-11-22T12:30:00+00:00", "recovered_at": None, "muted_until": None,
        "history": [{"action": "opened", "user": "bot", "at": "2026-11-22T12:35:20+00:00"}],
        "stats": {"account_name": "澜肌官方旗舰店", "content_id": "v1", "content_title": "新品 slack:U0999ZZZZ",
                  "window_negative": 40, "window_total": 60, "window_share": 0.67, "expected": 3.0, "ratio": 13.3,
                  "window_minutes": 15, "top_comments": [{"text": comment, "likes": 9, "url": None}]},
    }


def test_an_alert_quoting_a_comment_that_types_an_address_pings_nobody():
    message = alert_message(_episode(TYPED), zone=ZONE)
    slack = json.dumps(render_message(message), ensure_ascii=False)
    assert "<@U0123ABCD>" not in slack and "<@U0999ZZZZ>" not in slack
    assert "U0123ABCD" in slack  # still shown, as typed
    feishu = card_content(message, name_of=lambda user: "王芳")
    assert "王芳" not in feishu and "ou_abc123" in feishu
