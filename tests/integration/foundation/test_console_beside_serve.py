"""`crisisbot console` beside `serve` on one database: the console shows its open channel's messages,
whoever delivers them, once each; serve stays the one that delivers (and prints them in its terminal).

Before, each process printed only the console messages its own outbox worker happened to claim: an alert
raised by serve usually showed in serve's terminal and never in the console the user was looking at.
Also: `quit` in piped input says that the lines after it were not run, and two console runs on one
database no longer share event ids (the second run's commands were dropped as duplicates).
"""

from __future__ import annotations

import io

import pytest
from sqlmodel import select

from bot.app import build_app
from bot.console_repl import ChannelFeed, repl
from bot.messages import Message
from bot.storage.models import OutboxMessage

ALERT = "负面评论激增 / negative spike: lanji_official"


@pytest.fixture
def serve_bot(bot):
    """The serving process: its console adapter prints into its own terminal (here a buffer)."""
    bot.console.echo = io.StringIO()
    return bot


@pytest.fixture
def console_bot(db, settings, app_config, clock):
    """A second app on the same database, as `crisisbot console` builds it: no console echo."""
    app = build_app(settings, app_config, clock=clock, db=db, upgrade=False)
    yield app
    app.stop()


def _status(db, key: str) -> str:
    with db.session() as session:
        return session.exec(select(OutboxMessage.status).where(OutboxMessage.key == key)).one()


def test_an_alert_serve_posts_shows_once_in_the_console_that_has_the_channel_open(serve_bot, console_bot, db):
    out = io.StringIO()
    feed = ChannelFeed(db, "console:lanji", out=out)
    serve_bot.services.outbox.send(channel="console:lanji", message=Message(title=ALERT, severity=1), key="a1")
    serve_bot.services.outbox.send(channel="console:xiaochu", message=Message(title="xiaochu only"), key="a2")
    serve_bot.services.outbox.drain()  # serve delivers: its terminal shows both, as before

    assert feed.show_new() == 1
    assert feed.show_new() == 0  # read by id: never a second time
    assert out.getvalue().count(ALERT) == 1 and "#lanji" in out.getvalue()
    assert "xiaochu only" not in out.getvalue()  # another channel
    assert ALERT in serve_bot.console.echo.getvalue() and _status(db, "a1") == "sent"


def test_the_console_shows_its_answers_once_and_leaves_delivering_to_serve(serve_bot, console_bot, db):
    out = io.StringIO()
    feed = ChannelFeed(db, "console:lanji", out=out)
    code = repl(console_bot, channel="lanji", user="alice", stdin=io.StringIO("/help crisis\n"), feed=feed)
    assert code == 0
    assert out.getvalue().count("#lanji") == 1 and "/crisis" in out.getvalue()
    with db.session() as session:
        keys = session.exec(select(OutboxMessage.key).where(OutboxMessage.channel == "console:lanji")).all()
    assert len(keys) == 1 and _status(db, keys[0]) == "pending"  # shown, not delivered by the console
    # serve delivers it later; the console does not show it again
    serve_bot.services.outbox.drain()
    assert _status(db, keys[0]) == "sent"
    assert feed.show_new() == 0 and out.getvalue().count("#lanji") == 1
    assert console_bot.console.messages() == []  # the console's own adapter printed and kept nothing


def test_a_message_delivered_before_the_console_opened_is_not_shown_again(serve_bot, db):
    serve_bot.services.outbox.send(channel="console:lanji", message=Message(title="old news"), key="old")
    serve_bot.services.outbox.drain()  # serve showed it in its terminal
    out = io.StringIO()
    feed = ChannelFeed(db, "console:lanji", out=out)
    assert feed.show_waiting() == 0 and feed.show_new() == 0 and out.getvalue() == ""


def test_a_message_still_waiting_when_the_console_opens_is_shown_once(serve_bot, db):
    # queued by a `poll` or an `ingest` while no serve ran: nobody has shown it
    serve_bot.services.outbox.send(channel="console:lanji", message=Message(title="waiting news"), key="w")
    serve_bot.services.outbox.send(channel="console:xiaochu", message=Message(title="not here"), key="x")
    out = io.StringIO()
    feed = ChannelFeed(db, "console:lanji", out=out)
    assert feed.show_waiting() == 1 and feed.show_new() == 0
    assert out.getvalue().count("waiting news") == 1 and "not here" not in out.getvalue()


