"""The console channel: type the same commands as on Slack or Feishu; buttons via /press.

`crisisbot console` shows its open channel's messages from the outbox table (ChannelFeed), whichever
process delivers them, so alerts that `serve` raises beside it show in it too; `serve --console` prints
what its own worker delivers, as before."""

from __future__ import annotations

import getpass
import itertools
import logging
import sys
import threading
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, TextIO

from sqlmodel import select

from bot.adapters.console.render import takes_reason
from bot.adapters.console.terminal import above_prompt, shows_styles, terminal_width, typed_so_far
from bot.config import CHAT_PLATFORMS, AppConfig, Settings
from bot.handlers.registry import UsageError, command_word, tokenize_spans
from bot.i18n import EnglishToo, in_language
from bot.messages import Action, Command, Message
from bot.outbox import SUPERSEDED, UPDATE_KINDS
from bot.storage.models import OutboxMessage

log = logging.getLogger(__name__)

QUIT_WORDS = ("quit", "exit", "/quit", "退出")
FEED_POLL_S = 1.0  # how soon an alert posted by `serve` shows in an open console
# A `crisisbot console` delivers (marks sent) only console-channel rows that have waited this long: beside a
# running `serve` its worker, which takes a due row within half a second, stays the one that delivers (and
# its terminal shows every console message, as before); with no serve running, nothing waits for ever.
# Slack and Feishu rows are serve's alone (a console may run without their credentials).
CONSOLE_DELIVERY_GRACE_S = 10.0
# Rows are read by id; on PostgreSQL a transaction can commit a lower id after a higher one is visible, so
# the feed looks this many ids back for rows it has not shown yet.
LATE_ID_WINDOW = 100
DISPLAYED_PRUNE_AT = 500  # shown ids kept before the delivered ones among them are dropped
UNREAD_WAIT_S = 1.0  # after quit: how long to wait for the end of piped input, to count what it skips

BANNER_EN = ("Type /help for commands; /press ACTION_ID VALUE [REASON…] presses a button (a skip needs a reason); "
             "#channel switches; quit exits.")
BANNER = ("crisisbot 控制台 / console — 输入 /help 查看命令；/press 动作ID 值 [原因…] 按下按钮（跳过要写原因）；"
          "#频道 切换频道；quit 退出\n" + BANNER_EN)
PRESS_USAGE = ("用法 / usage: /press ACTION_ID [VALUE] [原因…]（跳过、驳回的原因写在值后面，如 /press crisis.skip 1:spread "
               "未扩散 / a skip's or a rejection's reason follows the value)")
PRESS_USAGE_EN = ("usage: /press ACTION_ID [VALUE] [REASON…] (a skip's or a rejection's reason follows the value, "
                  "e.g. /press crisis.skip 1:spread handled by direct message)")


def press_value_and_form(action_id: str, words: list[str]) -> tuple[str, dict[str, str]]:
    """The words after `/press ACTION_ID` -> (the button's value, the form typed with it).

    A button that reads a reason (skip, reject: what Slack asks in a modal and the Feishu card in a form)
    takes the first word as its value and the rest of the line as the reason: `/press crisis.skip 1:spread
    已由客服私信处理`. Any other button takes the whole rest as its value (an answer may hold spaces)."""
    if takes_reason(action_id) and words:
        reason = " ".join(words[1:]).strip()
        return words[0], ({"reason": reason} if reason else {})
    return " ".join(words), {}


def press_words(line: str) -> list[str] | None:
    """The words after `/press` when `line` presses a button, else None (a command for the dispatcher).

    Read as the other commands are (`parse_command_line`): a full-width slash or letters and any case
    ("／press", "/PRESS": a Chinese input method), words split at any space, the full-width one too, and a
    quoted word kept whole. "／press …" went to the dispatcher as an unknown command ("did you mean
    /crisis?"), and "/press　reply.claim:7 7" pressed a button named "7"."""
    text = line.strip()
    if text[:1] not in ("/", "／"):
        return None
    try:
        words = [word for word, _start, _end in tokenize_spans(text[1:])]
    except UsageError:  # an unclosed quote: the words as typed
        words = text[1:].split()
    if not words or command_word(words[0]) != "press":
        return None
    return words[1:]


class ChannelNameError(EnglishToo, ValueError):
    """A console channel name the console cannot open; `en`: the same in English alone (`in_language`)."""


