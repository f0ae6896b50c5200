import json

from bot.adapters.slack.render import (
    BLOCKS_MAX,
    FORM_CALLBACK_ID,
    build_modal,
    fallback_text,
    form_spec_for,
    mention_token,
    render_blocks,
    render_message,
    to_mrkdwn,
)
from bot.messages import Button, Field, Image, Message, Section


def test_light_markdown_becomes_slack_mrkdwn_and_control_characters_are_escaped():
    assert to_mrkdwn("**紧急** 见 [详情](https://ex.com/a?b=1&c=2)") == "*紧急* 见 <https://ex.com/a?b=1&c=2|详情>"
    assert to_mrkdwn("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    assert to_mrkdwn("~~旧~~") == "~旧~"
    assert to_mrkdwn("第 2 步 → slack:U0ABC12 （feishu:ou_1）") == "第 2 步 → <@U0ABC12> （feishu:ou_1）"
    assert to_mrkdwn("[看这里](https://x.test/slack:U0ABC12)") == "<https://x.test/slack:U0ABC12|看这里>"
    # a label cannot end the link early
    assert to_mrkdwn("[a|b](http://x)") == "<http://x|a¦b>"


def test_mentions_map_to_slack_tokens_and_other_platforms_are_dropped():
    assert mention_token("here") == "<!here>"
    assert mention_token("all") == "<!channel>"
    assert mention_token("slack:U123ABC") == "<@U123ABC>"
    assert mention_token("U123ABC") == "<@U123ABC>"
    assert mention_token("feishu:ou_abc") is None
    assert mention_token("not an id") is None


def test_alert_card_has_header_severity_fields_sections_and_buttons():
    message = Message(
        title="负面舆情激增",
        text="过去 **15 分钟** 负面评论 42 条",
        fields=(Field("账号", "澜肌官方旗舰店"), Field("严重程度", "一级")),
        sections=(Section("「面霜过敏」", buttons=(Button("认领", "replies.claim", "c1"),)),),
        buttons=(Button("启动预案", "alert.start", "e1", "primary"), Button("误报", "alert.false", "e1", "danger"),
                 Button("看板", "", url="https://dash.example/x")),
        severity=1,
        mentions=("here", "slack:U0042"),
    )
    payload = render_message(message)
    blocks = payload["blocks"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": ":red_circle: 负面舆情激增", "emoji": True}}
    assert any(b["type"] == "section" and b.get("text", {}).get("text") == "<!here> <@U0042>" for b in blocks)
    body = next(b for b in blocks if b["type"] == "section" and "15 分钟" in b.get("text", {}).get("text", ""))
    assert body["text"] == {"type": "mrkdwn", "text": "过去 *15 分钟* 负面评论 42 条"}
    fields = next(b for b in blocks if "fields" in b)["fields"]
    assert fields[0] == {"type": "mrkdwn", "text": "*账号*\n澜肌官方旗舰店"}
    actions = [b for b in blocks if b["type"] == "actions"]
    assert actions[0]["elements"][0]["action_id"] == "replies.claim"
    last = actions[-1]["elements"]
    assert [e.get("style") for e in last] == ["primary", "danger", None]
    assert last[2]["url"] == "https://dash.example/x" and last[2]["action_id"].startswith("crisisbot.link.")
    assert payload["attachments"][0]["color"] == "#D93025"
    assert payload["text"].startswith("<!here> <@U0042>\n:red_circle: 负面舆情激增")
    json.dumps(payload)  # JSON-safe for the Web API


def test_repeated_action_ids_in_one_block_get_a_suffix_and_limits_are_respected():
    buttons = tuple(Button("x" * 100, "queue.claim", str(i)) for i in range(30))
    (block,) = render_blocks(Message(buttons=buttons))
    ids = [e["action_id"] for e in block["elements"]]
    assert len(ids) == 25 and len(set(ids)) == 25 and ids[0] == "queue.claim" and ids[1] == "queue.claim~~1"
    assert all(len(e["text"]["text"]) <= 75 for e in block["elements"])


def test_long_text_is_split_and_too_many_blocks_are_cut_with_a_note():
    text = "\n".join(f"第 {i} 行 " + "很" * 90 for i in range(100))
    blocks = render_blocks(Message(text=text))
    assert len(blocks) > 1 and all(len(b["text"]["text"]) <= 3000 for b in blocks)
    many = Message(sections=tuple(Section(f"条目 {i}") for i in range(60)), buttons=(Button("更多", "q.more"),))
    blocks = render_blocks(many)
    assert len(blocks) == BLOCKS_MAX
    assert blocks[-1]["type"] == "actions" and "未显示" in blocks[-2]["elements"][0]["text"]


def test_image_urls_are_image_blocks_and_png_bytes_are_left_for_upload():
    message = Message(title="复盘图", images=(Image("趋势", url="https://img.example/a.png"), Image("图", png=b"\x89PNG")))
    images = [b for b in render_blocks(message) if b["type"] == "image"]
    assert images == [{"type": "image", "image_url": "https://img.example/a.png", "alt_text": "趋势",
                       "title": {"type": "plain_text", "text": "趋势"}}]


def test_fallback_text_is_never_empty():
    assert fallback_text(Message()) == "crisisbot"
    assert fallback_text(Message(sections=(Section("**a**"),))) == "a"


def test_fallback_text_carries_the_sections_and_shows_people_as_mentions():
    # a queue or a precheck: a heading and sections; where blocks are not shown the heading alone said nothing
    message = Message(title="待回复 3 条", sections=(Section("#1 **退款**怎么还没到"), Section("#2 发货太慢"),
                                                    Section("#3 交给 slack:U2 处理")))
    text = fallback_text(message)
    assert text == "待回复 3 条\n#1 退款怎么还没到\n#2 发货太慢\n#3 交给 <@U2> 处理"
    assert fallback_text(Message(text="👤 intake → slack:U0BBB2222")) == "👤 intake → <@U0BBB2222>"
    assert "<@U2>" in json.dumps(render_blocks(Message(text="交给 slack:U2")), ensure_ascii=False)


def test_skip_relabel_and_assign_buttons_open_a_modal_with_their_context():
    assert form_spec_for("crisis.skip").key == "reason"
    assert form_spec_for("reply.skip:42").key == "reason"
    assert form_spec_for("reply.done:42").key == "text" and form_spec_for("reply.done:42").optional
    assert form_spec_for("crisis.done") is None  # finishing a step needs no form
    assert form_spec_for("comments.relabel").kind == "label"
    assert form_spec_for("crisis.assign").kind == "user" and form_spec_for("crisis.assign").key == "user"
    assert form_spec_for("alert.ack") is None and form_spec_for("sentiment.fix") is None
    view = build_modal(form_spec_for("reply.skip:7"), {"action_id": "reply.skip:7", "value": "7"})
    assert view["callback_id"] == FORM_CALLBACK_ID
    assert json.loads(view["private_metadata"]) == {"action_id": "reply.skip:7", "value": "7"}
    assert view["blocks"][0]["element"]["action_id"] == "reason"


def test_a_link_button_with_an_action_id_is_marked_as_a_link():
    from bot.adapters.slack.inbound import is_link_click

    payload = render_message(Message(text="平台规则更新", buttons=(
        Button("查看详情 / Open", "feeds:open", url="https://rules.example/notice/1"), Button("确认", "alert.ack", "k"))))
    (link, ack) = next(b for b in payload["blocks"] if b["type"] == "actions")["elements"]
    assert is_link_click(link["action_id"]) and link["url"] == "https://rules.example/notice/1"
    assert ack["action_id"] == "alert.ack"


def test_a_quoted_comment_cannot_ping_the_channel_or_forge_a_link_through_the_fallback_text():
    message = Message(title="🔴 负面激增", sections=(Section("<!channel> 退款 <https://evil.example|官方退款通知> & 投诉"),))
    text = fallback_text(message)
    assert "<!channel>" not in text and "<https://" not in text
    assert "&lt;!channel&gt;" in text and "&amp; 投诉" in text


def test_people_named_by_address_show_by_name_escaped_and_unformatted_where_a_name_is_known():
    names = {"U1": "**王** <!here>", "U2": "老李"}.get
    assert to_mrkdwn("**负责人** slack:U1 · [链接](https://x.test) · slack:U3", names) == (
        "*负责人* **王** &lt;!here&gt; · <https://x.test|链接> · <@U3>")
    message = Message(text="slack:U2 完成了 triage", mentions=("slack:U2",))
    assert fallback_text(message, names) == "<@U2>\n老李 完成了 triage"  # the mention still notifies
    assert render_blocks(message, names)[1]["text"]["text"] == "老李 完成了 triage"