def test_the_console_delivers_what_it_has_shown_in_any_channel_and_nothing_else(console_bot, db):
    outbox = console_bot.services.outbox
    out = io.StringIO()
    feed = ChannelFeed(db, "console:lanji", out=out)
    outbox.send(channel="console:lanji", message=Message(title="for lanji"), key="l")
    feed.show_new()
    feed.switch("console:xiaochu")  # within the 10 s grace: the lanji answer is shown, not yet delivered
    outbox.send(channel="console:lanji", message=Message(title="lanji after the switch"), key="l2")
    outbox.send(channel="console:team", message=Message(title="for team"), key="t")
    outbox.drain(platform="console", only_ids=feed.displayed_ids())
    assert [_status(db, k) for k in ("l", "l2", "t")] == ["sent", "pending", "pending"]
    feed.switch("console:lanji")  # back: the delivered answer is not shown again, the unseen one is
    text = out.getvalue()
    assert text.count("for lanji") == 1 and text.count("lanji after the switch") == 1 and "for team" not in text


def test_switching_channel_shows_the_old_channels_news_first_then_only_the_new_channels(serve_bot, db):
    out = io.StringIO()
    feed = ChannelFeed(db, "console:lanji", out=out)
    serve_bot.services.outbox.send(channel="console:lanji", message=Message(title="for lanji"), key="l1")
    serve_bot.services.outbox.send(channel="console:xiaochu", message=Message(title="xiaochu before"), key="x1")
    feed.switch("console:xiaochu")
    serve_bot.services.outbox.send(channel="console:xiaochu", message=Message(title="xiaochu after"), key="x2")
    feed.show_new()
    text = out.getvalue()
    # "xiaochu before" was never delivered (nobody has shown it): the newly opened channel shows it first
    assert text.count("for lanji") == 1 and text.count("xiaochu before") == 1 and text.count("xiaochu after") == 1
    assert text.index("xiaochu before") < text.index("xiaochu after")


def test_a_message_arriving_at_the_prompt_is_written_before_the_prompt_again(serve_bot, db):
    out = io.StringIO()
    feed = ChannelFeed(db, "console:lanji", out=out)
    feed.show_prompt("[lanji]> ")
    serve_bot.services.outbox.send(channel="console:lanji", message=Message(title=ALERT), key="a1")
    feed.show_new()
    assert out.getvalue().endswith(f"== {ALERT} ==\n[lanji]> ")
    assert out.getvalue().startswith("[lanji]> \n#lanji\n")


def test_a_second_console_run_is_not_taken_for_a_repeat_of_the_first(bot, capsys):
    # Event ids were "console-N-<id(bot)>": a second run whose app sat at the same address (or this reuse)
    # had its first commands dropped as duplicates of the first run's.
    bot.console.echo = io.StringIO()
    repl(bot, channel="lanji", user="alice", stdin=io.StringIO("/help crisis\n"))
    repl(bot, channel="lanji", user="alice", stdin=io.StringIO("/help crisis\n"))
    assert len(bot.console.messages("lanji")) == 2


def test_quit_in_piped_input_says_the_rest_was_not_run(bot, capsys):
    bot.console.echo = io.StringIO()
    code = repl(bot, channel="lanji", user="alice", stdin=io.StringIO("/help\nquit\n/crisis list\n\n#xiaochu\n"))
    assert code == 0
    out = capsys.readouterr().out
    assert "已退出：输入中 quit 之后的 2 行未执行 / quit: the 2 line(s) after it in the input were not run" in out
    assert len(bot.console.messages()) == 1  # /help only
    assert "[xiaochu]>" not in out


@pytest.mark.parametrize("word", ["exit", "退出"])
def test_every_quit_word_says_so(bot, capsys, word):
    bot.console.echo = io.StringIO()
    repl(bot, channel="lanji", user="alice", stdin=io.StringIO(f"{word}\n/help\n"))
    assert f"已退出：输入中 {word} 之后的 1 行未执行" in capsys.readouterr().out
    assert bot.console.messages() == []


def test_quit_as_the_last_line_says_nothing_more(bot, capsys):
    bot.console.echo = io.StringIO()
    repl(bot, channel="lanji", user="alice", stdin=io.StringIO("/help\nquit\n\n"))
    assert "未执行" not in capsys.readouterr().out


