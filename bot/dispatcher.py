"""Runs commands and button presses: dedup by event id, parse, call the handler, queue the replies.

Adapters hand a neutral Command/Action to `submit` (returns at once, so the platform gets its ack in
time) or `handle` (waits). Replies go through the outbox like every other message.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError, OperationalError

from bot import metrics
from bot.handlers.registry import CommandContext, PermissionDenied, UsageError, parse_command_line
from bot.i18n import STRINGS, both
from bot.messages import Action, Command, Message
from bot.services import Services
from bot.storage.models import ProcessedEvent

log = logging.getLogger(__name__)
_T = TypeVar("_T")


def _labelled(key: str, detail: object) -> str:
    """'用法有误 / Bad usage：<detail>'. The detail is a handler's own message, already Chinese first with
    English ("跳过需要步骤和原因 / skip needs a step and a reason"); `both` printed it twice, once per label."""
    zh, en = STRINGS[key]
    return f"{zh.partition('：')[0]} / {en.partition(':')[0]}：{detail}"


class Dispatcher:
    def __init__(self, services: Services, *, max_workers: int = 2) -> None:
        self.services = services
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="dispatch")
        # platform -> user id -> display name, for platforms whose events carry only an id (Feishu)
        self._name_lookups: dict[str, Callable[[str], str | None]] = {}

    def register_name_lookup(self, platform: str, lookup: Callable[[str], str | None]) -> None:
        """Let commands from `platform` without a user name get one (in the worker, not the HTTP answer)."""
        self._name_lookups[platform] = lookup

    def submit(self, item: Command | Action) -> Future[list[Message]]:
        """Handle later in a worker thread; the caller can acknowledge the platform right away."""
        return self._pool.submit(self.handle, item)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)

    def first_time(self, item: Command | Action) -> bool:
        """Record the inbound event id; False when it was seen before (a platform retry or duplicate)."""
        if not item.event_id:
            return True
        key = f"{item.platform}:{item.event_id}"[:255]
        try:
            with self.services.db.session() as session:
                session.add(ProcessedEvent(key=key, received_at=self.services.clock.now()))
        except IntegrityError:
            log.info("duplicate inbound event %s ignored", key)
            return False
        return True

    def handle(self, item: Command | Action) -> list[Message]:
        """Run the command/action once and enqueue its replies; returns the replies (for the console)."""
        if not _retrying_while_busy(lambda: self.first_time(item)):
            return []
        item = self._with_user_name(item)
        if isinstance(item, Command):
            metrics.COMMANDS_HANDLED.labels(item.platform, "command").inc()
            replies = self._run_command(item)
        else:
            metrics.COMMANDS_HANDLED.labels(item.platform, "action").inc()
            replies = self._run_action(item)
        try:
            # the command has run: only storing its answer is retried (running it again could act twice)
            _retrying_while_busy(lambda: self._enqueue_replies(item, replies))
        except Exception:
            # The answer could not be stored (e.g. the database is down): forget the event id so the
            # platform's retry is handled instead of being dropped as a duplicate.
            self._forget(item)
            raise
        return replies

    def _with_user_name(self, item: Command | Action) -> Command | Action:
        """The item with the person's display name, when the adapter gave only an id and can look it up."""
        lookup = self._name_lookups.get(item.platform)
        if item.user_name or lookup is None:
            return item
        user_id = item.user.partition(":")[2] or item.user
        try:
            name = lookup(user_id)
        except Exception:  # noqa: BLE001 - a missing name must never stop the command; the id stands in
            log.exception("display name lookup for %s failed", item.user)
            return item
        return replace(item, user_name=name) if name else item

    def _forget(self, item: Command | Action) -> None:
        if not item.event_id:
            return
        key = f"{item.platform}:{item.event_id}"[:255]
        try:
            with self.services.db.session() as session:
                session.execute(delete(ProcessedEvent).where(ProcessedEvent.key == key))
        except Exception:  # noqa: BLE001 - nothing more can be done; the log says what happened
            log.exception("could not release inbound event id %s", key)

    def _run_command(self, command: Command) -> list[Message]:
        registry = self.services.registry
        try:
            parsed = parse_command_line(command.text)
        except UsageError as exc:
            return [Message(text=_labelled("usage_error", exc), ephemeral=True)]
        spec = registry.commands.get(parsed.name)
        if spec is None:
            return [Message(text=both("unknown_command", name=parsed.name), ephemeral=True)]
        parsed = parse_command_line(command.text, flags=spec.flags, options=spec.options)
        if spec.sub_options:
            options, flags = spec.grammar_for(parsed.sub)
            if (options, flags) != (spec.options, spec.flags):
                parsed = parse_command_line(command.text, flags=flags, options=options)
        if parsed.sub is not None and parsed.sub.lower() in ("help", "帮助") and len(parsed.args) == 1:
            return [Message(title=f"/{spec.name} — {spec.summary_zh} / {spec.summary_en}", text=spec.usage)]
        ctx = CommandContext(services=self.services, command=command)
        return self._call(lambda: spec.handler(ctx, parsed), usage=spec.usage)

    def _run_action(self, action: Action) -> list[Message]:
        handler = self.services.registry.find_action(action.action_id)
        if handler is None:
            return [Message(text=both("unknown_action"), ephemeral=True)]
        ctx = CommandContext(services=self.services, action=action)
        return self._call(lambda: handler(ctx, action), usage=None)

    def _call(self, fn, *, usage: str | None) -> list[Message]:
        try:
            result = fn()
        except UsageError as exc:
            text = _labelled("usage_error", exc)
            if usage:
                text += "\n\n" + usage
            return [Message(text=text, ephemeral=True)]
        except PermissionDenied as exc:
            return [Message(text=_labelled("permission_denied", exc), ephemeral=True)]
        except Exception:  # noqa: BLE001 - the user gets a short reply, the log gets the traceback
            ref = uuid.uuid4().hex[:8]
            log.exception("handler failed (ref %s)", ref)
            return [Message(text=both("internal_error", ref=ref), ephemeral=True)]
        if result is None:
            return []
        return list(result) if isinstance(result, list | tuple) else [result]

    def _enqueue_replies(self, item: Command | Action, replies: list[Message]) -> None:
        if not replies:
            return
        base = f"reply:{item.platform}:{item.event_id or uuid.uuid4().hex}"
        with self.services.db.session() as session:
            for i, reply in enumerate(replies):
                meta = dict(reply.meta)
                meta.setdefault("reply", dict(item.reply))
                meta.setdefault("in_reply_to_user", item.user)
                message = Message.from_dict({**reply.to_dict(), "meta": meta})
                self.services.outbox.enqueue(session, channel=item.channel, message=message, key=f"{base}:{i}")


