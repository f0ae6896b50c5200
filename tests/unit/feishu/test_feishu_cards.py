"""Card rendering (JSON 2.0) of neutral messages: pure."""

from __future__ import annotations

import json

from bot.adapters.feishu.cards import (
    card_content,
    escape_markdown,
    header_template,
    mention_markup,
    render_card,
)
from bot.messages import Button, Field, Image, Message, Section
from tests.fakes.feishu_api import card_nodes


def _elements(card: dict) -> list[dict]:
    return card["body"]["elements"]




def test_every_card_is_json_2_0_and_patchable():
    card = render_card(Message(text="你好"))
    assert card["schema"] == "2.0"
    assert card["config"]["update_multi"] is True
    assert _elements(card) == [{"tag": "markdown", "content": "你好"}]
    assert "header" not in card


def test_header_colour_follows_severity():
    assert render_card(Message(title="负面舆情", severity=1))["header"] == {
        "title": {"tag": "plain_text", "content": "负面舆情"},
        "template": "red",
    }
    assert header_template(2) == "orange"
    assert header_template(3) == "yellow"
    assert header_template(4) == "blue"
    assert header_template(None) == "blue"


def test_fields_sit_two_per_row():
    message = Message(fields=(Field("严重程度", "一级"), Field("账号", "澜肌"), Field("负面占比", "62%")))
    rows = [e for e in _elements(render_card(message)) if e["tag"] == "column_set"]
    assert [len(r["columns"]) for r in rows] == [2, 1]
    assert rows[0]["columns"][0]["elements"][0]["content"] == "**严重程度**\n一级"


def test_buttons_call_back_with_action_id_and_value():
    message = Message(
        text="x",
        buttons=(Button("认领", "alert.ack", "42", style="primary"), Button("打开", "open", url="https://e.x/1")),
    )
    buttons = [n for n in card_nodes(render_card(message)) if n.get("tag") == "button"]
    assert buttons[0]["behaviors"] == [{"type": "callback", "value": {"action_id": "alert.ack", "value": "42"}}]
    assert buttons[0]["type"] == "primary_filled"
    assert buttons[0]["text"] == {"tag": "plain_text", "content": "认领"}
    assert buttons[1]["behaviors"] == [{"type": "open_url", "default_url": "https://e.x/1"}]


def test_sections_are_separated_and_carry_their_buttons():
    message = Message(
        text="队列",
        sections=(
            Section("第一条评论", buttons=(Button("回复", "rq.reply", "c1"),)),
            Section("第二条评论", fields=(Field("点赞", "12"),), buttons=(Button("忽略", "rq.ignore", "c2"),)),
        ),
    )
    tags = [e["tag"] for e in _elements(render_card(message))]
    assert tags == ["markdown", "hr", "markdown", "column_set", "hr", "markdown", "column_set", "column_set"]
    values = [b["behaviors"][0]["value"] for b in card_nodes(render_card(message)) if b.get("tag") == "button"]
    assert values == [{"action_id": "rq.reply", "value": "c1"}, {"action_id": "rq.ignore", "value": "c2"}]


def test_mentions():
    assert mention_markup(["all"], severity=2) == "<at id=all></at>"
    assert mention_markup(["here"], severity=1) == "<at id=all></at>"
    assert mention_markup(["here"], severity=2) == ""  # no soft @here on Feishu: only sev1 is loud
    assert mention_markup(["all"], severity=1, allow_at_all=False) == ""
    assert mention_markup(["feishu:ou_1", "ou_2", "slack:U1", "feishu:ou_1"], severity=None) == (
        "<at id=ou_1></at> <at id=ou_2></at>"
    )
    assert mention_markup(["feishu:ou_x></at><at id=all"], severity=None) == ""  # no markup injection
    card = render_card(Message(text="请处理", severity=1, mentions=("all",)))
    assert _elements(card)[0]["content"] == "<at id=all></at> 请处理"


def test_text_is_escaped_but_markdown_kept():
    assert escape_markdown("a<b> & **c** [x](https://e.x/?a=1&b=2)") == "a&#60;b&#62; & **c** [x](https://e.x/?a=1&b=2)"
    card = render_card(Message(text="<at id=all></at> [链接](https://e.x)"))
    assert _elements(card)[0]["content"] == "&#60;at id=all&#62;&#60;/at&#62; [链接](https://e.x)"


def test_images_by_key_or_link():
    message = Message(images=(Image("复盘图", png=b"\x89PNG"), Image("外链", url="https://e.x/a.png")))
    elements = _elements(render_card(message, image_keys=["img_v3_1", None]))
    assert elements[0]["tag"] == "img" and elements[0]["img_key"] == "img_v3_1"
    assert elements[0]["title"]["content"] == "复盘图"
    assert elements[1] == {"tag": "markdown", "content": "[外链](https://e.x/a.png)"}


def test_empty_message_still_renders_a_valid_body_and_content_is_a_json_string():
    card = json.loads(card_content(Message()))
    assert card["body"]["elements"]


