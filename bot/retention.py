"""Personal data (China's PIPL): scheduled retention and the removal of one person's data."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import Text, cast, delete, func, or_, select, update

from bot.clock import ensure_aware
from bot.config import PLATFORMS, RetentionConfig
from bot.outbox import SUPERSEDED
from bot.redaction import AuthorCopies, PersonComment
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


def _chunks_matching(needles: list[str], size: int) -> Iterator[list[str]]:
    """`_chunks(needles)` with each needle also in the form a JSON column stores it."""
    for chunk in _chunks(needles, size):
        yield sorted(set(chunk) | {json.dumps(n)[1:-1] for n in chunk})


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


PURGE_KINDS = (
    # (count key, Chinese, English) in the order the CLI prints them
    ("comments", "评论", "comments"),
    ("dead_letters", "拒收记录", "dead letters"),
    ("reply_items", "回复队列条目", "reply-queue items"),
    ("reply_drafts", "回复草稿", "reply drafts"),
    ("reply_events", "回复记录", "reply events"),
    ("reply_events_redacted", "回复记录（删去引用）", "reply events redacted"),
    ("reply_drafts_redacted", "回复草稿（删去引用）", "reply drafts redacted"),
    ("reply_templates", "模板来源", "template sources"),
    ("corrections", "情感更正样本", "sentiment corrections"),
    ("alert_episodes", "告警（删去引用）", "alerts redacted"),
    ("risk_notices", "风险提醒（删去引用）", "risk notices redacted"),
    ("outbox_contents", "已发消息内容", "sent message contents"),
    ("outbox_redacted", "待发消息（删去引用）", "pending messages redacted"),
    ("playbook_runs", "预案标题", "playbook run titles"),
    ("playbook_timeline", "预案时间线条目", "playbook timeline entries"),
    ("handoffs", "待处理交接", "ingest hand-offs"),
)


def purge_author(db: Database, platform: str, author_id: str, now: datetime | None = None) -> dict[str, int]:
    """Remove one person's comments and every copy of them, in one transaction (PIPL deletion).

    Rows that exist only for their comments go: their reply-queue items with drafts and events, their
    sentiment corrections (training data), dead letters naming them. Copies inside shared rows are cut
    out: their entries in alert episodes' top comments and in risk notices' examples and ids; their
    quotes, comment refs and name in pending chat messages, playbook run titles and timelines, and other
    reply items' drafts and events. A sent or failed message that quotes or names them loses its content
    as retention does (`content_purged_at`); the row stays for idempotency. Copies are found by comment
    id where they keep it, else by the comment text (read before the comments are deleted) and name,
    and only among the accounts and the time since their first comment.
    """
    from bot.alerts.models import AlertEpisode, RiskNotice
    from bot.playbooks.models import CrisisRun, CrisisTimelineEntry
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
        for episode in list(session.scalars(
            select(AlertEpisode).where(AlertEpisode.platform == platform, AlertEpisode.account_id.in_(accounts),
                                       AlertEpisode.updated_at >= since)
        )):
            top = (episode.stats or {}).get("top_comments") or []
            kept = [c for c in top if not (isinstance(c, dict) and copies.is_theirs(c))]
            if len(kept) != len(top):
                episode.stats = {**episode.stats, "top_comments": kept}
                session.add(episode)
                counts["alert_episodes"] += 1

        id_needles = [json.dumps(c)[1:-1] for c in comment_ids]
        for chunk in _chunks(id_needles, 100):
            for notice in list(session.scalars(
                select(RiskNotice).where(RiskNotice.platform == platform, RiskNotice.account_id.in_(accounts),
                                         RiskNotice.updated_at >= since,
                                         _contains_any(cast(RiskNotice.comment_ids, Text), [f'"{n}"' for n in chunk]))
            )):
                ids = [i for i in (notice.comment_ids or []) if str(i) not in copies.comment_ids]
                # Examples keep no comment id: theirs are the ones with one of their texts.
                examples = [e for e in (notice.examples or []) if not (isinstance(e, dict) and copies.is_theirs(e))]
                if ids != notice.comment_ids or examples != notice.examples:
                    notice.comment_ids, notice.examples = ids, examples
                    session.add(notice)
                    counts["risk_notices"] += 1

        raw_needles = copies.prefilter_needles()
        for chunk in _chunks_matching(raw_needles, 200):
            for message in list(session.scalars(
                select(OutboxMessage).where(OutboxMessage.created_at >= since,
                                            OutboxMessage.content_purged_at.is_(None),
                                            _contains_any(cast(OutboxMessage.payload, Text), chunk))
            )):
                if not copies.message_touches(message.payload):
                    continue
                if message.status in FINISHED_OUTBOX:
                    # Delivered (or given up): the team has seen it; keep only what retention keeps.
                    message.payload, message.last_error, message.content_purged_at = {}, None, now
                    counts["outbox_contents"] += 1
                else:
                    # Still to be delivered: the message goes out without their words.
                    message.payload = copies.redact_message(message.payload)
                    counts["outbox_redacted"] += 1
                session.add(message)

        for chunk in _chunks(raw_needles, 200):
            counts["playbook_runs"] += _redact_text_column(
                session, copies, CrisisRun, "title", chunk, CrisisRun.started_at >= since)
            counts["playbook_timeline"] += _redact_text_column(
                session, copies, CrisisTimelineEntry, "text", chunk, CrisisTimelineEntry.at >= since)

        # Other items' drafts and events: an escalation's result names the run, whose title quoted them;
        # a reply to someone else may address them by name.
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
            counts["reply_drafts_redacted"] += _redact_text_column(
                session, copies, ReplyDraft, "text", chunk,
                ReplyDraft.account_key.in_(account_keys), ReplyDraft.written_at >= since)

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
