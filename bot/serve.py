"""`crisisbot serve`: the web server, background workers, the console and the demo replay."""

from __future__ import annotations

import gc
import itertools
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client import Counter as PromCounter

from bot.adapters.console.terminal import above_prompt, typed_so_far
from bot.clock import ReplayClock
from bot.config import AppConfig, Settings, database_url_and_source
from bot.demo import SAMPLE_CRISIS_STARTS
from bot.feeds.records import parse_time
from bot.log_limits import RefusalLog
from bot.messages import Message

log = logging.getLogger(__name__)

# How far feed time moves per step when the replay runs as fast as it can (the history, --exit-after-replay):
# one alert bucket. Ticks between two bucket ends had nothing to judge, and comments taken a bucket at a time
# are stored in a fifth as many batches; at one minute the history took twice as long for the same messages.
REPLAY_STEP = timedelta(minutes=5)
# The demo loads the first 60% of the sample feed at once as history, then plays the rest (the crisis
# evening included) at the replay speed, so the alert shows up about a minute after `make run` starts.
FAST_FORWARD = 0.6
# Once the sample crisis's first alert is posted, the replay goes on at this speed at most (feed seconds per
# real second). At 600x the alert recovered about 30 s after it appeared, its buttons gone before a new user
# had read it ("状态未变：该告警已恢复"). At 10x the spike still grows visibly (the alert is updated as it
# does), an alert nobody acknowledges escalates after its 15 minutes (90 s), and it stays open about half an
# hour; real time would leave the screen still for many minutes.
SPEED_AFTER_ALERT = 10.0
# About how long loading the history takes (run_fast over ~2 days of feed, a tick per 5-minute bucket): 15-20 s
# on 2 cores (35-65 s when it ticked every minute).
HISTORY_LOAD_S = 20.0
# The reply reminders job (bot/replies/wiring.py): on the wall clock, its first run a minute after start.
REMINDERS_JOB = "reply-queue-reminders"


def load_sample_feed() -> list[dict[str, Any]]:
    """The bundled sample feed, sorted by time (regenerate with scripts/make_sample_feed.py)."""
    try:
        text = resources.files("bot.demo").joinpath("sample_feed.jsonl").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        return []
    records = [json.loads(line) for line in text.split("\n") if line.strip()]
    records.sort(key=lambda r: parse_time(r["created_at"]))
    return records