# A long write elsewhere (a 12,000-comment webhook batch with its alerts) can hold SQLite's write lock past
# its busy timeout. Slack never retries a slash command it has acknowledged, so a command that meets the
# lock waits and tries again rather than being lost.
BUSY_RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)


def _retrying_while_busy(work: Callable[[], _T], sleep: Callable[[float], None] = time.sleep) -> _T:
    for delay in (*BUSY_RETRY_DELAYS_S, None):
        try:
            return work()
        except OperationalError as exc:
            if delay is None or not _database_busy(exc):
                raise
            log.warning("database busy (%s); retrying in %.1f s", str(exc.orig).splitlines()[0], delay)
            sleep(delay)
    raise AssertionError("unreachable")


def _database_busy(exc: OperationalError) -> bool:
    """SQLite's lock or PostgreSQL's deadlock / serialization refusal: worth waiting for, unlike a bad query."""
    text = str(exc.orig).lower()
    return any(word in text for word in ("database is locked", "database table is locked", "deadlock detected",
                                         "could not serialize", "lock timeout"))


def purge_processed_events(services: Services, *, older_than_hours: int) -> int:
    """Forget inbound event ids older than the retention (>= 7 h: Feishu retries for 6 h)."""
    cutoff = services.clock.now() - timedelta(hours=max(7, older_than_hours))
    with services.db.session() as session:
        result = session.execute(delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff))
        return result.rowcount or 0