def console_channel(value: str) -> str:
    """The console channel address ("console:NAME") for what the user typed: a name ("lanji") or the
    address the config and the rest of the bot use ("console:lanji"), so both open the same channel.
    ValueError (a "中文 / English" message) for an empty name or another chat platform's address: the
    console cannot post to Slack or Feishu."""
    text = (value or "").strip().removeprefix("#").strip()
    platform, sep, rest = text.partition(":")
    if sep and platform.strip().lower() == "console":
        text = rest.strip()
    elif sep and platform.strip().lower() in CHAT_PLATFORMS:
        english = f"the console opens console channels only; {value!r} is a {platform} channel"
        raise ChannelNameError(f"控制台只能打开 console 频道，{value!r} 属于 {platform} / {english}", en=english)
    if not text:
        english = "the channel name is empty (e.g. lanji or console:lanji)"
        raise ChannelNameError(f"频道名不能为空 / {english}", en=english)
    return f"console:{text}"


def unconfigured_warning(config: AppConfig, address: str) -> str | None:
    """A warning when `address` is no configured channel: it then sees no client's accounts, so every
    answer would look empty (an empty reply queue, no runs) rather than wrong. In English alone when the
    configured language is English (an unconfigured channel has none of its own)."""
    from bot.scope import ChannelScope

    known = ChannelScope(config).known_channels()
    if address in known:
        return None
    english = (f"warning: channel {address} is not configured: it sees no client's accounts "
               f"(configured: {', '.join(known)})")
    if config.channel_language(address) == "en":
        return english
    return f"注意：频道 {address} 未配置，看不到任何客户的账号 / {english}"