class DemoReplay:
    """Feeds the sample comments into the ingestion path as the (replay) clock reaches their times."""

    def __init__(self, bot, records: list[dict[str, Any]], clock: ReplayClock) -> None:
        self.bot = bot
        self.records = records
        self.clock = clock
        self.position = 0
        self.accepted = 0
        self.zone = bot.services.config.zone()

    def _ingest_until(self, until: datetime) -> None:
        batch = []
        while self.position < len(self.records) and parse_time(self.records[self.position]["created_at"]) <= until:
            batch.append(self.records[self.position])
            self.position += 1
        if batch:
            report = self.bot.services.ingest.ingest_records(batch, source="demo")
            self.accepted += report.accepted

    def run_ticks(self) -> None:
        for tick in self.bot.wiring.ticks:
            try:
                tick()
            except Exception:  # noqa: BLE001 - keep replaying; the failure is logged
                log.exception("tick failed during replay")

    @property
    def done(self) -> bool:
        return self.position >= len(self.records)

    def run_fast(self, until: datetime | None = None) -> None:
        """As fast as possible: step simulated time, ingest, run the ticks, deliver."""
        if not self.records:
            return
        step_end = max(parse_time(self.records[0]["created_at"]), self.clock.now())
        while not self.done and (until is None or step_end < until):
            step_end += REPLAY_STEP
            self.clock.advance_to(step_end)
            self._ingest_until(step_end)
            self.run_ticks()
            self.bot.services.outbox.drain()
        if until is not None:
            return
        # The feed is over: let the last buckets close.
        for _ in range(12):
            step_end += timedelta(minutes=5)
            self.clock.advance_to(step_end)
            self.run_ticks()
        self.bot.services.outbox.drain()

    def load_history(self, fast_forward: float = FAST_FORWARD) -> WithheldHistory:
        """Load the older part of the feed at once, as history, without showing what it posts by itself
        (`WithheldHistory`); say in one line what was loaded and left out. Returns what was withheld."""
        first = parse_time(self.records[0]["created_at"])
        last = parse_time(self.records[-1]["created_at"])
        with withheld_history(self.bot, feed_start=first) as withheld:
            self.run_fast(until=first + (last - first) * fast_forward)
            self._remind_of_history()
            self.bot.services.outbox.drain()
        log.info("demo: %d comments of history loaded; playing the rest live", self.position)
        up_to = self.clock.now().astimezone(self.zone).strftime("%m-%d %H:%M")
        say_above_prompt(self.bot, history_summary(self.position, up_to, withheld.counts))
        return withheld

    def _remind_of_history(self) -> None:
        """Run the reply reminders now, while the history is withheld, and their next run one interval later.
        They run on the wall clock (every 15 minutes, the first a minute after start) while feed time runs
        600 times faster: their first run came just after the history, two cards listing its whole backlog
        (329 and 272 comments) right before the sample crisis."""
        job = self.bot.wiring.scheduler.get_job(REMINDERS_JOB)
        if job is None:  # reminders are off
            return
        now = datetime.now(UTC)
        # not yet run (its first run is a minute after start; after a run the next is an interval away):
        # on a slow machine it ran during the history already, withheld like the rest
        if job.next_run_time is not None and job.next_run_time - now < job.trigger.interval / 2:
            job.func()
        job.modify(next_run_time=now + job.trigger.interval)

    def slow_down_after_alert(self, speed: float = SPEED_AFTER_ALERT) -> bool:
        """Once the first alert is posted, go on at `speed` at most (SPEED_AFTER_ALERT says why), and say so.
        True once that is done (whether or not the clock was faster)."""
        if not _sample_crisis_alerted(self.bot):
            return False
        if isinstance(self.clock, ReplayClock) and self.clock.speed > speed:
            self.clock.slow_to(speed)
            say_above_prompt(self.bot, f"演示：告警已发出，回放放慢到 {speed:g} 倍速，告警会保持约半小时，可按提示输入 "
                             f"/press 试按钮 / demo: the alert is out; the replay slows to {speed:g}x, so it stays "
                             "open for about half an hour: try its buttons with the /press lines shown under it")
        return True

    def run_realtime(self, stop: threading.Event, *, fast_forward: float = FAST_FORWARD) -> None:
        """Load the older part of the feed at once as history, then play the rest at the clock's speed,
        slowed down once the first alert is posted."""
        if self.records and fast_forward > 0:
            self.load_history(fast_forward)
        last_report = time.monotonic()
        finished = False
        slowed = False
        # Simulated time runs fast, so the ticks run here, every half second, not on the scheduler.
        while not stop.is_set():
            self._ingest_until(self.clock.now())
            self.run_ticks()
            if not slowed:
                slowed = self.slow_down_after_alert()
            if time.monotonic() - last_report > 15 and not self.done:
                shown = self.clock.now().astimezone(self.zone).strftime("%m-%d %H:%M")
                say_above_prompt(self.bot, f"演示回放 / replay: {self.position}/{len(self.records)} 条评论 comments, "
                                 f"模拟时间 feed time {shown}")
                last_report = time.monotonic()
            if self.done and not finished:
                finished = True
                say_above_prompt(self.bot, f"演示回放结束 / replay finished: {len(self.records)} 条评论 comments")
            stop.wait(0.5)


def say_above_prompt(bot, text: str) -> None:
    """A line of the demo's own (what was loaded, the replay's progress), written above the console prompt
    when one waits, as the console port writes messages: printed after it, the line followed the prompt
    ("[lanji]> 演示回放 …") and the prompt was gone from under it."""
    console = bot.console
    if console.echo is None:
        print(text, flush=True)
        return
    prompt = console.prompt
    typed = typed_so_far() if console.interactive and prompt is not None else ""
    body = f"\n{text}\n" if prompt is not None else f"{text}\n"  # after a prompt: on a line of its own
    console.echo.write(above_prompt(body, prompt, interactive=console.interactive, typed=typed))
    console.echo.flush()


