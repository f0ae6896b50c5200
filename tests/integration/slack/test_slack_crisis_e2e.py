"""/crisis through Slack end to end: permissions by Slack user id, the run card, its buttons and modals,
the card updated in place, and the review (a summary, its chart and the Markdown file) with files_upload_v2."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def as_text(call) -> str:
    return json.dumps({k: call.args.get(k) for k in ("text", "blocks", "attachments")}, ensure_ascii=False)


def buttons_of(call) -> dict[str, str]:
    found = {}
    for block in call.args.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("type") == "button" and element.get("action_id") not in found:
                found[element["action_id"]] = element.get("value", "")
    return found


def wait_for_post_containing(fake, text: str):
    count = 1
    while True:  # each wait returns as soon as one more message was posted
        calls = fake.wait_for("chat.postMessage", count)
        for call in calls:
            if text in as_text(call):
                return call
        count = len(calls) + 1


def open_and_submit(fake, sender, action_id, value, card_ts, values, user="ULEAD"):
    opened_before = len(fake.calls("views.open"))
    assert sender.button(action_id, value, user=user, message_ts=card_ts).status_code == 200
    opened = fake.wait_for("views.open", opened_before + 1)[-1]
    view = opened.args["view"] if isinstance(opened.args["view"], dict) else json.loads(opened.args["view"])
    assert sender.view_submission(view, values, user=user).status_code == 200


def test_a_crisis_walked_in_slack(crisis_slack, fake_slack):
    bot, sender = crisis_slack
    # only the configured role may start: Slack user ids are the identities
    assert sender.command("/crisis", 'start 负面舆情爆发 "面霜过敏" --severity 1', user="UOTHER").status_code == 200
    (denied,) = fake_slack.wait_for("response_url")
    assert denied.args["response_type"] == "ephemeral"
    assert fake_slack.successful("chat.postMessage") == []

    assert sender.command("/crisis", 'start 负面舆情爆发 "面霜过敏" --severity 1', user="ULEAD").status_code == 200
    posted = fake_slack.wait_for("chat.postMessage")
    cards = [c for c in posted if any(a.startswith("crisis.") for a in buttons_of(c))]
    assert cards, [as_text(c) for c in posted]
    card = cards[0]
    card_ts = card.answer["ts"]
    assert "面霜过敏" in as_text(card)
    assert card.args["blocks"][0]["type"] == "header"
    buttons = buttons_of(card)

    updates_before = len(fake_slack.successful("chat.update"))
    assert sender.button("crisis.done", buttons["crisis.done"], user="UOPS", message_ts=card_ts).status_code == 200
    update = fake_slack.wait_for("chat.update", updates_before + 1)[-1]
    assert update.args["ts"] == card_ts and update.args["channel"] == "C1"  # the card changed in place
    wait_for_post_containing(fake_slack, "完成了")

    skip_value = buttons_of(update)["crisis.skip"]
    open_and_submit(fake_slack, sender, "crisis.skip", skip_value, card_ts,
                    {"reason": {"reason": {"type": "plain_text_input", "value": "已由客服私信处理"}}}, user="UOPS")
    wait_for_post_containing(fake_slack, "跳过了")

    latest = fake_slack.successful("chat.update")[-1]
    assign_value = buttons_of(latest)["crisis.assign"]
    open_and_submit(fake_slack, sender, "crisis.assign", assign_value, card_ts,
                    {"user": {"user": {"type": "users_select", "selected_user": "UOPS"}}})
    wait_for_post_containing(fake_slack, "→ <@UOPS>")  # slack:UOPS shown as the person

    assert sender.command("/crisis", "timeline", user="UOPS").status_code == 200
    wait_for_post_containing(fake_slack, "已由客服私信处理")  # the modal's reason reached the run

    assert sender.command("/crisis", "resolve 事件平息", user="ULEAD").status_code == 200
    fake_slack.wait_for("files.completeUploadExternal", 2)  # the chart, then the review as a file
    chart, review = fake_slack.calls("upload")
    assert chart.args["bytes"].startswith(b"\x89PNG")
    assert review.args["bytes"].decode().startswith("# 复盘报告：面霜过敏")
    assert "| --- |" in review.args["bytes"].decode()  # the whole review, tables and all, is in the file
    names = {c.answer["file_id"]: c.args["filename"] for c in fake_slack.successful("files.getUploadURLExternal")}
    assert names[review.args["file_id"]].startswith("crisis-1-review-") and names[review.args["file_id"]].endswith(".md")
    summary = wait_for_post_containing(fake_slack, "crisis-1-review.md")
    shown = as_text(summary)
    assert "复盘报告 #1" in shown and "面霜过敏" in shown and "已解除" in shown and "持续 / Duration" in shown
    assert "| --- |" not in shown and "![" not in shown and "!<" not in shown and "## " not in shown
    assert all(c.args["channel"] == "C1" for c in fake_slack.calls("chat.postMessage"))
