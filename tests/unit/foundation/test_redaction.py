"""Finding one person's comments in copies that keep no comment id (pure: no database)."""

from bot.redaction import REDACTED, AuthorCopies, PersonComment

LONG = "这款面霜用了三天整张脸过敏红肿刺痛，客服一直推脱不给退款，还把我拉黑了，" * 3
COPIES = AuthorCopies([
    PersonComment("douyin", "c1", LONG, "王小受"),
    PersonComment("douyin", "c2", "差", "王小受"),
    PersonComment("douyin", "c3", "  多个   空格\n的评论内容  ", None),
])


def test_a_cut_quote_is_found_with_its_ellipsis_whatever_the_cut():
    for cut in (30, 79, 119, 139):
        text = f"• {LONG[: cut - 1]}…（👍 900）"
        assert COPIES.quotes(text)
        assert COPIES.redact(text) == f"• {REDACTED}（👍 900）"
    assert COPIES.redact(f"评论升级：{LONG[:30]}") == f"评论升级：{REDACTED}"


def test_a_short_comment_matches_only_whole_and_a_short_prefix_never():
    assert COPIES.quotes("> 差 —— 某人")
    assert not COPIES.quotes("差评太多了")  # "差" inside a word is someone else's text
    assert not COPIES.quotes(f"「{LONG[:10]}」")  # ten characters are too few to call it their quote


def test_collapsed_whitespace_and_refs_are_found():
    assert COPIES.redact("> 多个 空格 的评论内容 —— ?") == f"> {REDACTED} —— ?"
    assert COPIES.redact("升级评论 douyin:c1：「…」") == f"升级评论 {REDACTED}：「…」"
    assert not COPIES.quotes("douyin:c10 and xdouyin:c1x")


def test_their_name_goes_even_inside_a_sentence():
    assert COPIES.redact("王小受您好，已私信") == f"{REDACTED}您好，已私信"
    single = AuthorCopies([PersonComment("douyin", "c9", "随便说说", "王")])
    assert single.redact("王者归来") == "王者归来"  # a one-character name must stand apart


def test_message_payload_loses_their_quotes_and_refs_but_keeps_the_rest():
    payload = {
        "text": f"负面激增\n• {LONG[:79]}…（👍 900）\n• 别人的评论（👍 700）",
        "sections": [],
        "buttons": [
            {"label": "纠正情感", "action_id": "sentiment.review", "value": "douyin:c1,douyin:c7"},
            {"label": "改为负面", "action_id": "sentiment.fix", "value": "douyin:c2 neg"},
            {"label": "确认", "action_id": "alert.ack", "value": "ep-1"},
        ],
        "images": [{"png": "iVBORw0KGgo=", "alt": ""}],
    }
    out = COPIES.redact_message(payload)
    assert out["text"] == f"负面激增\n• {REDACTED}（👍 900）\n• 别人的评论（👍 700）"
    assert [b["value"] for b in out["buttons"]] == ["douyin:c7", "ep-1"]
    assert out["images"] == payload["images"]
    assert COPIES.redact_message({"text": "无关消息"}) == {"text": "无关消息"}


def test_structured_entries_match_by_id_or_exact_text():
    assert COPIES.is_theirs({"comment_id": "c1", "text": "anything"})
    assert not COPIES.is_theirs({"comment_id": "c7", "text": LONG})  # the id decides where there is one
    assert COPIES.is_theirs({"text": LONG, "likes": 3})
    assert not COPIES.is_theirs({"text": LONG[:-1]})