class WithheldHistory:
    """The console port while the demo loads its history: what the history posts by itself (scheduled
    reports, reply reminders, notices) is counted, not printed. Six reports and two 25-line reminders
    flooded the terminal before anything said what the demo does. Answers to what the person types
    meanwhile (/help) print as usual; anything else is the console port's."""

    def __init__(self, console, *, feed_start: datetime) -> None:
        self.console = console
        self.feed_start = feed_start
        self.counts: Counter[str] = Counter()
        self._withheld: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:  # platform, upload, ...: the console port's
        return getattr(self.console, name)

    def post(self, channel_id: str, message: Message, *, idempotency_key: str,
             maybe_sent_since: datetime | None = None) -> str:
        if "in_reply_to_user" in message.meta:  # the answer to a command typed meanwhile
            return self.console.post(channel_id, message, idempotency_key=idempotency_key)
        kind = withheld_kind(message, self.feed_start)
        with self._lock:
            message_id = f"demo-history-{next(self._ids)}"
            self._withheld.add(message_id)
            if kind is not None:
                self.counts[kind] += 1
        return message_id

    def update(self, channel_id: str, message_id: str, message: Message) -> None:
        if message_id not in self._withheld:
            self.console.update(channel_id, message_id, message)


def withheld_kind(message: Message, feed_start: datetime) -> str | None:
    """What a withheld message counts as in the history's summary line; None: not counted (a report of a
    period that ended before the feed's first comment: empty, it says nothing about the sample)."""
    from bot.replies.render import card_info

    kind = message.meta.get("kind")
    if kind == "report":
        end = message.meta.get("end")
        return None if end and datetime.fromisoformat(end) <= feed_start else "report"
    if card_info(message).get("reminder"):
        return "reminder"
    if kind in ("alert", "escalation", "raised", "unmuted"):
        return "alert"
    return "notice" if kind == "risk_notice" else "other"


#: the summary line's words for each kind of withheld message (zh, en), in this order
WITHHELD_WORDS = (("report", "定时报告 {n:,} 份", "{n:,} scheduled report(s)"),
                  ("reminder", "逾期提醒 {n:,} 条", "{n:,} overdue reminder(s)"),
                  ("alert", "告警消息 {n:,} 条", "{n:,} alert message(s)"),
                  ("notice", "风险提示 {n:,} 条", "{n:,} risk notice(s)"),
                  ("other", "其他消息 {n:,} 条", "{n:,} other message(s)"))


def history_summary(comments: int, up_to: str, counts: Counter[str]) -> str:
    """The one line that stands for everything the history would have posted."""
    zh = "、".join(word.format(n=counts[kind]) for kind, word, _ in WITHHELD_WORDS if counts[kind])
    en = ", ".join(word.format(n=counts[kind]) for kind, _, word in WITHHELD_WORDS if counts[kind])
    head_zh = f"已载入示例历史：{comments:,} 条评论（至 {up_to}）"
    head_en = f"sample history loaded: {comments:,} comments (up to {up_to})"
    if not zh:
        return f"{head_zh} / {head_en}"
    return (f"{head_zh}，其间的{zh}已省略（可用 /报告、/待回复 查看）/ {head_en}; its {en} are not shown "
            "(/report and /reply-queue show them)")


@contextmanager
def withheld_history(bot, *, feed_start: datetime):
    """Deliver console messages through a `WithheldHistory` until the block ends. The caller drains the
    outbox last: a delivery round holds the outbox's lock, so none of the history is left to print after."""
    withheld = WithheldHistory(bot.console, feed_start=feed_start)
    bot.services.outbox.register_port(withheld)
    try:
        yield withheld
    finally:
        bot.services.outbox.register_port(bot.console)


