"""Personal data (China's PIPL): scheduled retention and the removal of one person's data."""

from __future__ import annotations

import base64
import html
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import Text, and_, cast, delete, func, or_, select, update

from bot.clock import ensure_aware
from bot.config import PLATFORMS, RetentionConfig
from bot.messages import Message
from bot.outbox import REWRITTEN, SUPERSEDED, UPDATE_KINDS, Outbox
from bot.redaction import MIN_CUT, AuthorCopies, PersonComment
from bot.storage.db import Database
from bot.storage.models import Comment, DeadLetter, IngestHandoff, OutboxMessage, ProcessedEvent

log = logging.getLogger(__name__)

# Outbox rows still being delivered are never touched, whatever their age: dropping one would lose a
# message the outbox promised to deliver.
FINISHED_OUTBOX = ("sent", "failed", SUPERSEDED)

# How long a superseded outbox row stays (see purge_expired): long enough to look at a burst the day after.
SUPERSEDED_KEPT = timedelta(days=1)

# A listener's hand-off still pending after this long belongs to a feature that was switched off (or
# has failed for a week): its batch no longer matters to alerts or the queue, and the row goes.
STALE_HANDOFF_AGE = timedelta(days=7)


def purge_expired(db: Database, now, retention: RetentionConfig) -> dict[str, int]:
    """Drop raw payloads and author identifiers older than the retention windows, the content of
    finished outbox messages after the author-identifier window, and finished outbox rows after
    `outbox_days` (superseded versions, never sent, a day after they were superseded), and inbound chat
    event ids after `processed_event_hours` (at least 7 h: Feishu retries for 6 h, and a retry whose id
    was forgotten would be handled twice)."""
    raw_cutoff = now - timedelta(days=retention.raw_payload_days)
    author_cutoff = now - timedelta(days=retention.author_identifiers_days)
    outbox_cutoff = now - timedelta(days=retention.outbox_days)
    finished = OutboxMessage.status.in_(FINISHED_OUTBOX)
    with db.session() as session:
        # A raw payload holds the author's id and name too, so it goes with them when the author window
        # is the shorter one: nulling the columns while the payload keeps them would purge nothing.
        # One statement per window, each answered by its partial index (ix_comment_raw_ingested,
        # ix_comment_raw_created): SQLite planned the OR of the two as a scan of a whole index. The second
        # finds only payloads the first left, so the sum counts each comment once.
        raw = sum(session.execute(
            update(Comment).where(expired, Comment.raw.is_not(None)).values(raw=None)
        ).rowcount or 0 for expired in (Comment.ingested_at < raw_cutoff, Comment.created_at < author_cutoff))
        authors = session.execute(
            update(Comment)
            .where(Comment.created_at < author_cutoff)
            .where(Comment.author_id.is_not(None) | Comment.author_name.is_not(None))
            .values(author_id=None, author_name=None, author_followers=None)
        ).rowcount
        # A rejected record is a raw payload, author id and name included: the shorter window applies.
        dead = session.execute(
            delete(DeadLetter).where(DeadLetter.received_at < max(raw_cutoff, author_cutoff))
        ).rowcount
        stale = session.execute(
            delete(IngestHandoff).where(IngestHandoff.created_at < now - STALE_HANDOFF_AGE)
        ).rowcount
        events = session.execute(delete(ProcessedEvent).where(
            ProcessedEvent.received_at < now - timedelta(hours=max(7, retention.processed_event_hours)))).rowcount
        outbox_rows = session.execute(
            delete(OutboxMessage).where(finished, OutboxMessage.created_at < outbox_cutoff)
        ).rowcount or 0
        # A superseded version (an update a later one replaced before it was sent: "notice:…#v7") was never
        # sent and never will be: nothing edits it, no update names it (updates name the original post),
        # and its key cannot come back (versions only grow). A busy feed makes thousands an hour, so they
        # go a day after they were superseded (`sent_at`), not after `outbox_days`.
        outbox_rows += session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.status == SUPERSEDED,
                func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < now - SUPERSEDED_KEPT)
        ).rowcount or 0
        # Message texts quote comments and name their authors, so they go with the author identifiers.
        # The row stays: its key keeps a retry from sending the message again, and platform_message_id
        # lets a later version of an alert or playbook card update the message in place. last_error may
        # echo what the platform answered about the content, so it goes too.
        outbox_contents = session.execute(
            update(OutboxMessage)
            .where(finished, OutboxMessage.created_at < author_cutoff, OutboxMessage.content_purged_at.is_(None))
            .values(payload={}, last_error=None, content_purged_at=now)
        ).rowcount
    counts = {
        "raw_payloads": raw or 0,
        "author_identifiers": authors or 0,
        "dead_letters": dead or 0,
        "stale_handoffs": stale or 0,
        "outbox_contents": outbox_contents or 0,
        "outbox_messages": outbox_rows or 0,
        "processed_events": events or 0,
    }
    if stale:
        log.warning("dropped %d ingest hand-off(s) pending for over 7 days (listener gone or failing)", stale)
    log.info("retention purge: %s", counts)
    return counts


