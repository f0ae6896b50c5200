from bot.app import build_app
from bot.messages import Action, Command


def cmd(text, channel="console:lanji", event_id=None):
    return Command("console", channel, "console:alice", text, user_name="alice", event_id=event_id)


def test_help_lists_commands_in_chinese_and_english(bot):
    (reply,) = bot.dispatcher.handle(cmd("/help"))
    assert "/help" in "\n".join(s.text for s in reply.sections)
    assert "命令" in reply.title


def test_unknown_command_and_bad_quotes_get_a_short_usage_reply(bot):
    (reply,) = bot.dispatcher.handle(cmd("/nosuch thing"))
    assert "未知命令" in reply.text and "Unknown command" in reply.text
    (reply,) = bot.dispatcher.handle(cmd('/help "unclosed'))
    assert "用法有误" in reply.text and "Traceback" not in reply.text


def test_handler_crash_is_a_short_reply_not_a_traceback(bot):
    def broken(ctx, parsed):
        raise RuntimeError("boom")

    bot.services.registry.add_command("boom", broken, summary_zh="炸", summary_en="boom", usage="/boom")
    (reply,) = bot.dispatcher.handle(cmd("/boom"))
    assert "出错" in reply.text and "boom" not in reply.text


def test_replies_go_through_the_outbox_to_the_channel(bot):
    bot.dispatcher.handle(cmd("/help", channel="console:xiaochu"))
    bot.services.outbox.drain()
    assert len(bot.console.messages("xiaochu")) == 1


def test_a_retried_event_is_processed_once_even_after_a_restart(bot, db, settings, app_config, clock):
    assert bot.dispatcher.handle(cmd("/help", event_id="Ev1"))
    assert bot.dispatcher.handle(cmd("/help", event_id="Ev1")) == []
    restarted = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    try:
        assert restarted.dispatcher.handle(cmd("/help", event_id="Ev1")) == []
    finally:
        restarted.stop()


def test_unknown_button_is_answered(bot):
    # no handler owns the id: an unknown button, named, not "这个按钮已失效" (a known button whose target is gone)
    (reply,) = bot.dispatcher.handle(Action("console", "console:lanji", "console:alice", "nope.x", "1"))
    assert reply.text == "未知按钮 nope.x。\nUnknown button nope.x.", reply.text
    assert "失效" not in reply.text and reply.ephemeral


def test_a_known_button_whose_target_is_gone_still_says_it_is_no_longer_active(bot):
    (reply,) = bot.dispatcher.handle(Action("console", "console:lanji", "console:alice", "reply.nonsense:1", ""))
    assert "这个按钮已失效" in reply.text and "未知按钮" not in reply.text, reply.text


def test_run_command_fixture_delivers_to_the_console(bot, run_command, press_button):
    (reply,) = run_command("/help help", channel="console:lanji")
    assert "/help" in reply.title
    assert bot.console.messages("lanji")[-1].title == reply.title
    (reply,) = press_button("nothing.here", channel="console:lanji")
    assert "未知按钮 nothing.here" in reply.text


def test_event_id_is_released_when_the_answer_cannot_be_stored(bot, db):
    """If the replies cannot be queued, the platform's retry must be handled, not dropped."""
    import pytest
    from sqlalchemy import text

    with db.engine.begin() as conn:  # a real storage failure: the outbox table is gone for a moment
        conn.execute(text("ALTER TABLE outbox_message RENAME TO outbox_message_away"))
    with pytest.raises(Exception, match="outbox_message"):
        bot.dispatcher.handle(cmd("/help", event_id="Ev-retry"))
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE outbox_message_away RENAME TO outbox_message"))
    assert bot.dispatcher.handle(cmd("/help", event_id="Ev-retry"))


def test_a_name_lookup_names_the_person_and_its_failure_leaves_the_id(bot):
    from bot.messages import Message

    seen = []
    bot.services.registry.add_action("who.", lambda ctx, action: seen.append(ctx.user_name) or Message(text="ok"))
    names = {"ou_wang": "王芳"}

    def lookup(user_id):
        if user_id == "ou_broken":
            raise RuntimeError("contact API down")
        return names.get(user_id)

    bot.dispatcher.register_name_lookup("feishu", lookup)
    for user in ("feishu:ou_wang", "feishu:ou_other", "feishu:ou_broken"):
        bot.dispatcher.handle(Action("feishu", "feishu:oc_1", user, "who.am", "1"))
    # a name given by the adapter is kept; other platforms are not looked up
    bot.dispatcher.handle(Action("feishu", "feishu:oc_1", "feishu:ou_wang", "who.am", "1", user_name="Fang"))
    bot.dispatcher.handle(Action("console", "console:lanji", "console:ou_wang", "who.am", "1"))
    assert seen == ["王芳", "ou_other", "ou_broken", "Fang", "ou_wang"]