def demo_expectation(records: list[dict[str, Any]], channel: str, speed: float, *, console: bool,
                     fast_forward: float = FAST_FORWARD) -> str:
    """What to expect, said right after the demo banner: where the sample crisis alert appears and about
    when (loading the history, then feed time up to the crisis at `speed`)."""
    first = parse_time(records[0]["created_at"])
    last = parse_time(records[-1]["created_at"])
    live = (parse_time(SAMPLE_CRISIS_STARTS) - (first + (last - first) * fast_forward)).total_seconds()
    wait = HISTORY_LOAD_S + max(0.0, live) / speed
    if wait <= 150:
        zh, en = "约 1–2 分钟", "about 1-2 minutes"
    elif wait < 5400:
        zh, en = f"约 {wait / 60:.0f} 分钟", f"about {wait / 60:.0f} minutes"
    else:
        zh, en = f"约 {wait / 3600:.0f} 小时", f"about {wait / 3600:.0f} hours"
    name = channel.removeprefix("console:")
    if not console:
        return f"示例危机告警{zh}后出现在 #{name} / the sample crisis alert appears in #{name} in {en}"
    return (f"示例危机告警{zh}后出现在 #{name}，期间可试 /help、/待回复 / the sample crisis alert appears in "
            f"#{name} in {en}; meanwhile try /help, /reply-queue")


def fresh_demo_database():
    """The demo replays into its own SQLite file, rebuilt each time, so every `make run` shows the
    crisis again and the demo never mixes with real data in var/crisisbot.db."""
    from bot.storage.db import Database

    path = Path("var") / "demo.db"
    for leftover in (path, path.with_name("demo.db-wal"), path.with_name("demo.db-shm")):
        leftover.unlink(missing_ok=True)
    print(f"演示数据库 / demo database: {path}（每次演示重建 / rebuilt for every demo）", flush=True)
    return Database(f"sqlite:///{path}")


DEMO_LOCK = Path("var") / "demo.db.lock"
#: the demo locks this process holds, by folder: held until the process ends (the kernel lets go of an
#: flock when its holder exits, however it exits: no stale lock to clean up after a kill -9)
_demo_locks: dict[Path, Any] = {}


class DemoAlreadyRunning(Exception):
    """Another process runs the demo in this folder: starting one would delete its var/demo.db."""

    def __init__(self, holder: dict[str, Any]) -> None:
        self.holder = holder
        port, pid = holder.get("port"), holder.get("pid")
        zh = "，".join([*([f"端口 {port}"] if port else []), *([f"进程 {pid}"] if pid else [])])
        en = ", ".join([*([f"port {port}"] if port else []), *([f"pid {pid}"] if pid else [])])
        super().__init__(
            f"本目录已有一个演示在运行{f'（{zh}）' if zh else ''}，它的 var/demo.db 未被改动；"
            "请先停止它，或在另一个目录运行 / another demo is running in this folder"
            f"{f' ({en})' if en else ''}; its var/demo.db was left alone: stop it first, or run this one "
            "from another folder"
        )