def test_long_text_is_truncated():
    card = render_card(Message(text="评" * 20000))
    assert len(_elements(card)[0]["content"]) <= 6000


def test_feishu_user_addresses_in_text_show_the_peoples_names():
    # "👤 verify → feishu:ou_zhang" showed the raw open_id; Slack shows 'slack:U1' as the person.
    names = {"ou_zhang": "张三", "ou_evil": "<at id=all></at>"}.get
    card = render_card(Message(text="👤 verify → feishu:ou_zhang", fields=[Field("负责人", "feishu:ou_zhang")],
                               sections=[Section(text="feishu:ou_evil, feishu:ou_unknown")]), name_of=names)
    assert _elements(card)[0]["content"] == "👤 verify → 张三"
    assert "张三" in json.dumps(_elements(card)[1], ensure_ascii=False)
    # A name is text too (never a tag); an unknown person keeps the address; no <at> pings anyone.
    assert "&#60;at id=all&#62;&#60;/at&#62;, feishu:ou_unknown" in json.dumps(card, ensure_ascii=False)
    assert "<at" not in json.dumps(card, ensure_ascii=False)


def test_quoted_lines_stay_quotes():
    # Handlers quote a comment with "> "; escaped to "&#62; " it showed as a literal ">" instead of a quote.
    assert escape_markdown("选择标签\n> 用了就过敏 <b>\n\n> 第二条") == "选择标签\n> 用了就过敏 &#60;b&#62;\n\n> 第二条"
    assert escape_markdown("a > b") == "a &#62; b"


def _form_parts(form: dict) -> tuple[dict, dict]:
    """(the field, the submit button) of a card form: exactly one of each."""
    (field,) = [n for n in card_nodes(form) if n.get("tag") in ("input", "select_static", "select_person")]
    (submit,) = [n for n in card_nodes(form) if n.get("tag") == "button"]
    return field, submit


def test_the_playbook_skip_and_assign_buttons_submit_forms_on_the_card():
    # Feishu has no modal: what Slack asks in one (a skip's reason, the person to assign) is asked on the card,
    # in a JSON 2.0 form per button, its field beside the button that submits it
    message = Message(
        text="预案",
        sections=tuple(
            Section(f"步骤 {step}", buttons=(Button("完成", "crisis.done", f"1:{step}", style="primary"),
                                            Button("跳过", "crisis.skip", f"1:{step}"),
                                            Button("指派", "crisis.assign", f"1:{step}")))
            for step in ("spread", "capture")
        ),
    )
    card = render_card(message)
    elements = _elements(card)
    forms = [e for e in elements if e["tag"] == "form"]
    assert len(forms) == 4  # two per step, at the card's root (Feishu allows forms nowhere else)
    assert not any(n.get("tag") == "form" for e in elements if e["tag"] != "form" for n in card_nodes(e))
    # the button that needs nothing stays a plain row
    rows = [e for e in elements if e["tag"] == "column_set"]
    row_values = [n["behaviors"][0]["value"] for row in rows for n in card_nodes(row) if n.get("tag") == "button"]
    assert [v["action_id"] for v in row_values] == ["crisis.done"] * 2
    names = []
    steps = ("spread", "spread", "capture", "capture")
    for form, step, action_id in zip(forms, steps, ["crisis.skip", "crisis.assign"] * 2, strict=True):
        field, submit = _form_parts(form)
        assert field["required"] is True
        assert submit["form_action_type"] == "submit"
        key = {"crisis.skip": "reason", "crisis.assign": "user"}[action_id]
        assert submit["behaviors"] == [{"type": "callback", "value": {
            "action_id": action_id, "value": f"1:{step}", "form": {field["name"]: key}}}]
        if action_id == "crisis.skip":
            assert field["tag"] == "input" and "跳过原因" in field["placeholder"]["content"]
            assert submit["text"]["content"] == "跳过"
        else:
            # no options: Feishu offers the chat's members
            assert field["tag"] == "select_person" and "options" not in field
            assert submit["text"]["content"] == "指派"
        names += [form["name"], field["name"], submit["name"]]
    assert len(names) == len(set(names))  # names are unique within the card, or Feishu refuses the submission