def test_a_console_alone_delivers_what_it_queued_before_it_exits(settings, app_config, tmp_path, monkeypatch, capsys):
    # Its worker leaves rows to a serve for 10 s; with no serve running, a piped run that ended sooner
    # left its answers pending, and the next `serve` printed them all again in its terminal.
    from bot.console_repl import run_console
    from bot.storage.db import Database

    url = f"sqlite:///{tmp_path / 'console.db'}"
    monkeypatch.setattr("sys.stdin", io.StringIO("/help crisis\n"))
    assert run_console(settings.model_copy(update={"database_url": url}), app_config,
                       channel="console:lanji", user="alice") == 0
    assert capsys.readouterr().out.count("#lanji") == 1
    database = Database(url)
    try:
        with database.session() as session:
            statuses = session.exec(select(OutboxMessage.status).where(OutboxMessage.channel == "console:lanji")).all()
    finally:
        database.dispose()
    assert statuses == ["sent"]



def test_a_console_never_takes_serves_slack_messages(settings, app_config, tmp_path, monkeypatch, capsys):
    # A console started from a shell without Slack credentials took the Slack rows serve had not taken
    # within 10 s (a deploy, an alert storm) and at its exit, failed them as "not enabled" and pushed their
    # next attempt back.
    from bot.console_repl import run_console

    here = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'console.db'}"})
    serve_side = build_app(here, app_config)
    try:
        serve_side.services.outbox.send(channel="slack:C1", message=Message(title="sev1 for slack"), key="s1")
    finally:
        serve_side.close()
    monkeypatch.setattr("sys.stdin", io.StringIO("/help crisis\n"))
    assert run_console(here, app_config, channel="console:lanji", user="alice") == 0
    check = build_app(here, app_config)
    try:
        with check.services.db.session() as session:
            row = session.exec(select(OutboxMessage).where(OutboxMessage.key == "s1")).one()
    finally:
        check.close()
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)


def test_switching_back_and_forth_shows_each_message_once(serve_bot, db):
    out = io.StringIO()
    feed = ChannelFeed(db, "console:lanji", out=out)
    serve_bot.services.outbox.send(channel="console:lanji", message=Message(title="已监控风险词「甲」"), key="w1")
    feed.show_new()  # this terminal's own answer: shown, waiting 10 s for delivery
    for channel in ("console:xiaochu", "console:lanji", "console:xiaochu", "console:lanji"):
        feed.switch(channel)
    assert out.getvalue().count("已监控风险词「甲」") == 1


def test_a_notice_updated_many_times_while_nobody_watched_is_shown_once_in_its_newest_version(serve_bot, db):
    outbox = serve_bot.services.outbox
    outbox.send(channel="console:lanji", message=Message(title="风险词「过敏」：收到 47 条"), key="risk")
    for count in (89, 98, 983):  # an import updates the notice batch after batch
        outbox.send(channel="console:lanji", message=Message(title=f"风险词「过敏」：收到 {count} 条"),
                    key=f"risk:v{count}", update_of="risk")
    out = io.StringIO()
    feed = ChannelFeed(db, "console:lanji", out=out)
    assert feed.show_waiting() == 1
    text = out.getvalue()
    assert "收到 983 条" in text and "收到 47 条" not in text and "收到 98 条" not in text
    assert "已更新" not in text  # nobody saw the first version: the newest is shown as the message itself


def test_a_long_open_console_forgets_the_ids_of_messages_already_delivered(serve_bot, db, monkeypatch):
    # kept forever, every id it ever showed went into the worker's IN (...) list each second
    monkeypatch.setattr("bot.console_repl.DISPLAYED_PRUNE_AT", 5)
    outbox = serve_bot.services.outbox
    out = io.StringIO()
    feed = ChannelFeed(db, "console:lanji", out=out)
    for n in range(12):
        outbox.send(channel="console:lanji", message=Message(title=f"m{n}"), key=f"m{n}")
    feed.show_new()
    outbox.drain()  # serve delivered them all
    outbox.send(channel="console:lanji", message=Message(title="still waiting"), key="w")
    feed.show_new()
    assert len(feed.displayed) == 13
    shown = feed.displayed_ids()
    waiting_id = max(shown)
    assert shown == {waiting_id}  # the delivered ones are dropped, the shown one still pending is kept
    outbox.drain(platform="console", only_ids=feed.displayed_ids())
    assert _status(db, "w") == "sent"