def hold_demo_lock(port: int | None) -> None:
    """Claim the folder's demo (var/demo.db.lock) for the rest of the process, or raise `DemoAlreadyRunning`
    naming the demo that holds it. Two demos in one folder shared var/demo.db, and the second one's
    rebuild deleted the first one's data; the bound port alone does not tell them apart (two ports).

    fcntl.flock rather than a library (filelock is not a dependency, and its Unix lock is this same
    flock): the lock goes with the process, whatever ends it. The file is never deleted: removing a lock
    file lets a third process lock a new file while the second still holds the old one."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; the demo runs unguarded, as before
        return
    path = DEMO_LOCK.resolve()
    handle = _demo_locks.get(path)
    if handle is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # held open for the process lifetime: closing it unlocks
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read()
            handle.close()
            try:
                holder = json.loads(text)
            except ValueError:  # the holder has not written its details yet
                holder = {}
            raise DemoAlreadyRunning(holder if isinstance(holder, dict) else {}) from None
        _demo_locks[path] = handle
    # who holds it, for the message a second demo prints
    handle.truncate(0)
    handle.write(json.dumps({"pid": os.getpid(), "port": port}) + "\n")
    handle.flush()


def _sample_crisis_alerted(bot) -> bool:
    return any(m.meta.get("kind") == "alert" for m in bot.console.messages())


def console_start_channel(bot, records: list[dict[str, Any]]) -> str:
    """Where the console prompt opens: in the demo, the console channel that sees the sample feed's busiest
    account (where its crisis alert is posted, so the `/press …` under it works without switching first);
    otherwise `general`."""
    if records:
        busiest = Counter((r.get("platform"), r.get("account_id")) for r in records).most_common(1)[0][0]
        for channel in bot.services.scope.channels_for_account(*busiest):
            if channel.startswith("console:"):
                return channel
    return "general"


def tick_seconds(config: AppConfig) -> float:
    """How often `serve` runs the periodic checks: `alerts.tick_seconds` (default 5)."""
    return float(config.alerts.tick_seconds)


def freeze_startup_heap() -> None:
    """Move everything start-up created out of the cyclic garbage collector's reach (`gc.freeze`).

    Start-up leaves ~480,000 long-lived container objects behind (lark-oapi alone imports ~11,000 modules),
    and CPython's full collection walks all of them holding the GIL: ~240 ms on a 2-core machine, during
    which no other thread runs. The first one came within seconds of serving, and the Feishu acks waiting on
    their journal rows behind it took ~290 ms instead of ~40 (the p99 of `python -m bench.feishu_ack`).
    Frozen objects are never walked again; they are the modules, classes and wiring that live as long as
    the process anyway. The collection first frees start-up's garbage cycles, which freezing would keep.
    """
    gc.collect()
    gc.freeze()
    log.debug("start-up heap frozen: %d objects outside the garbage collector", gc.get_freeze_count())


# uvicorn's WARNINGs about requests it handles by itself, before or instead of the bot (a request line or
# header it cannot parse: a port scanner, a TLS client on the plain port; a WebSocket upgrade): the start of
# each message, and its kind in crisisbot_http_server_refused_total.
SERVER_REFUSALS = {"Invalid HTTP request received.": "invalid_request",
                   "Unsupported upgrade request.": "unsupported_upgrade",
                   "No supported WebSocket library detected.": "unsupported_upgrade_library",
                   "Exceeded concurrency limit.": "concurrency_limit"}
SERVER_REFUSED = PromCounter("crisisbot_http_server_refused_total",
                             "Requests the HTTP server (uvicorn) handled itself, by kind (see bot/serve.py)", ["kind"])


class _PacedServerRefusals(logging.Filter):
    """Takes uvicorn's warnings about the requests it handles itself (SERVER_REFUSALS) out of its own log,
    counts them, and writes them through a RefusalLog: anyone who can reach the port wrote one unpaced line
    per garbage request ("WARNING:  Invalid HTTP request received.", in uvicorn's format, without a time),
    which the endpoints' own refusals stopped doing (bot/log_limits.py: a loop of them filled the disk). Now
    the first of each kind in full, then at most one line a minute saying how many more; other uvicorn
    lines pass as before."""

    def __init__(self, refusals: RefusalLog) -> None:
        super().__init__()
        self._refusals = refusals

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        message = record.getMessage()
        kind = next((kind for start, kind in SERVER_REFUSALS.items() if message.startswith(start)), None)
        if kind is None:
            return True
        SERVER_REFUSED.labels(kind).inc()
        self._refusals.refused("http server", kind, "http server (uvicorn): %s", message)
        return False


def server_config(web: Any, host: str, port: int, *, clock: Any = None) -> uvicorn.Config:
    """uvicorn's configuration for `serve`, its refusal warnings paced (`_PacedServerRefusals`; `clock` paces
    them, real time by default). Installed after uvicorn has set up its loggers, which it does here."""
    config = uvicorn.Config(web, host=host, port=port, log_level="warning", lifespan="on")
    logger = logging.getLogger("uvicorn.error")
    for old in [f for f in logger.filters if isinstance(f, _PacedServerRefusals)]:
        logger.removeFilter(old)
    logger.addFilter(_PacedServerRefusals(RefusalLog(log, clock=clock)))
    return config


def bind_listener(host: str, port: int) -> socket.socket:
    """The server's socket, bound before "listening" is printed: a port in use is a clear error up front
    (uvicorn would report it in English after we claimed to have started), and `--port 0` prints the port
    the system chose."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        # listening already: a client that connects right after "listening" is printed waits in the
        # backlog until the server's loop accepts it, instead of being refused
        listener.listen(2048)
    except OSError:
        listener.close()
        raise
    listener.set_inheritable(True)
    return listener