class ChannelFeed:
    """What `crisisbot console` shows: the messages posted to the console channel open in it, read from the
    outbox table (where every message ends up, whichever process queued or delivered it).

    Another process on the same database (`serve` raising an alert, sending a reminder or a report, or a
    second console) puts its console messages there; whoever delivers them, this terminal shows those of
    its open channel posted after it started, once each, by id: right after each command it runs (its
    own answers, in order with its input), and every `FEED_POLL_S` seconds from a background thread,
    written around the prompt so a half-typed line stays usable."""

    def __init__(self, db, channel: str, *, out: TextIO | None = None, interactive: bool = False,
                 language: Callable[[str], str] | None = None) -> None:
        self.db = db
        self.channel = channel
        # a channel's language (config): its messages' own notes ([image: …], (updated)) in English alone in
        # an English channel, as serve's console prints them
        self.language = language
        self.out = out
        self.interactive = interactive
        self.lock = threading.RLock()  # one writer at a time: the feed thread and the REPL's own output
        self.prompt: str | None = None  # on screen, waiting for a line
        self._start = self._last = self._newest_id()
        self._shown: set[int] = set()
        # every row written to this terminal (any channel it had open): the console's worker delivers only
        # these, so a message is marked delivered only once somebody has seen it
        self.displayed: set[int] = set()
        self._prune_at = DISPLAYED_PRUNE_AT
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def _newest_id(self) -> int:
        with self.db.session() as session:
            newest = session.exec(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)).first()
        return int(newest or 0)

    def _write(self, text: str) -> None:
        out = self.out or sys.stdout  # looked up late: a test runner may swap sys.stdout
        out.write(text)
        out.flush()

    def show_prompt(self, prompt: str, *, write: bool = True) -> None:
        with self.lock:
            self.prompt = prompt
            if write:
                self._write(prompt)

    def prompt_answered(self) -> None:
        with self.lock:
            self.prompt = None

    def say(self, text: str) -> None:
        """A line of the REPL's own (an error, a warning), not mixed into a message being written."""
        with self.lock:
            self._write(text + "\n")

    def displayed_ids(self) -> set[int]:
        """A copy of `displayed` (the feed thread adds to it).

        Rows delivered since (by this console's worker or by a `serve`) are dropped from it once it holds
        `DISPLAYED_PRUNE_AT` or twice as many as after the last pruning: a console left open for days kept
        every id it ever showed, and the worker sent them all in one `IN (...)` list each second."""
        with self.lock:
            if len(self.displayed) >= self._prune_at:
                self._keep_only_pending_displayed()
            return set(self.displayed)

    def _keep_only_pending_displayed(self) -> None:
        query = select(OutboxMessage.id).where(OutboxMessage.status == "pending",
                                               OutboxMessage.id >= min(self.displayed))
        with self.db.session() as session:
            pending = set(session.exec(query).all())
        self.displayed &= pending
        self._prune_at = max(DISPLAYED_PRUNE_AT, 2 * len(self.displayed))

    def switch(self, channel: str) -> None:
        """Open another channel: what the old one got so far is shown first; the new one shows what is
        still waiting for it, then what is posted from now on."""
        with self.lock:
            self.show_new()
            self.channel = channel
            self._start = self._last = max(self._last, self._newest_id())
            self._shown.clear()
            self.show_waiting()

    def show_waiting(self) -> int:
        """Write the open channel's messages queued before it was opened and not delivered yet (a `poll` or
        an `ingest` without `serve` queued them; nobody has shown them): how many. They would otherwise be
        marked delivered by this console's worker without ever reaching a screen.

        Each message once, in its newest version (an import queues a risk-word notice and then an update of
        it per batch: hundreds of versions of a few notices), and none this terminal has shown already (its
        own answers wait 10 s for delivery; switching back and forth showed them again)."""
        with self.lock:
            query = select(OutboxMessage.id, OutboxMessage.key, OutboxMessage.kind, OutboxMessage.update_of,
                           OutboxMessage.payload).where(
                OutboxMessage.channel == self.channel, OutboxMessage.status == "pending",
                OutboxMessage.id <= self._start)
            with self.db.session() as session:
                rows = session.execute(query.order_by(OutboxMessage.id)).all()
            newest: dict[str, Any] = {}  # message key -> its newest waiting version
            unsent_originals: set[str] = set()
            for row in rows:
                if row.id in self.displayed:
                    continue
                message_key = row.update_of if row.kind in UPDATE_KINDS and row.update_of else row.key
                if row.kind not in UPDATE_KINDS:
                    unsent_originals.add(row.key)
                newest.pop(message_key, None)  # re-inserted: the dict keeps the order of the newest versions
                newest[message_key] = row
            texts = [self._render(Message.from_dict(row.payload),
                                  updated=row.kind in UPDATE_KINDS and key not in unsent_originals)
                     for key, row in newest.items()]
            # the older versions count as shown: the newest stands for them
            self.displayed.update(row.id for row in rows)
            if texts:
                self._write_messages(texts)
            return len(texts)

    def show_new(self) -> int:
        """Write the open channel's messages not shown yet; how many."""
        with self.lock:
            floor = max(self._start, self._last - LATE_ID_WINDOW)
            query = select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.status, OutboxMessage.payload).where(
                OutboxMessage.channel == self.channel, OutboxMessage.id > floor)
            if self._shown:
                query = query.where(OutboxMessage.id.not_in(sorted(self._shown)))
            with self.db.session() as session:
                rows = session.execute(query.order_by(OutboxMessage.id)).all()
            texts = []
            for row_id, kind, status, payload in rows:
                self._last = max(self._last, row_id)
                self._shown.add(row_id)
                if status == SUPERSEDED:
                    continue  # a newer version of the same message follows
                texts.append(self._render(Message.from_dict(payload), updated=kind in UPDATE_KINDS))
                self.displayed.add(row_id)
            floor = max(self._start, self._last - LATE_ID_WINDOW)
            self._shown = {row_id for row_id in self._shown if row_id > floor}
            if texts:
                self._write_messages(texts)
            return len(texts)

    def _render(self, message: Message, *, updated: bool) -> str:
        from bot.adapters.console.render import render_text

        # the same form the console adapter prints in serve's terminal
        lang = self.language(self.channel) if self.language else "zh"
        out = self.out or sys.stdout
        text = render_text(message, updated=updated, width=terminal_width(out), lang=lang, styled=shows_styles(out))
        return f"\n#{self.channel.removeprefix('console:')}\n{text}\n"

    def _write_messages(self, texts: list[str]) -> None:
        # Arrived while the prompt waits for input: the messages on lines of their own, then the prompt
        # again (on a terminal, also what was typed so far, which stays in the line being edited).
        typed = typed_so_far() if self.interactive and self.prompt is not None else ""
        self._write(above_prompt("".join(texts), self.prompt, interactive=self.interactive, typed=typed))

    # ---- the background thread -------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="console-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(FEED_POLL_S):
            try:
                self.show_new()
            except Exception:  # noqa: BLE001 - e.g. the database is briefly away: say so once, keep trying
                if not self._failing:
                    log.warning("console: could not read the channel's new messages; retrying", exc_info=True)
                self._failing = True
            else:
                self._failing = False