EXPIRED_KINDS = (
    # (count key of purge_expired, Chinese, English) in the order the CLI prints them
    ("raw_payloads", "原始数据", "raw payloads"),
    ("author_identifiers", "作者信息", "author identifiers"),
    ("dead_letters", "拒收记录", "dead letters"),
    ("stale_handoffs", "过期交接", "stale hand-offs"),
    ("outbox_contents", "已发消息内容", "sent message contents"),
    ("outbox_messages", "已发消息记录", "sent message rows"),
    ("processed_events", "已处理事件 ID", "handled event ids"),
)


# Ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits.
CHUNK = 500
# Copies are made after the comment was written; this margin covers platform clocks running ahead.
CLOCK_MARGIN = timedelta(days=1)


def _chunks(values: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _as_in_json(needles: list[str]) -> list[str]:
    """`needles`, each also in the form a JSON column stores it (non-ASCII as \\uXXXX escapes)."""
    return sorted(set(needles) | {json.dumps(n)[1:-1] for n in needles})


def _chunks_matching(needles: list[str], size: int) -> Iterator[list[str]]:
    """`_chunks(needles)` with each needle also in the form a JSON column stores it."""
    for chunk in _chunks(needles, size):
        yield _as_in_json(chunk)


def _contains_any(column, needles: list[str]):
    # autoescape: % and _ in a comment are literal, and "/" becomes the escape character, so the
    # backslashes of JSON's \uXXXX escapes stay literal on PostgreSQL too.
    return or_(*(column.contains(n, autoescape=True) for n in needles))


def _redact_text_column(session, copies: AuthorCopies, model, attr: str, needles: list[str], *where) -> int:
    """Cut the person's quotes and name out of the text column `attr` of the `model` rows that `where`
    selects and that may contain one of `needles`; returns how many rows changed."""
    changed = 0
    for row in list(session.scalars(select(model).where(*where, _contains_any(getattr(model, attr), needles)))):
        text = getattr(row, attr)
        if copies.touches(text):
            setattr(row, attr, copies.redact(text))
            session.add(row)
            changed += 1
    return changed


def author_key(platform: str, author_id: str) -> tuple[str, str]:
    """The (platform, author id) a deletion request names, as ingestion stores them; ValueError (with a
    "中文 / English" message) for a platform the bot does not ingest or an empty id. A typo must not pass
    as a request that found nothing: the person's data would stay while the operator believes it gone."""
    # Ingestion lower-cases and trims the platform and trims ids (bot/feeds/records.py), so the request
    # is read the same way.
    platform, author_id = (platform or "").strip().lower(), (author_id or "").strip()
    if platform not in PLATFORMS:
        raise ValueError(f"未知平台 / unknown platform {platform!r}: 应为 / expected one of {', '.join(PLATFORMS)}")
    if not author_id:
        raise ValueError("缺少作者 ID / missing author id: expected PLATFORM:AUTHOR_ID")
    return platform, author_id


# Dead letters read per round trip while deciding which are the person's.
DEAD_LETTER_BATCH = 1000
# A rejected record that is not JSON (a broken line) is matched on its fields as written.
_RAW_FIELD = r'"{field}"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)'


def _field_values(raw: str, field: str) -> list:
    values = []
    for match in re.finditer(_RAW_FIELD.format(field=field), raw):
        try:
            values.append(json.loads(match.group(1)))
        except ValueError:
            continue
    return values


def _same_id(value, author_id: str) -> bool:
    # A feed may send the id as a JSON number (777); ingestion stores it as the string "777".
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    return str(value).strip() == author_id


def _same_platform(value, platform: str) -> bool:
    return isinstance(value, str) and value.strip().lower() == platform


def dead_letter_is_theirs(raw: str, platform: str, author_id: str) -> bool:
    """Whether a rejected record (kept as text, JSON or not) is the person's: its platform is theirs and
    its author_id is theirs, as a string or a number. A record naming no platform cannot be told apart
    from another platform's user with the same id, so it is not theirs."""
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        # Not JSON (a broken line): its "platform" and "author_id" fields as written must both be theirs.
        return (any(_same_platform(v, platform) for v in _field_values(raw, "platform"))
                and any(_same_id(v, author_id) for v in _field_values(raw, "author_id")))
    return (isinstance(record, dict) and _same_platform(record.get("platform"), platform)
            and _same_id(record.get("author_id"), author_id))


def _delete_their_dead_letters(session, platform: str, author_id: str) -> int:
    """Delete the person's dead letters; returns how many. SQL narrows the rows to those holding the id
    (escaped: "_" and "%" in an id are literal), Python decides on the parsed record: portable JSON
    matching does not exist across SQLite and PostgreSQL, and a dead letter may not be JSON at all."""
    # The id as written in the text: raw, and JSON-escaped the two ways a record may be serialised.
    needles = sorted({author_id, json.dumps(author_id, ensure_ascii=False)[1:-1], json.dumps(author_id)[1:-1]})
    theirs: list[int] = []
    last = 0
    while True:  # keyset pages: raw texts can be large, so never all at once
        rows = session.execute(
            select(DeadLetter.id, DeadLetter.raw)
            .where(DeadLetter.id > last, _contains_any(DeadLetter.raw, needles))
            .order_by(DeadLetter.id).limit(DEAD_LETTER_BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        theirs.extend(r.id for r in rows if dead_letter_is_theirs(r.raw, platform, author_id))
    deleted = 0
    for chunk in _chunks(theirs):
        deleted += session.execute(delete(DeadLetter).where(DeadLetter.id.in_(chunk))).rowcount or 0
    return deleted


def _in_others_words(copies: AuthorCopies) -> AuthorCopies:
    """The copies to look for in what other people wrote: their name (by the usual rules), their comment
    refs, and quotes of their comments of MIN_CUT characters or more. A shorter comment ("哈哈哈", "太差了")
    is written word for word by others all the time: it is no sign of a quote there."""
    return AuthorCopies(
        PersonComment(c.platform, c.comment_id, c.text if len(" ".join(c.text.split())) >= MIN_CUT else "",
                      c.author_name)
        for c in copies.comments)


def _without_them(entry: Any, copies: AuthorCopies) -> Any:
    """An alert's top comment or a notice's example by someone else, with the person's name and quoted
    words cut out of its text ("@王小明 说得对" -> "@〔已删除 / removed〕 说得对")."""
    if isinstance(entry, dict) and isinstance(entry.get("text"), str) and copies.touches(entry["text"]):
        return {**entry, "text": copies.redact(entry["text"])}
    return entry


def _holds_id(value: Any, author_id: str) -> bool:
    """Whether a raw payload names the person by id anywhere (a webhook sender's "reply_to": {...})."""
    if isinstance(value, dict):
        return any(_holds_id(v, author_id) for v in value.values())
    if isinstance(value, list):
        return any(_holds_id(v, author_id) for v in value)
    return _same_id(value, author_id)


def _without_values(value: Any, dropped: set[str]) -> Any:
    """A JSON value without the strings in `dropped` (compared trimmed), wherever they are."""
    if isinstance(value, dict):
        return {k: _without_values(v, dropped) for k, v in value.items()
                if not (isinstance(v, str) and v.strip() in dropped)}
    if isinstance(value, list):
        return [_without_values(v, dropped) for v in value if not (isinstance(v, str) and v.strip() in dropped)]
    return value


def _redact_others_comments(session, copies: AuthorCopies, counts: dict[str, int], *, platform: str,
                            author_id: str, accounts: list[str], since: datetime) -> None:
    """Other people's comments that answer the person or name them ("回复 @王小明：「…」"): their name and
    quoted words (`copies` is `_in_others_words`) are cut out of the text, and the raw payload (which
    repeats the text, and may name them in fields of its own) goes, as retention drops it. The comment,
    its author and `parent_id` stay: they are someone else's. A sentiment correction keeps a copy of the
    text: it is cut the same way. Candidates are the replies to their comments (by `parent_id`, indexed)
    and, among their accounts since their first comment, comments whose text or payload holds their
    name; the checks decide."""
    from bot.sentiment.models import SentimentCorrection

    candidates: set[int] = set()
    for chunk in _chunks(sorted(copies.comment_ids)):
        candidates.update(session.scalars(select(Comment.id).where(
            Comment.platform == platform, Comment.parent_id.in_(chunk))))
    names = sorted(copies.names)
    if names:
        candidates.update(session.scalars(select(Comment.id).where(
            Comment.platform == platform, Comment.account_id.in_(accounts), Comment.created_at >= since,
            or_(_contains_any(Comment.text, names),
                _contains_any(cast(Comment.raw, Text), _as_in_json(names))))))
    changed: dict[str, str] = {}
    for chunk in _chunks(sorted(candidates)):
        for row in list(session.scalars(select(Comment).where(Comment.id.in_(chunk)))):
            # the comment's own author may share the person's display name (two users called 某人): their own
            # name in their own payload is not a mention of the person
            raw = _without_values(row.raw, {v for v in (row.author_name, row.author_id) if v})
            raw_theirs = row.raw is not None and (copies.touches_json(raw) or _holds_id(raw, author_id))
            if not (copies.touches(row.text) or raw_theirs):
                continue
            row.text = copies.redact(row.text or "")
            if raw_theirs:
                row.raw = None
            session.add(row)
            changed[row.comment_id] = row.text
            counts["comments_redacted"] += 1
    for chunk in _chunks(sorted(changed)):
        for correction in list(session.scalars(select(SentimentCorrection).where(
                SentimentCorrection.platform == platform, SentimentCorrection.comment_id.in_(chunk)))):
            if copies.touches(correction.text):
                correction.text = copies.redact(correction.text)
                session.add(correction)
                counts["corrections_redacted"] += 1


class MessageCopies:
    """`AuthorCopies` over a whole outbox payload, the files it carries included.

    A report's HTML and a review's Markdown travel base64-encoded (`Message.to_dict`), so the JSON walk of
    `AuthorCopies` sees only the encoded bytes: a pending report kept the person's quoted comment in its
    file after the purge. Each file that is UTF-8 text is decoded, checked and cut like the message text;
    in HTML the comment was escaped (`&`, quotes, `<`), so the escaped forms are looked for as well."""

    def __init__(self, copies: AuthorCopies) -> None:
        self.copies = copies
        # One set of copies knowing both forms: a cut quote of one form must not hide the whole of the other
        # (their spans merge), whichever form the file holds.
        self._in_files = AuthorCopies([*copies.comments, *(
            PersonComment(c.platform, c.comment_id, html.escape(c.text),
                          html.escape(c.author_name) if c.author_name else None)
            for c in copies.comments)])

    @staticmethod
    def _file_text(file: Any) -> str | None:
        if not isinstance(file, dict) or not isinstance(file.get("content"), str):
            return None
        try:
            return base64.b64decode(file["content"], validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):  # not base64, or bytes (an image): nothing to read
            return None

    def touches(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return self.copies.message_touches(payload)
        files = payload.get("files") or []
        rest = {k: v for k, v in payload.items() if k != "files"}
        return self.copies.message_touches(rest) or any(
            text is not None and self._in_files.touches(text) for text in map(self._file_text, files))

    def files_touch(self, payload: Any) -> bool:
        """Whether one of the files `payload` carries quotes or names the person."""
        files = payload.get("files") or [] if isinstance(payload, dict) else []
        return any(text is not None and self._in_files.touches(text) for text in map(self._file_text, files))

    def redact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A copy of `payload` without the person, in its text, buttons and files."""
        rest = self.copies.redact_message({k: v for k, v in payload.items() if k != "files"})
        if "files" not in payload:
            return rest
        return {**rest, "files": [self._redact_file(f) for f in payload["files"] or []]}

    def _redact_file(self, file: Any) -> Any:
        text = self._file_text(file)
        if text is None or not self._in_files.touches(text):
            return file
        text = self._in_files.redact(text)
        return {**file, "content": base64.b64encode(text.encode("utf-8")).decode("ascii")}


# The line a chat edit adds where the message's files (a report's HTML, a review's Markdown) quoted or named
# the person: a file already delivered cannot be edited, and no port deletes the files it posted.
ATTACHMENT_GONE = "（附件含已删除的个人信息，已不可用 / the attachment held removed personal data）"

CHAT_KINDS = (
    # counts of `purge_author(..., chat=True)` only, printed on a line of their own
    ("chat_edits", "聊天消息修改", "chat edits queued"),
    ("chat_not_editable", "无法修改的消息（仅图片或文件）", "messages that cannot be edited (images or files only)"),
)


class _StoppedClock:
    """The purge's own time: the edits it queues are due from then."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class ChatEdits:
    """Edits that take the person's words back out of the messages the chat already shows (`--chat`).

    Each is an outbox update of kind REDACTION of the message, with the content the chat shows redacted:
    serve delivers it like any message (retries, restarts), and it only edits (a deleted or recalled message
    stays gone). Computed from the stored payloads before the purge empties them, so the stored copy then
    holds the redacted version only."""

    def __init__(self, session, db: Database, copies: MessageCopies, now: datetime) -> None:
        self.session, self.copies = session, copies
        self.outbox = Outbox(db, _StoppedClock(now))
        self.counts = {key: 0 for key, _, _ in CHAT_KINDS}

    @staticmethod
    def message_key(row: OutboxMessage) -> str:
        """The key of the message a row shows: its own, or the original's for an update."""
        return row.update_of if row.kind in UPDATE_KINDS and row.update_of else row.key

    def of_delivered(self, touched: list[OutboxMessage]) -> None:
        """An edit for each delivered message whose shown version (its latest sent one) is in `touched`,
        unless an update of it still waits (the purge redacts that one, and it replaces what is shown)."""
        touched_ids = {row.id for row in touched}
        for channel, key in sorted({(row.channel, self.message_key(row)) for row in touched
                                    if row.status == "sent" and row.platform_message_id}):
            versions = (OutboxMessage.channel == channel,
                        or_(OutboxMessage.key == key,
                            and_(OutboxMessage.update_of == key, OutboxMessage.kind.in_(UPDATE_KINDS))))
            if self.session.scalars(select(OutboxMessage.id).where(
                    *versions, OutboxMessage.status == "pending").limit(1)).first() is not None:
                continue
            shown = self.session.scalars(select(OutboxMessage).where(*versions, OutboxMessage.status == "sent")
                                         .order_by(OutboxMessage.id.desc()).limit(1)).first()
            if shown is not None and shown.id in touched_ids:
                self._queue(channel, key, shown.kind, self.copies.redact(shown.payload),
                            files_touched=self.copies.files_touch(shown.payload))

    def of_pending(self, row: OutboxMessage, redacted: dict[str, Any]) -> None:
        """Redact a waiting message in place (`Outbox.rewrite`: a worker that read the old content fails its
        claim); when an attempt may have shown the old content already (in flight, or its answer lost), an
        edit follows it."""
        files_touched = self.copies.files_touch(row.payload)  # read before the rewrite replaces it
        outcome = Outbox.rewrite(self.session, channel=row.channel, key=row.key,
                                 message=Message.from_dict(redacted))
        if outcome == REWRITTEN:
            return
        if outcome is None:  # not claimable now: the stored copy is redacted all the same
            row.payload = redacted
            self.session.add(row)
        self._queue(row.channel, self.message_key(row), row.kind, redacted, files_touched=files_touched)

    def _queue(self, channel: str, key: str, kind: str, redacted: dict[str, Any], *, files_touched: bool) -> None:
        if kind == "upload":  # images or files alone: nothing a chat edit can change
            self.counts["chat_not_editable"] += 1
            return
        edit = Message.from_dict(redacted)
        if files_touched:
            edit = replace(edit, text=f"{edit.text}\n\n{ATTACHMENT_GONE}" if edit.text else ATTACHMENT_GONE)
        # an edit cannot change files (each was posted as a message of its own): not stored again either
        edit = replace(edit, files=())
        if self.outbox.enqueue(self.session, channel=channel, message=edit, key=f"purge-edit:{uuid4().hex}",
                               update_of=key, redaction=True):
            self.counts["chat_edits"] += 1


PURGE_KINDS = (
    # (count key, Chinese, English) in the order the CLI prints them
    ("comments", "评论", "comments"),
    ("comments_redacted", "他人评论（删去引用）", "others' comments redacted"),
    ("dead_letters", "拒收记录", "dead letters"),
    ("reply_items", "回复队列条目", "reply-queue items"),
    ("reply_drafts", "回复草稿", "reply drafts"),
    ("reply_posts_withdrawn", "待发布回复（已撤回）", "reply posts withdrawn"),
    ("reply_events", "回复记录", "reply events"),
    ("reply_events_redacted", "回复记录（删去引用）", "reply events redacted"),
    ("reply_drafts_redacted", "回复草稿（删去引用）", "reply drafts redacted"),
    ("reply_skip_reasons", "跳过原因（删去引用）", "skip reasons redacted"),
    ("reply_templates", "模板来源", "template sources"),
    ("corrections", "情感更正样本", "sentiment corrections"),
    ("corrections_redacted", "情感更正样本（删去引用）", "sentiment corrections redacted"),
    ("alert_episodes", "告警（删去引用）", "alerts redacted"),
    ("risk_notices", "风险提醒（删去引用）", "risk notices redacted"),
    ("outbox_contents", "已发消息内容", "sent message contents"),
    ("outbox_redacted", "待发消息（删去引用）", "pending messages redacted"),
    ("playbook_runs", "预案标题", "playbook run titles"),
    ("playbook_timeline", "预案时间线条目", "playbook timeline entries"),
    ("playbook_reasons", "预案原因与变量（删去引用）", "playbook reasons and variables redacted"),
    ("handoffs", "待处理交接", "ingest hand-offs"),
)


def purge_author(db: Database, platform: str, author_id: str, now: datetime | None = None, *,
                 chat: bool = False) -> dict[str, int]:
    """Remove one person's comments and every copy of them, in one transaction (PIPL deletion).

    Rows that exist only for their comments go: their reply-queue items with drafts and events, their
    sentiment corrections (training data), dead letters naming them. Copies inside shared rows are cut
    out: their entries in alert episodes' top comments and in risk notices' examples and ids; their
    quotes, comment refs and name in pending chat messages (the files they carry included), playbook run
    titles, timelines, step reasons, closing notes and variables, and other reply items' drafts, events
    and skip reasons; their name and long quotes in other people's comments (`_redact_others_comments`)
    and in the alerts' and notices' copies of those. A sent or failed message that quotes or names them
    loses its content as retention does (`content_purged_at`); the row stays for idempotency. Copies are
    found by comment id where they keep it, else by the comment text (read before the comments are
    deleted) and name, and only among the accounts and the time since their first comment.

    `chat`: also queue an edit of each message the chat shows that quotes or names them (`ChatEdits`), and
    count those (CHAT_KINDS); without it, what the chat shows stays as it is.
    """
    from bot.alerts.models import AlertEpisode, RiskNotice
    from bot.playbooks.models import CrisisRun, CrisisStep, CrisisTimelineEntry
    from bot.replies.models import ReplyDraft, ReplyEvent, ReplyQueueItem, SavedReplyTemplate
    from bot.sentiment.models import SentimentCorrection

    platform, author_id = author_key(platform, author_id)
    now = now or datetime.now(UTC)
    counts = {key: 0 for key, _, _ in PURGE_KINDS}
    # write_lock: this transaction reads, then writes; on SQLite it must hold the lock from the start.
    with db.session(write_lock=True) as session:
        mine = session.execute(
            select(Comment.id, Comment.comment_id, Comment.text, Comment.author_name, Comment.account_id,
                   Comment.created_at)
            .where(Comment.platform == platform, Comment.author_id == author_id)
        ).all()
        counts["dead_letters"] = _delete_their_dead_letters(session, platform, author_id)
        if not mine:
            return counts
        copies = AuthorCopies(PersonComment(platform, r.comment_id, r.text or "", r.author_name) for r in mine)
        comment_ids = sorted(copies.comment_ids)
        row_ids = {r.id for r in mine}
        accounts = sorted({r.account_id for r in mine})
        account_keys = [f"{platform}:{a}" for a in accounts]
        since = min(ensure_aware(r.created_at) for r in mine) - CLOCK_MARGIN

        # ---- rows that exist only for their comments
        for chunk in _chunks(comment_ids):
            items = list(session.execute(
                select(ReplyQueueItem.id).where(ReplyQueueItem.platform == platform, ReplyQueueItem.comment_id.in_(chunk))
            ).scalars())
            if items:
                # a reply still waiting to be posted to the reply webhook would go out after the purge, naming
                # their comment, with no record left of it: withdrawn (one being posted right now finishes)
                posts = [key for key in session.execute(select(ReplyDraft.outbox_key).where(
                    ReplyDraft.item_id.in_(items), ReplyDraft.outbox_key.is_not(None))).scalars() if key]
                if posts:
                    counts["reply_posts_withdrawn"] += session.execute(
                        update(OutboxMessage).where(OutboxMessage.key.in_(posts), OutboxMessage.status == "pending")
                        .values(status=SUPERSEDED, last_error="withdrawn: its comment was purged (purge --author)")
                        .execution_options(synchronize_session=False)).rowcount or 0
                counts["reply_drafts"] += session.execute(delete(ReplyDraft).where(ReplyDraft.item_id.in_(items))).rowcount or 0
                counts["reply_events"] += session.execute(delete(ReplyEvent).where(ReplyEvent.item_id.in_(items))).rowcount or 0
                counts["reply_items"] += session.execute(delete(ReplyQueueItem).where(ReplyQueueItem.id.in_(items))).rowcount or 0
            # Corrections are training data built from the comment text: the request covers them too.
            counts["corrections"] += session.execute(
                delete(SentimentCorrection).where(SentimentCorrection.platform == platform,
                                                  SentimentCorrection.comment_id.in_(chunk))
            ).rowcount or 0
            # A template saved while answering them is the team's own text: it stays, without the link.
            counts["reply_templates"] += session.execute(
                update(SavedReplyTemplate)
                .where(SavedReplyTemplate.source_comment_id.in_(chunk),
                       or_(SavedReplyTemplate.account_key.is_(None), SavedReplyTemplate.account_key.in_(account_keys)))
                .values(source_comment_id=None)
            ).rowcount or 0
            counts["comments"] += session.execute(
                delete(Comment).where(Comment.platform == platform, Comment.comment_id.in_(chunk))
            ).rowcount or 0

        # ---- copies inside shared rows: only the accounts and time range their comments can be in
        raw_needles = copies.prefilter_needles()
        others_words = _in_others_words(copies)
        _redact_others_comments(session, others_words, counts, platform=platform, author_id=author_id,
                                accounts=accounts, since=since)

        for episode in list(session.scalars(
            select(AlertEpisode).where(AlertEpisode.platform == platform, AlertEpisode.account_id.in_(accounts),
                                       AlertEpisode.updated_at >= since)
        )):
            top = (episode.stats or {}).get("top_comments") or []
            # theirs go; someone else's that names or quotes them ("@王小明 说得对") stays without them,
            # or the next update of the alert would post their name again
            kept = [_without_them(c, others_words) for c in top
                    if not (isinstance(c, dict) and copies.is_theirs(c))]
            if kept != top:
                episode.stats = {**episode.stats, "top_comments": kept}
                session.add(episode)
                counts["alert_episodes"] += 1

        notice_ids: set[int] = set()
        id_needles = [json.dumps(c)[1:-1] for c in comment_ids]
        notices_in_scope = (RiskNotice.platform == platform, RiskNotice.account_id.in_(accounts),
                            RiskNotice.updated_at >= since)
        for chunk in _chunks(id_needles, 100):
            notice_ids.update(session.scalars(select(RiskNotice.id).where(
                *notices_in_scope, _contains_any(cast(RiskNotice.comment_ids, Text), [f'"{n}"' for n in chunk]))))
        for chunk in _chunks_matching(raw_needles, 200):  # examples of other people's comments naming them
            notice_ids.update(session.scalars(select(RiskNotice.id).where(
                *notices_in_scope, _contains_any(cast(RiskNotice.examples, Text), chunk))))
        for chunk in _chunks(sorted(notice_ids)):
            for notice in list(session.scalars(select(RiskNotice).where(RiskNotice.id.in_(chunk)))):
                ids = [i for i in (notice.comment_ids or []) if str(i) not in copies.comment_ids]
                # Examples keep no comment id: theirs are the ones with one of their texts.
                examples = [_without_them(e, others_words) for e in (notice.examples or [])
                            if not (isinstance(e, dict) and copies.is_theirs(e))]
                if ids != notice.comment_ids or examples != notice.examples:
                    notice.comment_ids, notice.examples = ids, examples
                    session.add(notice)
                    counts["risk_notices"] += 1

        message_copies = MessageCopies(copies)
        message_ids: set[int] = set()
        messages_in_scope = (OutboxMessage.created_at >= since, OutboxMessage.content_purged_at.is_(None))
        for chunk in _chunks_matching(raw_needles, 200):
            message_ids.update(session.scalars(select(OutboxMessage.id).where(
                *messages_in_scope, _contains_any(cast(OutboxMessage.payload, Text), chunk))))
        # A report's HTML and a review's Markdown travel base64-encoded in the payload, where no LIKE sees
        # their text: every message carrying files is read (a few a day: reports and reviews).
        message_ids.update(session.scalars(select(OutboxMessage.id).where(
            *messages_in_scope, cast(OutboxMessage.payload, Text).contains('"files"'))))
        touched = [message for chunk in _chunks(sorted(message_ids))
                   for message in list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(chunk))))
                   if message_copies.touches(message.payload)]
        chat_edits = ChatEdits(session, db, message_copies, now) if chat else None
        if chat_edits is not None:
            chat_edits.of_delivered(touched)  # from the payloads emptied below
        for message in touched:
            if message.status in FINISHED_OUTBOX:
                # Delivered (or given up): the team has seen it; keep only what retention keeps.
                message.payload, message.last_error, message.content_purged_at = {}, None, now
                counts["outbox_contents"] += 1
            elif chat_edits is not None:
                chat_edits.of_pending(message, message_copies.redact(message.payload))
                counts["outbox_redacted"] += 1
            else:
                # Still to be delivered: the message (and the files it carries) goes out without them.
                message.payload = message_copies.redact(message.payload)
                counts["outbox_redacted"] += 1
            session.add(message)
        if chat_edits is not None:
            counts.update(chat_edits.counts)

        for chunk, json_chunk in zip(_chunks(raw_needles, 200), _chunks_matching(raw_needles, 200), strict=True):
            counts["playbook_runs"] += _redact_text_column(
                session, copies, CrisisRun, "title", chunk, CrisisRun.started_at >= since)
            counts["playbook_timeline"] += _redact_text_column(
                session, copies, CrisisTimelineEntry, "text", chunk, CrisisTimelineEntry.at >= since)
            # A skip reason and a closing note are on the timeline too (redacted above), but the step and
            # the run keep their own copy; --var values are typed at the start.
            counts["playbook_reasons"] += _redact_text_column(
                session, copies, CrisisStep, "reason", chunk, CrisisStep.finished_at >= since)
            counts["playbook_reasons"] += _redact_text_column(
                session, copies, CrisisRun, "close_reason", chunk, CrisisRun.closed_at >= since)
            for run in list(session.scalars(select(CrisisRun).where(
                    CrisisRun.started_at >= since, _contains_any(cast(CrisisRun.variables, Text), json_chunk)))):
                if copies.touches_json(run.variables):
                    run.variables = copies.redact_json(run.variables)
                    session.add(run)
                    counts["playbook_reasons"] += 1

        # Other items' drafts, events and skip reasons: an escalation's result names the run, whose title
        # quoted them; a reply to someone else may address them by name; a skip reason may say "同王小明".
        for chunk, json_chunk in zip(_chunks(raw_needles, 200), _chunks_matching(raw_needles, 200), strict=True):
            for event in list(session.scalars(
                select(ReplyEvent).where(ReplyEvent.account_key.in_(account_keys), ReplyEvent.at >= since,
                                         or_(_contains_any(ReplyEvent.text, chunk),
                                             _contains_any(cast(ReplyEvent.details, Text), json_chunk)))
            )):
                if copies.touches(event.text) or copies.touches_json(event.details):
                    event.text = copies.redact(event.text) if event.text else event.text
                    event.details = copies.redact_json(event.details)
                    session.add(event)
                    counts["reply_events_redacted"] += 1
            # a draft's precheck keeps a copy of its text, and a rejection's reason may name them too
            for draft in list(session.scalars(
                select(ReplyDraft).where(ReplyDraft.account_key.in_(account_keys), ReplyDraft.written_at >= since,
                                         or_(_contains_any(ReplyDraft.text, chunk),
                                             _contains_any(ReplyDraft.reject_reason, chunk),
                                             _contains_any(cast(ReplyDraft.precheck, Text), json_chunk)))
            )):
                if copies.touches(draft.text) or copies.touches(draft.reject_reason) or copies.touches_json(draft.precheck):
                    draft.text = copies.redact(draft.text)
                    draft.reject_reason = copies.redact(draft.reject_reason) if draft.reject_reason else draft.reject_reason
                    draft.precheck = copies.redact_json(draft.precheck)
                    session.add(draft)
                    counts["reply_drafts_redacted"] += 1
            counts["reply_skip_reasons"] += _redact_text_column(
                session, copies, ReplyQueueItem, "skip_reason", chunk,
                ReplyQueueItem.account_key.in_(account_keys), ReplyQueueItem.closed_at >= since)

        # Pending hand-offs name comments by row id: drop theirs, and a hand-off left with none.
        for handoff in list(session.scalars(select(IngestHandoff).where(IngestHandoff.created_at >= since))):
            new = [i for i in handoff.new_ids or [] if i not in row_ids]
            updated = [i for i in handoff.updated_ids or [] if i not in row_ids]
            if new == handoff.new_ids and updated == handoff.updated_ids:
                continue
            counts["handoffs"] += 1
            if new or updated:
                handoff.new_ids, handoff.updated_ids = new, updated
                session.add(handoff)
            else:
                session.delete(handoff)
    log.info("author purge: %s", counts)  # counts only: never the person's id
    return counts