def configured_database(settings: Settings, config: AppConfig) -> str | None:
    """What named the database (CRISISBOT_DATABASE_URL, the config's `database_url`, or the plain DATABASE_URL
    read when neither is set, as every command reads it), or None for the default SQLite file. DATABASE_URL
    alone used to count as nothing set up: serve played the demo on var/demo.db instead of the database named."""
    source = database_url_and_source(settings, config)[1]
    return None if source == "default" else source


def real_setup(settings: Settings, config: AppConfig) -> tuple[str, str] | None:
    """What makes this a real installation rather than a fresh machine (zh, en), or None."""
    if settings.any_chat_platform:
        return "已配置聊天平台", "a chat platform is configured"
    named_by = configured_database(settings, config)
    if named_by:
        return f"已配置数据库（{named_by}）", f"a database is configured ({named_by})"
    if settings.ingest_token:
        return "已设置 CRISISBOT_INGEST_TOKEN（评论 webhook 已开启）", "CRISISBOT_INGEST_TOKEN is set (the comment webhook is on)"
    if any(source.enabled for source in config.feeds.sources):
        return "已启用评论数据源", "a feed source is enabled"
    if _default_database_has_comments():
        return "默认数据库中已有导入的评论", "the default database holds imported comments"
    return None


def _offline_for_the_demo(settings: Settings) -> Settings:
    """The settings without chat platforms and the comment webhook: the sample feed names the configured
    accounts, so its alerts would reach the real clients' Slack/Feishu channels, and a comment sent to the
    webhook now would be judged on the replay clock ("7 days in the future") and kept in a throwaway file."""
    off = {name: None for name in ("slack_bot_token", "slack_signing_secret", "slack_app_token", "feishu_app_id",
                                   "feishu_app_secret", "ingest_token") if getattr(settings, name, None)}
    if not off:
        return settings
    print("演示只在本终端的控制台频道显示：不连接 Slack / 飞书，评论 webhook 关闭 / the demo shows in this terminal's "
          "console channels only: Slack, Feishu and the comment webhook stay off", flush=True)
    return settings.model_copy(update=off)


def demo_console_address(address: str) -> str:
    """Where the demo shows a configured Slack/Feishu channel: a console channel named after it."""
    platform, _, rest = address.partition(":")
    if platform in ("slack", "feishu"):
        return f"console:{platform}-{rest}"
    return address


def _console_only_config(config: AppConfig) -> AppConfig:
    """The config with every Slack/Feishu channel shown as a console channel (`demo_console_address`).

    The demo keeps the chat platforms off (`_offline_for_the_demo`); a client mapped to a Slack channel
    then had its sample alerts, queue cards and reports queued for a platform that never comes, pending in
    the throwaway database and shown nowhere. As console channels they show in this terminal, with the
    same client scopes (`#slack-C0123` switches to one)."""
    data = config.model_dump(mode="python")
    moved: dict[str, str] = {}

    def move(address: str | None) -> str | None:
        if not address:
            return address
        new = demo_console_address(address)
        if new != address:
            moved[address] = new
        return new

    for channel in data.get("channels", []):
        channel["id"] = move(channel["id"])
    data["default_channel"] = move(data["default_channel"])
    for schedule in data.get("reports", {}).get("schedules", []):
        schedule["channel"] = move(schedule["channel"])
    for source in data.get("feeds", {}).get("sources", []):
        if "notify_channel" in source:
            source["notify_channel"] = move(source["notify_channel"])
    if not moved:
        return config
    shown = "、".join(f"{old} → {new.removeprefix('console:')}" for old, new in sorted(moved.items()))
    print(f"演示：配置中的 Slack / 飞书频道在本终端以控制台频道显示（#频道名 切换）/ demo: the configured Slack and "
          f"Feishu channels show here as console channels (#name switches): {shown}", flush=True)
    return AppConfig.model_validate(data)