def _unread_lines(stdin) -> tuple[int, bool]:
    """After quit: (the non-empty lines piped input still held, whether its end was reached). Read in a
    thread, waiting at most `UNREAD_WAIT_S` for the end: a script may keep the pipe open."""
    found: list[str] = []
    ended = threading.Event()

    def read() -> None:
        try:
            for line in stdin:
                if line.strip().lstrip("\ufeff").strip():
                    found.append(line)
        except (OSError, ValueError):  # closed, or not text
            pass
        finally:
            ended.set()

    threading.Thread(target=read, name="console-rest", daemon=True).start()
    ended.wait(UNREAD_WAIT_S)
    return len(found), ended.is_set()


def quit_notice(word: str, lines_left: int, ended: bool, lang: str = "zh") -> str | None:
    """What to say when `word` (quit, exit …) ended piped input that had more lines: they were not run
    (`lang` "en": in English alone, for a channel set to English)."""
    if lines_left <= 0:
        return None
    if lang == "en":
        return (f"{word}: the {lines_left} line(s) after it in the input were not run" if ended else
                f"{word}: at least {lines_left} line(s) after it in the input were not run")
    if ended:
        return (f"已退出：输入中 {word} 之后的 {lines_left} 行未执行 / {word}: the {lines_left} line(s) after it "
                f"in the input were not run")
    return (f"已退出：输入中 {word} 之后至少还有 {lines_left} 行未执行 / {word}: at least {lines_left} line(s) "
            f"after it in the input were not run")


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def repl(bot, *, channel: str, user: str, stdin=None, feed: ChannelFeed | None = None,
         on_quit: Callable[[], None] | None = None) -> int:
    """Read commands line by line and run them in the open channel.

    Without `feed` (serve --console) the answers are delivered at once by this process, whose console
    adapter prints them; with one (`crisisbot console`) the feed shows the open channel's messages.
    `on_quit` is called when a quit word (not the end of the input) ends it: serve reading piped input
    stops then, while the end of that input leaves it serving."""
    stdin = stdin or sys.stdin
    # Unique per run: event ids are remembered in the database (a repeat is dropped as a duplicate), and a
    # second console, or the next run, on the same database must not reuse this one's.
    session_id = uuid.uuid4().hex[:12]
    counter = itertools.count(1)
    current = console_channel(channel).removeprefix("console:")
    # On a terminal, input() with readline: line editing, and the feed can redraw what was typed so far.
    # serve --console (no feed) too: its console port writes the messages its outbox worker delivers above
    # the prompt, as the feed does; before, they pushed the prompt off the screen and arrow keys printed ^[[A.
    interactive = stdin is sys.stdin and _is_terminal(stdin) and _is_terminal(sys.stdout)
    if interactive:
        try:
            import readline  # noqa: F401 - imported for input()'s line editing
        except ImportError:  # pragma: no cover
            pass
    if feed is not None:
        feed.interactive = interactive
    # Piped or redirected input is not echoed by a terminal: each line is written after its prompt, so that
    # the transcript shows which command each answer belongs to (it showed bare prompts: "[lanji]> [lanji]> ").
    echo_input = not _is_terminal(stdin)

    def say(text: str) -> None:
        if feed is not None:
            feed.say(text)
        else:
            print(text, flush=True)

    def show_prompt(prompt: str) -> None:
        if feed is not None:
            feed.show_prompt(prompt, write=not interactive)
        else:
            bot.console.show_prompt(prompt, out=None if interactive else sys.stdout, interactive=interactive)

    def prompt_answered(line: str) -> None:
        if echo_input:
            say(line.rstrip("\r\n").lstrip("\ufeff"))  # at the end of the input (""): the last prompt's line ends
        elif not line:
            say("")  # Ctrl-D on a terminal: what follows (serve's "stopped") starts on a line of its own
        if feed is not None:
            feed.prompt_answered()
        else:
            bot.console.prompt_answered()

    # The further lines of a block pasted at once, each a command of its own. Readline (8.1 on: bracketed
    # paste) returns a pasted "/crisis status⏎/help" as one line with its line breaks inside: it ran as one
    # command, and /help became a word of it.
    pasted: deque[str] = deque()

    def lang() -> str:
        # the open channel's language: its own texts below (a /press usage, a refused #channel, the quit
        # notice) are in English alone in a channel set to English, as the dispatcher's answers are there
        return bot.services.config.channel_language(f"console:{current}")

    print(BANNER_EN if lang() == "en" else BANNER, flush=True)
    while True:
        prompt = f"[{current}]> "
        if pasted:
            line = pasted.popleft()
            if line.strip():
                say(prompt + line)  # after its prompt, as if typed: the answers below are this command's
        else:
            show_prompt(prompt)
            if interactive:
                try:
                    line = input(prompt) + "\n"
                except EOFError:
                    line = ""
            else:
                line = stdin.readline()
            prompt_answered(line)
            if not line:
                return 0
            line, *rest = line.splitlines() or [""]
            pasted.extend(rest)
        # a command file saved by Windows Notepad starts with a UTF-8 BOM: "\ufeff#lanji" is still a switch
        line = line.strip().lstrip("\ufeff").strip()
        if not line:
            continue
        if line in QUIT_WORDS:
            # a quit in the middle of a pasted block or a command file must not end it silently
            left, ended = sum(1 for rest in pasted if rest.strip()), True
            if not interactive and not _is_terminal(stdin):
                unread, ended = _unread_lines(stdin)
                left += unread
            notice = quit_notice(line, left, ended, lang())
            if notice:
                say(notice)
            if on_quit is not None:
                on_quit()
            return 0
        if line.startswith("#"):
            if not line[1:].strip():
                continue  # a bare "#" keeps the channel
            try:
                address = console_channel(line[1:])
            except ValueError as exc:
                say(f"error: {in_language(exc, 'en')}" if lang() == "en" else f"错误 / error: {exc}")
                continue
            warning = unconfigured_warning(bot.services.config, address)
            if warning:
                say(warning)
            current = address.removeprefix("console:")
            if feed is not None:
                feed.switch(address)
            continue
        event_id = f"console-{session_id}-{next(counter)}"
        words = press_words(line)
        if words is not None:
            if not words:
                say(PRESS_USAGE_EN if lang() == "en" else PRESS_USAGE)
                continue
            value, form = press_value_and_form(words[0], words[1:])
            item = Action("console", f"console:{current}", f"console:{user}", words[0], value, form=form,
                          user_name=user, event_id=event_id)
        else:
            item = Command("console", f"console:{current}", f"console:{user}", line, user_name=user, event_id=event_id)
        try:
            bot.dispatcher.handle(item)
            if feed is None:
                bot.services.outbox.drain()
        except Exception as exc:  # noqa: BLE001 - e.g. the database is away: say so, and read the next line
            log.exception("console command failed: %s", line[:80])
            english = f"the command failed ({type(exc).__name__}); see the log"
            say(f"error: {english}" if lang() == "en" else
                f"错误 / error: 命令未能执行（{type(exc).__name__}），详见日志 / {english}")
            continue
        if feed is not None:
            try:
                feed.show_new()  # the answers, now, before the next prompt (delivering is serve's)
            except Exception:  # noqa: BLE001 - the command ran; the feed thread shows them once it can read
                log.warning("console: could not read the answers yet; they follow", exc_info=True)