def test_reply_queue_and_relabel_buttons_get_the_fields_slack_asks_for():
    message = Message(text="x", buttons=(
        Button("认领 Claim", "reply.claim:42", "42", "primary"),
        Button("已回复 Replied", "reply.done:42", "42"),
        Button("跳过 Skip", "reply.skip:42", "42"),
        Button("驳回 Reject", "reply.reject:7", "7", "danger"),
        Button("更正", "comments.relabel", "weibo:1"),
    ))
    elements = _elements(render_card(message))
    assert [e["tag"] for e in elements] == ["markdown", "column_set", "form", "form", "form", "form"]
    fields = {submit["behaviors"][0]["value"]["action_id"]: (field, submit)
              for field, submit in map(_form_parts, elements[2:])}
    done, done_submit = fields["reply.done:42"]
    assert done["tag"] == "input" and done["required"] is False and "可选" in done["placeholder"]["content"]
    assert done_submit["behaviors"][0]["value"]["form"] == {done["name"]: "text"}
    skip, _ = fields["reply.skip:42"]
    assert skip["tag"] == "input" and skip["required"] is True
    reject, reject_submit = fields["reply.reject:7"]
    assert reject["required"] is False and reject_submit["type"] == "danger_filled"
    assert reject_submit["behaviors"][0]["value"]["form"] == {reject["name"]: "reason"}
    label, _ = fields["comments.relabel"]
    assert label["tag"] == "select_static" and label["required"] is True
    assert [o["value"] for o in label["options"]] == ["neg", "neu", "pos"]
    assert label["options"][0]["text"] == {"tag": "plain_text", "content": "负面 / negative"}


def test_buttons_that_need_no_input_stay_plain():
    message = Message(text="x", buttons=(Button("认领", "alert.ack", "1"), Button("完成", "crisis.done", "1:a"),
                                         Button("打开", "crisis.skip", url="https://e.x/runbook")))
    card = render_card(message)
    assert not any(n.get("tag") in ("form", "input") for n in card_nodes(card))
    assert [e["tag"] for e in _elements(card)] == ["markdown", "column_set"]


def test_the_fake_feishu_accepts_every_form_kind_and_refuses_broken_fields():
    # the fake Open API checks Feishu's documented form rules: what the renderer makes must pass them, and a
    # broken field must not (or the integration tests would prove nothing)
    from tests.fakes.feishu_api import _form_problem

    message = Message(text="x", buttons=(Button("跳过", "crisis.skip", "1:a"), Button("指派", "crisis.assign", "1:a"),
                                         Button("驳回", "reply.reject:7", "7"), Button("更正", "comments.relabel", "c")))
    elements = _elements(render_card(message))
    assert _form_problem(elements) == ""
    fields = {n["tag"]: n for n in card_nodes(elements) if n.get("tag") in ("input", "select_static", "select_person")}
    assert set(fields) == {"input", "select_static", "select_person"}

    def broken(tag: str, **change) -> str:
        copy = json.loads(json.dumps(elements))
        node = next(n for n in card_nodes(copy) if n.get("tag") == tag)
        node.update(change)
        return _form_problem(copy)

    assert "options" in broken("select_static", options=[])
    assert "unique" in broken("select_static", options=[{"text": {"tag": "plain_text", "content": "a"}, "value": "x"}] * 2)
    assert "open_id" in broken("select_person", options=[{"value": "slack:U1"}])
    assert "max_length" in broken("input", max_length=5000)
    assert "no name" in broken("select_person", name="")
    assert "unique" in broken("select_person", name=fields["input"]["name"])
    outside = [{"tag": "column_set", "columns": [{"tag": "column", "elements": [dict(fields["input"])]}]}]
    assert "only allowed inside a form" in _form_problem(outside)


def test_a_card_whose_forms_would_pass_feishus_component_limit_gets_plain_buttons():
    # a reply-queue card of 10 items, each with 跳过 / 已回复 / 驳回 forms, is ~210 components: Feishu refuses
    # a card over 200 whole, so the buttons go plain (their handlers answer with the command to type)
    from bot.adapters.feishu.cards import MAX_COMPONENTS, component_count

    def item(n: int) -> Section:
        return Section(text=f"第 {n} 条评论：太差了，退款", fields=(Field("优先级", "80"), Field("逾期", "否")),
                       buttons=(Button("认领", f"reply.claim:{n}", str(n)), Button("跳过", f"reply.skip:{n}", str(n)),
                                Button("已回复", f"reply.done:{n}", str(n)), Button("驳回", f"reply.reject:{n}", str(n))))

    small = render_card(Message(title="回复队列", sections=tuple(item(n) for n in range(2))))
    assert any(node.get("tag") == "form" for node in card_nodes(small))
    big = render_card(Message(title="回复队列", sections=tuple(item(n) for n in range(12))))
    assert component_count(big["body"]) <= MAX_COMPONENTS
    assert not any(node.get("tag") == "form" for node in card_nodes(big))
    assert sum(1 for node in card_nodes(big) if node.get("tag") == "button") == 48  # every button still there


def test_a_markdown_image_line_is_no_image_key_in_a_card():
    # card markdown reads ![alt](x) as an uploaded image x: a chart's file name is none (the review's line)
    assert escape_markdown("概要\n![负面占比 / negative share](crisis-1-negative-share.png)") == "概要\n负面占比 / negative share"
    assert escape_markdown("见 ![趋势](https://ex.com/t.png)") == "见 [趋势](https://ex.com/t.png)"
    card = json.dumps(render_card(Message(text="![图](c.png)")), ensure_ascii=False)
    assert "![" not in card