def _default_database_has_comments() -> bool:
    """Whether var/crisisbot.db (where `crisisbot ingest` writes on an unconfigured machine) holds comments;
    read-only, never creates it."""
    import sqlite3

    from bot.config import default_database_url

    path = Path(default_database_url().removeprefix("sqlite:///"))
    if not path.is_file():
        return False
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return connection.execute("SELECT 1 FROM comment LIMIT 1").fetchone() is not None
        finally:
            connection.close()
    except sqlite3.Error:  # not our database, or no comment table yet
        return False


class StopSignal(BaseException):
    """SIGTERM or SIGINT arrived: leave the serving code so `bot.close()` runs. A BaseException, like
    KeyboardInterrupt: a command running in the console when it arrives must not catch it as its error."""


def _raise_stop(signum: int, _frame: Any) -> None:
    raise StopSignal(signum)


def catch_stop_signals() -> dict[int, Any]:
    """Make SIGTERM and SIGINT raise StopSignal in the main thread; returns the handlers they replaced.

    uvicorn stops gracefully on either, then raises the signal again with the handler it found installed:
    with Python's default that killed the process on the spot (exit 143), before the `finally` that closes
    the scheduler, the workers and the poll leases, so every deploy left the feed leases held by a dead
    process for two minutes. With this handler installed first, uvicorn's re-raise becomes StopSignal."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGINT)}


def run_serve(
    settings: Settings,
    config: AppConfig,
    *,
    host: str | None,
    port: int | None,
    console: bool,
    demo: bool,
    exit_after_replay: bool,
    speed: float,
) -> int:
    from bot.app import build_app

    configured_db = configured_database(settings, config) is not None
    # The demo starts by itself only on a machine with nothing set up: a team that set up anything real
    # (a chat platform, its database, the comment webhook, a poller, or comments already imported into
    # the default database) runs on its real data; the demo's replay clock and throwaway database would
    # refuse or lose what arrives (a comment written now is "7 days in the future" on the replay clock).
    set_up = real_setup(settings, config)
    demo_on = demo or exit_after_replay or not set_up
    if not demo and not exit_after_replay and set_up:
        print(f"不启动演示：{set_up[0]}，使用真实数据 / no demo: {set_up[1]}; running on real data "
              "(`crisisbot serve --demo` for the demo)", flush=True)
    records = load_sample_feed() if demo_on else []
    clock = None
    if demo_on and records:
        clock = ReplayClock(parse_time(records[0]["created_at"]) - timedelta(minutes=5), speed=speed)
    bind_host = host or config.host
    bind_port = config.port if port is None else port
    listener = None
    if not exit_after_replay:
        # bound before the demo database is rebuilt: a second `make run` beside a running one (same port)
        # stops here instead of deleting the running demo's var/demo.db under it
        try:
            listener = bind_listener(bind_host, bind_port)
        except OSError as error:
            print(f"无法监听 {bind_host}:{bind_port}（{error.strerror or error}）/ cannot listen on "
                  f"{bind_host}:{bind_port}: {error.strerror or error}", file=sys.stderr, flush=True)
            return 2
    db = None
    if clock is not None:
        # before var/demo.db is rebuilt: a second demo in this folder (on another port, or a replay check)
        # stops here instead of deleting the running demo's data
        try:
            hold_demo_lock(listener.getsockname()[1] if listener is not None else None)
        except DemoAlreadyRunning as running:
            if listener is not None:
                listener.close()
            print(running, file=sys.stderr, flush=True)
            return 2
        # Always its own SQLite file: the sample comments name the configured accounts, and replayed
        # into a real database they would turn up in that client's queue, alerts and reports.
        if configured_db:
            print("演示不写入配置的数据库 / the demo does not touch the configured database", flush=True)
        db = fresh_demo_database()
        settings = _offline_for_the_demo(settings)
        config = _console_only_config(config)
    if db is None:  # which variable chose the database: DATABASE_URL is read when no CRISISBOT_ one is set
        from bot.storage.db import redact_url

        url, url_source = database_url_and_source(settings, config)
        log.info("database: %s (from %s)", redact_url(url), url_source)
    bot = build_app(settings, config, clock=clock, console_echo=sys.stdout, db=db)
    replay = DemoReplay(bot, records, clock) if clock else None

    if exit_after_replay:
        bot.start(scheduler=False)
        try:
            if replay is None:
                print("没有示例评论流 / no sample feed bundled", file=sys.stderr)
                return 1
            started = time.monotonic()
            replay.run_fast()
            alerts_on = "alerts" in bot.services.extra
            ok = _sample_crisis_alerted(bot) if alerts_on else replay.accepted > 0
            print(
                f"回放完成 / replay done: {replay.accepted} 条评论 comments in {time.monotonic() - started:.1f}s; "
                + ("示例危机已告警 / sample crisis alerted" if ok and alerts_on else
                   "已导入 / ingested" if ok else "示例危机未告警 / NO alert for the sample crisis"),
                flush=True,
            )
            return 0 if ok else 1
        finally:
            bot.close()

    # the last start hook: after the features' own (their imports and clients are start-up too)
    bot.wiring.on_start.append(freeze_startup_heap)
    if replay is None:
        for tick in bot.wiring.ticks:
            bot.wiring.scheduler.add_job(tick, "interval", seconds=tick_seconds(config), coalesce=True,
                                         max_instances=1)
    assert listener is not None
    bind_port = listener.getsockname()[1]
    server = uvicorn.Server(server_config(bot.web, bind_host, bind_port, clock=bot.services.clock))
    stop = threading.Event()
    if replay is not None:
        print(f"演示模式：回放示例评论流（{speed:g} 倍速）/ demo: replaying the sample feed at {speed:g}x", flush=True)
        print(demo_expectation(records, console_start_channel(bot, records), speed, console=console), flush=True)
        threading.Thread(target=replay.run_realtime, args=(stop,), name="demo-replay", daemon=True).start()
    print(f"crisisbot 已启动 / listening on http://{bind_host}:{bind_port}", flush=True)
    replaced = catch_stop_signals()
    try:
        if console and not sys.stdin.isatty():
            # Piped or redirected input (a script, a test driving the demo): its commands run in order, and
            # serving goes on when it ends; the server keeps the main thread, so SIGTERM stops it cleanly.
            # A `quit` line stops the bot, as it does on a terminal: it was answered "已退出" and ignored.
            from bot.console_repl import repl

            def stop_serving() -> None:
                server.should_exit = True

            print("标准输入不是终端：逐行执行其中的命令，读完后继续运行（quit 停止机器人）/ stdin is not a terminal: its "
                  "commands run line by line, then the bot keeps serving (quit stops it)", flush=True)
            threading.Thread(target=repl, args=(bot,), kwargs={"channel": console_start_channel(bot, records),
                             "user": "operator", "on_quit": stop_serving}, name="console-input",
                             daemon=True).start()
            server.run([listener])
        elif console:
            from bot.console_repl import repl

            thread = threading.Thread(target=server.run, args=([listener],), name="http", daemon=True)
            thread.start()
            try:
                repl(bot, channel=console_start_channel(bot, records), user="operator")
            finally:  # also on a stop signal: the server stops before the bot closes
                server.should_exit = True
                thread.join(timeout=10)
        else:
            server.run([listener])
    except StopSignal as stopped:
        log.info("serve: %s received; stopping", signal.Signals(stopped.args[0]).name)
    finally:
        stop.set()
        for sig in replaced:  # a second signal while closing must not cut the closing short
            signal.signal(sig, signal.SIG_IGN)
        bot.close()
        for sig, handler in replaced.items():
            signal.signal(sig, handler)
    print("crisisbot 已停止 / stopped", flush=True)
    return 0