def run_console(settings: Settings, config: AppConfig, *, channel: str, user: str) -> int:
    """`crisisbot console`: a channel, not a second bot. It runs the commands typed in it and shows its
    channel's messages (ChannelFeed); the scheduler (polls, reminders, reports), the alert checks, the
    Slack/Feishu connections and prompt delivery stay with `serve`, so a console beside it neither does
    them twice nor takes its events. Its outbox worker only delivers what no serve took
    (CONSOLE_DELIVERY_GRACE_S), and only rows its feed has shown (`ChannelFeed.displayed`), printing nothing:
    the feed shows each message once. Rows nobody has seen stay queued for whoever opens their channel."""
    from bot.app import build_app

    bot = build_app(settings, config)  # no console echo: delivering here must not print a second copy
    stop = threading.Event()
    feed = ChannelFeed(bot.services.db, console_channel(channel), language=bot.services.config.channel_language)
    worker = threading.Thread(target=bot.services.outbox.run_worker, args=(stop,),
                              kwargs={"idle_wait": 1.0, "grace": CONSOLE_DELIVERY_GRACE_S, "platform": "console",
                                      "only_ids": feed.displayed_ids},
                              name="outbox", daemon=True)
    feed.show_waiting()  # before the worker can mark them delivered
    worker.start()
    feed.start()
    try:
        return repl(bot, channel=channel, user=user or getpass.getuser(), feed=feed)
    finally:
        feed.stop()
        try:
            # what this console showed and no serve took yet is delivered now (marked sent): left pending,
            # the next console or `serve` would show it again. What nobody has seen waits.
            bot.services.outbox.drain(platform="console", only_ids=feed.displayed_ids())
        except Exception:  # noqa: BLE001 - e.g. the database is away: the rows stay queued, nothing is lost
            log.warning("console: delivering what is still queued failed; it stays queued", exc_info=True)
        stop.set()
        bot.services.outbox.notify()
        worker.join(timeout=10)
        bot.services.dispatcher.shutdown()
        bot.close()
