"""Neutral messages for the reply queue (Chinese first, English after): queue items, results, stats."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.clock import ensure_aware
from bot.durations import ago_zh_en, duration_en, duration_zh_en, overdue_zh_en, utc_offset, zone_text
from bot.i18n import num, platform_label
from bot.messages import Button, Field, Message, Section, inert, outsider_text
from bot.replies.models import (
    ANSWERED,
    HISTORY,
    PENDING_APPROVAL,
    REPLIED,
    SKIPPED,
    UNANSWERED_STATES,
    ReplyDraft,
    ReplyQueueItem,
)
from bot.replies.precheck import PrecheckResult
from bot.sentiment.actions import comment_ref, review_button
from bot.sentiment.corrections import CORRECTION_MODEL_NAME
from bot.sentiment.explain import LABEL_ZH
from bot.storage.models import Comment

ACTION_PREFIX = "reply."
# Message meta naming the queue items a card shows, in section order: a press (or a typed command) on one
# of them re-renders the card in place from the items' stored state, never posting it again.
CARD_META = "reply_queue_card"
CLOSED_STATES = (REPLIED, ANSWERED, SKIPPED, HISTORY)
DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
# a commenter's name on a card, at most (names are the commenter's choice, of any length)
AUTHOR_MAX = 30
_LABEL_EN = {"neg": "negative", "neu": "neutral", "pos": "positive"}


def short_count(value: int | None, lang: str = "zh") -> str:
    """A like or follower count on a card: "2,639", "1.2万" from ten thousand on; an English card writes it
    out ("12,000": 万 is a Chinese figure)."""
    if value is None:
        return "?"
    if value >= 10_000 and lang != "en":
        return f"{value / 10_000:.1f}万".replace(".0万", "万")
    return num(value)


def account_label(account_key: str, account_name: str | None, lang: str = "zh") -> str:
    """An account as people know it: its configured name, else its platform and id ("抖音 acc", in English
    "Douyin acc"). The raw key ("douyin:acc") read as a config value in a message meant for the team."""
    if account_name:
        return account_name
    platform, _, account_id = account_key.partition(":")
    return f"{platform_label(platform, lang)} {account_id or account_key}"


def clip(text: str, limit: int = 140) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def local_time(value: datetime, zone: tzinfo | None) -> str:
    return ensure_aware(value).astimezone(zone or DEFAULT_ZONE).strftime("%m-%d %H:%M")


def item_buttons(item_id: int, sentiment_ref: str | None = None, lang: str = "zh") -> tuple[Button, ...]:
    """An item's buttons; `sentiment_ref` ("platform:COMMENT_ID") adds "纠正情感 / Fix sentiment". `lang` "en"
    (a card of a channel set to English): named in English alone."""
    english = lang == "en"
    buttons = (
        Button("Claim" if english else "认领 Claim", f"{ACTION_PREFIX}claim:{item_id}", str(item_id), "primary"),
        Button("Replied" if english else "已回复 Replied", f"{ACTION_PREFIX}done:{item_id}", str(item_id)),
        Button("Skip" if english else "跳过 Skip", f"{ACTION_PREFIX}skip:{item_id}", str(item_id)),
        Button("Escalate" if english else "升级 Escalate", f"{ACTION_PREFIX}escalate:{item_id}", str(item_id),
               "danger"),
        Button("Suggest" if english else "建议回复 Suggest", f"{ACTION_PREFIX}suggest:{item_id}", str(item_id)),
    )
    fix = review_button([sentiment_ref], lang=lang) if sentiment_ref else None
    return (*buttons, fix) if fix else buttons


def risk_terms(comment: Comment | None) -> list[str]:
    if comment is None:
        return []
    from bot.replies.service import signals_of

    return list(signals_of(comment).risk_terms)


def item_section(item: ReplyQueueItem, comment: Comment | None, *, now: datetime, score: float | None,
                 overdue: bool, account_name: str | None, user: str | None = None,
                 zone: tzinfo | None = None, buttons: bool = True, reasons: str = "", lang: str = "zh") -> Section:
    """One queue item: text, video, likes, age, sentiment, risk flags, claim state, and the buttons.
    `reasons` (the biggest parts of the score) is shown beside the priority: why it ranks where it does.
    `lang` "en" (an English channel): in English alone (Sentiment, Priority, Douyin…, claimed by, replied by),
    the comment, its author and its video's title quoted as written."""
    english = lang == "en"
    age = now - ensure_aware(item.created_at)
    platform = platform_label(item.platform, lang)
    head = f"**#{item.id}**"
    if overdue:
        late = now.timestamp() - item.due_ts
        # worded as /crisis words late steps: "逾期 0分钟" under a minute read as a glitch
        zh, en = overdue_zh_en(timedelta(seconds=late), "逾期")
        head += f" 🔴 **{en}**" if english else f" 🔴 **{zh} / {en}**"
    elif item.urgent:
        head += " 🟠 urgent" if english else " 🟠 急 / urgent"
    if item.escalated_at:
        head += " ⬆️ escalated" if english else " ⬆️ 已升级 / escalated"
    # the comment, its author and the video's title are outsiders' words: inert, so "[官方客服](http://…)"
    # typed into any of them shows as typed, never as a link the team takes for the bot's own
    title = item.content_id
    if comment:  # ("]" would end the link label early)
        title = outsider_text(clip(comment.content_title or item.content_id, 30)).replace("]", "］")
    video = f"[{title}]({comment.content_url})" if comment and comment.content_url else title
    where = f"{platform} {account_name}" if account_name else account_label(item.account_key, None, lang)
    lines = [f"{head} · {where} · “{video}”" if english else f"{head} · {where} · 《{video}》"]
    text = outsider_text(clip(comment.text if comment else ""))
    author = author_text(comment.author_name if comment else None, lang)
    if english:
        lines.append(f"> {text or '(sticker only)'} — {author}")
    else:
        lines.append(f"> {text or '（仅表情 / sticker only）'} —— {author}")
    followers = comment.author_followers if comment else None
    facts = [
        f"👍 {short_count(comment.like_count if comment else 0, lang)}",
        # unknown (the feed has no follower counts, or the retention window removed them): left out, not "粉丝 ?"
        *([f"{'followers' if english else '粉丝'} {short_count(followers, lang)}"] if followers is not None else []),
        # in the shared words ("2 小时 5 分钟前", "刚刚"): "0分钟前" and "3小时5分" read as other units
        _ago_en(age) if english else ago_zh_en(age),
    ]
    if comment is not None:
        from bot.replies.service import signals_of

        signals = signals_of(comment)
        if english:
            facts.append(_sentiment_en(signals, corrected=comment.sentiment_model == CORRECTION_MODEL_NAME))
        elif comment.sentiment_model == CORRECTION_MODEL_NAME and signals.label:
            # a person's label (`/sentiment fix`), stored as 1.00/0.00: shown as a probability it read as a
            # model 100% sure
            facts.append(f"情绪 {LABEL_ZH.get(signals.label, signals.label)}（人工标注 / labelled "
                         f"{_LABEL_EN.get(signals.label, signals.label)} by a person）")
        elif signals.scored and signals.label:
            # the stored score is P(pos): named, so "负面 0.07" is not read as "7% negative"
            if signals.label == "neg" and signals.neg_score is not None:
                # a negative comment's own probability ("负面（正面概率 0.02）" said the wrong side's)
                score_text = f"（负面概率 P(neg) {signals.neg_score:.2f}）"
            else:
                score_text = f"（正面概率 P(pos) {signals.score:.2f}）" if signals.score is not None else ""
            facts.append(f"情绪 {LABEL_ZH.get(signals.label, signals.label)}{score_text}")
        elif signals.label:
            facts.append(f"情绪 {LABEL_ZH.get(signals.label, signals.label)}（关键词判断 / by keywords）")
        else:
            facts.append("情绪 未评分 / unscored")
    terms = risk_terms(comment)
    if terms:
        facts.append(("⚠️ Risk " if english else "⚠️ 风险 ") + (", " if english else "、").join(dict.fromkeys(terms)))
    if score is not None:
        if english:
            facts.append(f"Priority {score:.0f}" + (f" ({reasons})" if reasons else ""))
        else:
            facts.append(f"优先级 {score:.0f}" + (f"（{reasons}）" if reasons else ""))
    lines.append(" · ".join(facts))
    closed = closed_line(item, zone, lang)
    if closed:
        lines.append(closed)  # a claim left on a handled item no longer means anything
    elif item.state == PENDING_APPROVAL:
        writer = item.claimed_by_name or item.claimed_by
        lines.append(f"⏳ awaiting approval ({writer})" if english else f"⏳ 待审批 / awaiting approval（{writer}）")
    elif item.claimed_by and item.claim_expires_at and ensure_aware(item.claim_expires_at) > now:
        until = local_time(item.claim_expires_at, zone)
        if english:
            who = "you" if user and item.claimed_by == user else (item.claimed_by_name or item.claimed_by)
            lines.append(f"🔒 claimed by {who} until {until}")
        else:
            who = "你 / you" if user and item.claimed_by == user else (item.claimed_by_name or item.claimed_by)
            lines.append(f"🔒 {who} 认领中，至 {until} / claimed until then")
    ref = comment_ref(item.platform, item.comment_id) if comment is not None else None
    # A handled item keeps its text (so the card still says which comment it was) but loses its buttons.
    return Section(text="\n".join(lines),
                   buttons=item_buttons(item.id or 0, ref, lang) if buttons and not closed else ())


def _ago_en(age: timedelta) -> str:
    """`ago_zh_en` in English alone: "2 h 5 min ago", "just now" under a minute."""
    return "just now" if age < timedelta(minutes=1) else f"{duration_en(age)} ago"


def _sentiment_en(signals, *, corrected: bool) -> str:
    """The sentiment fact of an English card, as the Chinese one says it (a person's label, the model's
    probability of the label's own side, the keywords' guess, or none)."""
    label = _LABEL_EN.get(signals.label, signals.label)
    if corrected and signals.label:
        return f"Sentiment {label} (labelled by a person)"
    if signals.scored and signals.label:
        if signals.label == "neg" and signals.neg_score is not None:
            return f"Sentiment {label} (P(neg) {signals.neg_score:.2f})"
        return f"Sentiment {label}" + (f" (P(pos) {signals.score:.2f})" if signals.score is not None else "")
    if signals.label:
        return f"Sentiment {label} (by keywords)"
    return "Sentiment unscored"


def author_text(name: str | None, lang: str = "zh") -> str:
    """A commenter's name as cards show it: inert (an outsider chose it) and clipped (a 500-character name
    must not push a card past the platforms' size limits)."""
    # no name: the feed gave none, or the retention window removed it (PIPL): said in words, not "?"
    if name and name.strip():
        return outsider_text(clip(name, AUTHOR_MAX))
    return "unknown author" if lang == "en" else "作者未知 / unknown author"


def closed_line(item: ReplyQueueItem, zone: tzinfo | None = None, lang: str = "zh") -> str | None:
    """How a handled item ended, in words (None while it still waits for an answer; `lang` "en": English
    alone)."""
    # (an item answered in the app carries the feed's author name of the reply: outsiders' text too)
    who = outsider_text(item.responder_name) if item.responder_name else inert(item.responder or "?")
    if lang == "en":
        at = f" ({local_time(item.closed_at, zone)})" if item.closed_at else ""
        if item.state == REPLIED:
            return f"✅ replied by {who}{at}"
        if item.state == ANSWERED:
            return f"✅ answered in the app{at}"
        if item.state == SKIPPED:
            return f"⏭️ skipped by {who}{at}" + (f": {item.skip_reason}" if item.skip_reason else "")
        if item.state == HISTORY:
            return "🗄 history: too old when it arrived, not queued"
        return None
    when = f"（{local_time(item.closed_at, zone)}）" if item.closed_at else ""
    if item.state == REPLIED:
        return f"✅ 已回复 · {who}{when} / replied by {who}"
    if item.state == ANSWERED:
        return f"✅ 品牌账号已在平台内回复{when} / answered in the app"
    if item.state == SKIPPED:
        reason = f"：{item.skip_reason}" if item.skip_reason else ""
        return f"⏭️ 已跳过 · {who}{when}{reason} / skipped by {who}"
    if item.state == HISTORY:
        return "🗄 历史评论：首次收到时已过回复时效，不在回复队列中 / history: too old when it arrived, not queued"
    return None


def history_note(item: ReplyQueueItem, zone: tzinfo | None = None, lang: str = "zh") -> str:
    """The answer to claim/done/skip on an item kept out of the queue as history (`lang` "en": English alone)."""
    written = local_time(item.created_at, zone)
    en = (f"#{item.id} is history (written {written}, already past replies.history_after_hours when it arrived): "
          f"it is not in the reply queue and has no deadline.")
    if lang == "en":
        return en
    return (f"#{item.id} 是历史评论（写于 {written}，首次收到时已超过 replies.history_after_hours），不在回复队列中，"
            f"没有回复时限。\n{en}")


def history_import_line(count: int, hours: int) -> str:
    """The import summary's line for comments stored as history instead of being queued."""
    return (f"回复队列 / reply queue: {num(count)} 条评论写于 {hours} 小时之前，已存为历史（照常打分、计入报告），不进入待回复队列、"
            f"不计回复时限 / {num(count)} comment(s) older than {hours} h kept out of the reply queue as history (scored and "
            f"reported as usual, no reply deadline; replies.history_after_hours)")


def card_meta(item_ids: Sequence[int], *, approval_draft: int | None = None, queue: Mapping | None = None,
              reminder: Mapping | None = None, lang: str = "zh") -> dict:
    """The meta that makes a message a queue card (see CARD_META). `queue` (scope and filters of a
    /reply-queue answer) or `reminder` (its account) lets a refresh write the summary line anew; `lang`
    "en" (kept only then) lets it write the items in the language the card was posted in."""
    card: dict = {"items": [int(i) for i in item_ids]}
    if lang == "en":
        card["lang"] = "en"
    if approval_draft is not None:
        card["approval_draft"] = int(approval_draft)
    if queue is not None:
        card["queue"] = dict(queue)
    if reminder is not None:
        card["reminder"] = dict(reminder)
    return {CARD_META: card}


def card_info(message: Message) -> dict:
    """The card's CARD_META dict ({} for a message that is no queue card, or one posted before it)."""
    card = message.meta.get(CARD_META) if isinstance(message.meta, dict) else None
    return card if isinstance(card, dict) else {}


def card_lang(message: Message) -> str:
    """The language a card's items were written in: "en" or "zh" (cards posted before cards kept it: "zh")."""
    return "en" if card_info(message).get("lang") == "en" else "zh"


_FILTER_PAIR = re.compile(r"（[^（）]*? / ([^（）]*)）")


def _filters_en(filters: str) -> str:
    """The filters for the English line: "（仅逾期 / overdue only）" -> " (overdue only)". The handler writes
    them (and cards keep them) as the Chinese line shows them, both languages in one bracket; repeated whole
    on the English line they read "1 unanswered（仅逾期 / overdue only）"."""
    return _FILTER_PAIR.sub(r" (\1)", filters)


def _queue_totals(scope_text: str, filters: str, total: int, overdue: int) -> tuple[str, str]:
    """(zh, en) of the backlog a /reply-queue answer lists from: how many wait, how many of them are late."""
    zh = f"{scope_text}：待回复 {num(total)} 条{filters}"
    en = f"{num(total)} unanswered{_filters_en(filters)}"
    if overdue:
        zh += f"，其中 **逾期 {num(overdue)} 条**"
        en += f", {num(overdue)} overdue"
    return zh, en


def _totals_en(filters: str, total: int, overdue: int) -> str:
    """The backlog's totals for an answer in English alone: the overdue count stands out, as on the Chinese
    line (the English line beside it had it plain)."""
    late = f", **{num(overdue)} overdue**" if overdue else ""
    return f"{num(total)} unanswered{_filters_en(filters)}{late}"


def _card_counts(scope_text: str, filters: str, ids: Sequence[int], waiting: Sequence[ReplyQueueItem], *,
                 overdue: int, claimed: int, span: tuple[str, str] = ("", ""), lang: str = "zh") -> str:
    """A refreshed queue card's summary: its own items as they are now (the backlog's totals were the
    answer's, at the time it was given: they are not recounted on every press). `span`: which ranks of a
    longer answer the card shows, (zh, en). `lang` "en" (a card posted in an English channel): English
    alone."""
    handled = len(ids) - len(waiting)
    if lang == "en":
        if not waiting:
            return (f"{scope_text}: all {len(ids)} comment(s) on this card are handled"
                    f"{_filters_en(filters)}{span[1]} ✅")
        en = f"{scope_text}: {len(waiting)} of {len(ids)} on this card unanswered{_filters_en(filters)}"
        if overdue:
            en += f", **{overdue} overdue**"
        if claimed:
            en += f", {claimed} claimed"
        if handled:
            en += f"; {handled} handled"
        return en + span[1]
    if not waiting:
        return (f"{scope_text}：本卡 {len(ids)} 条评论已全部处理 ✅{filters}{span[0]}\n"
                f"All {len(ids)} comment(s) on this card are handled{_filters_en(filters)}{span[1]}.")
    zh = f"{scope_text}：本卡 {len(ids)} 条中 {len(waiting)} 条待回复{filters}"
    en = f"On this card: {len(waiting)} of {len(ids)} unanswered{_filters_en(filters)}"
    if overdue:
        zh += f"，其中 **{overdue} 条逾期**"
        en += f", {overdue} overdue"
    if claimed:
        zh += f"，{claimed} 条已认领"
        en += f", {claimed} claimed"
    if handled:
        zh += f"；{handled} 条已处理"
        en += f"; {handled} handled"
    return f"{zh}{span[0]}\n{en}{span[1]}"


def claim_is_live(item: ReplyQueueItem, now: datetime) -> bool:
    """Whether someone holds the item now (a claim whose time ran out holds nothing)."""
    return bool(item.claimed_by and item.claim_expires_at and ensure_aware(item.claim_expires_at) > now)


def card_summary(card: Message, items: Mapping[int, ReplyQueueItem], *, now: datetime,
                 overdue_total: int | None = None) -> tuple[str, int | None] | None:
    """A refreshed card's summary text and severity, counted from its items' stored state now (the counts
    of the card as posted went stale as items were claimed, answered or skipped, claims expired and
    deadlines passed). None: keep the card's text (an approval card, or one posted without the meta)."""
    info = card_info(card)
    ids = card_items(card)
    current = [items.get(i) for i in ids]
    waiting = [i for i in current if i is not None and i.state in UNANSWERED_STATES]
    overdue = sum(1 for i in waiting if now.timestamp() > i.due_ts)
    claimed = sum(1 for i in waiting if claim_is_live(i, now))
    handled = len(ids) - len(waiting)
    severity = 2 if overdue else None
    english = card_lang(card) == "en"  # a card posted in an English channel is summed up in English alone
    queue = info.get("queue")
    if isinstance(queue, dict) and not info.get("approval_draft"):
        scope_text, filters = str(queue.get("scope", "")), str(queue.get("filters", ""))
        first = queue.get("first")
        span = ("", "")
        if isinstance(first, int) and first > 0 and ids:  # which ranks of a longer answer this card shows
            last = first + len(ids) - 1
            span = (f"（本卡为第 {num(first)}–{num(last)} 条）", f" (items {num(first)}–{num(last)})")
        return (_card_counts(scope_text, filters, ids, waiting, overdue=overdue, claimed=claimed, span=span,
                             lang="en" if english else "zh"), severity if waiting else None)
    reminder = info.get("reminder")
    if isinstance(reminder, dict) and overdue_total is not None:
        name = str(reminder.get("name") or reminder.get("account") or "")
        if english:
            below = f"{handled} of the {len(ids)} below handled"
            if not overdue_total:
                return f"✅ No comment of {name} is past the reply SLA any more ({below}).", None
            return (f"{_past_sla_en(overdue_total, name)} now ({below}). "
                    f"Type /reply-queue --overdue to see {'it' if overdue_total == 1 else 'them all'}."), 2
        if not overdue_total:
            return (f"✅ {name} 已没有超过回复时限的评论（本提醒中 {handled}/{len(ids)} 条已处理）。\n"
                    f"No comment of {name} is past the reply SLA any more.", None)
        return (f"{name} 现有 {num(overdue_total)} 条评论超过回复时限（本提醒中 {handled}/{len(ids)} 条已处理）。"
                f"输入 /reply-queue --overdue 查看全部。\n{num(overdue_total)} comment(s) of {name} are past the reply SLA "
                f"now ({handled} of the {len(ids)} below handled)."), 2
    return None


def card_items(message: Message) -> list[int]:
    """The item ids a card shows, in section order; cards posted before CARD_META are read off their buttons."""
    card = message.meta.get(CARD_META) if isinstance(message.meta, dict) else None
    if isinstance(card, dict) and isinstance(card.get("items"), list):
        return [int(i) for i in card["items"] if str(i).isdigit()]
    ids: list[int] = []
    for section in message.sections:
        for button in section.buttons:
            verb, _, rest = button.action_id.removeprefix(ACTION_PREFIX).partition(":")
            if button.action_id.startswith(ACTION_PREFIX) and verb == "claim" and rest.isdigit():
                ids.append(int(rest))
                break
    return ids if len(ids) == len(message.sections) else []


def refreshed_card(card: Message, sections: Mapping[int, Section], *, draft: ReplyDraft | None = None,
                   summary: tuple[str, int | None] | None = None) -> Message:
    """The card with each shown item's section replaced by its current one (items gone keep their old text,
    without buttons); an approval card keeps 批准/驳回 only while its draft still waits. `summary` (from
    `card_summary`) replaces the card's text and severity."""
    ids = card_items(card)
    new_sections = tuple(
        sections.get(item_id) or Section(text=old.text)
        for item_id, old in zip(ids, card.sections, strict=False)
    ) + tuple(card.sections[len(ids):])
    text, buttons, severity = card.text, card.buttons, card.severity
    if summary is not None:
        text, severity = summary
    if draft is not None and draft.status != "pending_approval":
        who = draft.approver_name or draft.approver or "?"
        english = card_lang(card) == "en"  # an approval card posted in an English channel stays English
        if draft.status == "rejected":
            if english:
                status = f"↩️ Rejected by {who}" + (f": {draft.reject_reason}" if draft.reject_reason else "")
            else:
                reason = f"：{draft.reject_reason}" if draft.reject_reason else ""
                status = f"↩️ 已被 {who} 驳回{reason} / rejected by {who}"
        else:
            status = f"✅ Approved by {who}" if english else f"✅ 已由 {who} 批准 / approved by {who}"
        text, buttons = f"{card.text}\n\n{status}", ()
    return Message(text=text, title=card.title, fields=card.fields, sections=new_sections, buttons=buttons,
                   severity=severity, meta=dict(card.meta))


#: Queue items per card. A card is one chat message, within both platforms' limits for any item: Slack
#: allows 50 blocks (an item is 3: divider, text, buttons), Feishu 200 components and 30 KB of card JSON (an
#: item with its inline forms is ~23 components and, at the longest texts a card shows (140-character
#: comment, 30-character title and name, a 300-character video address), ~4 KB). 5 items: 18 blocks,
#: ~116 components, ~20 KB at most. A longer answer goes out as several cards, each refreshed on its own.
ITEMS_PER_CARD = 5


def queue_messages(entries: Sequence, *, now: datetime, names: Mapping[str, str], user: str, scope_text: str,
                   filters: str, zone: tzinfo | None = None, history: int = 0, history_hours: int | None = None,
                   total: int | None = None, overdue_total: int | None = None, offset: int = 0,
                   page_size: int | None = None, next_command: str | None = None, lang: str = "zh") -> list[Message]:
    """The /reply-queue answer: the backlog's totals (`total` unanswered, `overdue_total` of them late, with
    the filters), which ranks this page shows, the command for the next page, then the items, ITEMS_PER_CARD
    to a card (every item the text promises reaches the channel, whatever the platform's message limits).
    An empty queue says how many comments were kept out as history (`history`), so that a queue left empty
    by an import of old comments is not a mystery. `lang`: the channel's language (see `item_section`); "en":
    the whole answer in English alone (`scope_text` then written in English by the caller)."""
    english = lang == "en"
    title_text = "Reply queue" if english else "回复队列 / Reply queue"
    if total is None:
        total = len(entries)
    if overdue_total is None:
        overdue_total = sum(1 for e in entries if e.overdue)
    if not entries:
        if total:  # a page past the last one
            size = page_size or 1
            pages = -(-total // size)
            if english:
                text = (f"{scope_text}: {num(total)} unanswered{_filters_en(filters)}: {num(pages)} page(s) "
                        f"of {size}; page {offset // size + 1} is empty.")
                return [Message(title=title_text, text=text, ephemeral=True)]
            text = (f"{scope_text}：待回复 {num(total)} 条{filters}，每页 {size} 条共 {num(pages)} 页，第 {offset // size + 1} "
                    f"页没有评论。\n{num(total)} unanswered{_filters_en(filters)}: {num(pages)} page(s) of {size}; "
                    f"page {offset // size + 1} is empty.")
            return [Message(title=title_text, text=text, ephemeral=True)]
        if english:
            text = f"{scope_text}: nothing waiting for a reply{_filters_en(filters)} 🎉"
            if history and history_hours:
                text += (f"\n{num(history)} comment(s) already older than {history_hours} h on arrival are "
                         f"kept as history, not queued.")
            return [Message(title=title_text, text=text)]
        text = f"{scope_text}：没有待回复的评论{filters} 🎉\nNothing waiting for a reply{_filters_en(filters)}."
        if history and history_hours:
            text += (f"\n另有 {num(history)} 条评论到达时已写于 {history_hours} 小时之前，存为历史，不在队列中 / {num(history)} "
                     f"comment(s) already older than {history_hours} h on arrival are kept as history, not queued.")
        return [Message(title=title_text, text=text)]
    cards = [entries[i:i + ITEMS_PER_CARD] for i in range(0, len(entries), ITEMS_PER_CARD)]
    first, last = offset + 1, offset + len(entries)
    totals_zh, totals_en = _queue_totals(scope_text, filters, total, overdue_total)
    size = page_size or len(entries)
    pages = max(1, -(-total // size))
    page = offset // size + 1
    if first == 1 and last >= total:
        shown_zh, shown_en = f"以下为全部 {num(total)} 条（按优先级）", f"all {num(total)} below, by priority"
    else:
        shown_zh = f"按优先级显示第 {num(first)}–{num(last)} 条（第 {num(page)}/{num(pages)} 页）"
        shown_en = f"items {num(first)}–{num(last)} by priority (page {num(page)} of {num(pages)})"
    if len(cards) > 1:
        shown_zh += f"，分 {len(cards)} 张卡片"
        shown_en += f", on {len(cards)} cards"
    if next_command and last < total:
        shown_zh += f"；下一页：{next_command}"
        shown_en += f"; next page: {next_command}"
    messages = []
    for number, chunk in enumerate(cards, 1):
        start = first + (number - 1) * ITEMS_PER_CARD
        sections = tuple(
            item_section(e.item, e.comment, now=now, score=e.score, overdue=e.overdue,
                         account_name=names.get(e.item.account_key), user=user, zone=zone,
                         reasons=getattr(e, "reasons", ""), lang=lang)
            for e in chunk
        )
        if english:
            # the Chinese line's order (the accounts, the totals, then which ranks), in English alone
            text = (f"{scope_text}: {_totals_en(filters, total, overdue_total)}\n"
                    f"{shown_en[:1].upper()}{shown_en[1:]}" if number == 1 else
                    f"{scope_text}: items {num(start)}–{num(start + len(chunk) - 1)}{_filters_en(filters)} "
                    f"(card {number} of {len(cards)})")
        elif number == 1:
            text = f"{totals_zh}\n{shown_zh}\n{totals_en}; {shown_en}"
        else:
            text = (f"{scope_text}：第 {num(start)}–{num(start + len(chunk) - 1)} 条{filters}（第 {number}/{len(cards)} 张卡片）\n"
                    f"Items {num(start)}–{num(start + len(chunk) - 1)}{_filters_en(filters)} (card {number} of {len(cards)})")
        title = title_text + ((f" ({number}/{len(cards)})" if english else f"（{number}/{len(cards)}）")
                              if len(cards) > 1 else "")
        overdue_here = any(e.overdue for e in chunk)
        messages.append(Message(
            title=title, text=text, sections=sections,
            severity=2 if (overdue_here or (number == 1 and overdue_total)) else None,
            meta=card_meta([e.item.id or 0 for e in chunk], queue={
                "scope": scope_text, "filters": filters,
                # the ranks, for a refresh to say which part of a longer answer a card is
                **({"first": start} if len(cards) > 1 or offset else {})}, lang=lang)))
    return messages


MAX_PRECHECK_SECTIONS = 20


def precheck_message(result: PrecheckResult, *, title: str | None = None, lang: str = "zh") -> Message:
    """The precheck's findings; `lang` "en" (a channel set to English): English alone, the flagged terms and
    the configured suggestions quoted as they are."""
    english = lang == "en"
    if title is None:
        title = "Precheck" if english else "发布前自检 / Precheck"
    if english:
        return _precheck_message_en(result, title)
    if result.ok:
        return Message(title=title, text="✅ 未发现问题，可以发布。\nNo findings: OK to publish.")
    groups = _grouped_findings(result)  # one section per distinct finding, with its count
    sections = []
    for same in groups[:MAX_PRECHECK_SECTIONS]:
        f = same[0]
        mark = "⛔ 必须修改 / blocks" if f.blocks else "⚠️ 建议修改 / advice"
        times = f" ×{len(same)}" if len(same) > 1 else ""
        sections.append(Section(text=(
            f"{mark} · **{f.term}**{times} · {f.label_zh} / {f.label_en}\n"
            f"原因：{f.why_zh}\nWhy: {f.why_en}\n"
            f"建议：{f.suggestion}"
        )))
    if len(groups) > MAX_PRECHECK_SECTIONS:
        rest = len(groups) - MAX_PRECHECK_SECTIONS
        sections.append(Section(text=f"……另有 {rest} 项，请先修改以上内容后再自检。\n…{rest} more: fix the above and check again."))
    head = (f"⛔ 有 {len(result.blocking)} 处必须修改，修改前不能以品牌身份发布。\n"
            f"{len(result.blocking)} blocking finding(s): edit before posting as the brand."
            if result.blocked else
            f"⚠️ 有 {len(result.findings)} 处建议修改（不阻止发布）。\n{len(result.findings)} advisory finding(s).")
    if result.suggested_text:
        head += f"\n\n建议改写 / Suggested rewording：\n> {result.suggested_text}"
    elif result.blocked:
        # some flagged phrase has no safe equivalent: a half-rewritten sentence is not offered
        head += ("\n\n没有可直接使用的改写：请按下面每一项的建议修改。\n"
                 "No safe automatic rewording: edit each flagged phrase as suggested below.")
    return Message(title=title, text=head, sections=tuple(sections), severity=2 if result.blocked else None)


def _grouped_findings(result: PrecheckResult) -> list[list]:
    """One group per distinct finding, with its repeats: a draft repeating 最 five times is one thing to fix,
    and chat platforms cap a message's blocks (Slack: 50)."""
    grouped: dict[tuple, list] = {}
    for f in result.findings:
        grouped.setdefault((f.term, f.label_zh, f.blocks), []).append(f)
    return list(grouped.values())


def _precheck_message_en(result: PrecheckResult, title: str) -> Message:
    """`precheck_message` in a channel set to English."""
    if result.ok:
        return Message(title=title, text="✅ No findings: OK to publish.")
    groups = _grouped_findings(result)
    sections = []
    for same in groups[:MAX_PRECHECK_SECTIONS]:
        f = same[0]
        times = f" ×{len(same)}" if len(same) > 1 else ""
        sections.append(Section(text=(f"{'⛔ blocks' if f.blocks else '⚠️ advice'} · **{f.term}**{times} · "
                                      f"{f.label_en}\nWhy: {f.why_en}\nSuggestion: {f.suggestion}")))
    if len(groups) > MAX_PRECHECK_SECTIONS:
        sections.append(Section(text=f"…{len(groups) - MAX_PRECHECK_SECTIONS} more: fix the above and check again."))
    head = (f"⛔ {len(result.blocking)} blocking finding(s): edit before posting as the brand." if result.blocked
            else f"⚠️ {len(result.findings)} advisory finding(s) (posting is not blocked).")
    if result.suggested_text:
        head += f"\n\nSuggested rewording:\n> {result.suggested_text}"
    elif result.blocked:
        head += "\n\nNo safe automatic rewording: edit each flagged phrase as suggested below."
    return Message(title=title, text=head, sections=tuple(sections), severity=2 if result.blocked else None)


def approval_message(draft: ReplyDraft, item: ReplyQueueItem, comment: Comment | None, *, now: datetime,
                     account_name: str | None, approver_role: str, zone: tzinfo | None = None,
                     lang: str = "zh") -> Message:
    original = item_section(item, comment, now=now, score=None, overdue=now.timestamp() > item.due_ts,
                            account_name=account_name, zone=zone, buttons=False, lang=lang)
    if lang == "en":  # a channel set to English: the card in English alone (the reply itself quoted as written)
        return Message(
            title=f"Reply #{item.id} awaiting approval",
            text=(f"{draft.written_by_name or draft.written_by} wrote a reply; a second person with the "
                  f"{approver_role} role must approve it before it is posted:\n> {draft.text}\n"
                  f"Draft {draft.id}: /reply-queue approve {draft.id} to approve, "
                  f"/reply-queue reject {draft.id} REASON to reject"),
            sections=(original,),
            buttons=(
                Button("Approve", f"{ACTION_PREFIX}approve:{draft.id}", str(draft.id), "primary"),
                Button("Reject", f"{ACTION_PREFIX}reject:{draft.id}", str(draft.id), "danger"),
            ),
            meta=card_meta([item.id or 0], approval_draft=draft.id, lang=lang),
        )
    return Message(
        title=f"待审批回复 #{item.id} / Reply awaiting approval",
        # The typed commands take the draft number, which is not the item number in the title: name it.
        text=(f"{draft.written_by_name or draft.written_by} 写了回复，需要另一位「{approver_role}」审批后才会发布：\n"
              f"> {draft.text}\n"
              f"草稿 {draft.id}：/reply-queue approve {draft.id} 批准，/reply-queue reject {draft.id} 原因 驳回\n"
              f"A reply needs a second person with the {approver_role} role before it is posted "
              f"(draft {draft.id}: /reply-queue approve {draft.id} or reject {draft.id})."),
        sections=(original,),
        buttons=(
            Button("批准 Approve", f"{ACTION_PREFIX}approve:{draft.id}", str(draft.id), "primary"),
            Button("驳回 Reject", f"{ACTION_PREFIX}reject:{draft.id}", str(draft.id), "danger"),
        ),
        meta=card_meta([item.id or 0], approval_draft=draft.id, lang=lang),
    )


def reminder_messages(account_key: str, account_name: str | None, items: Sequence[ReplyQueueItem],
                      comments: Mapping[tuple[str, str], Comment], total: int, now: datetime,
                      zone: tzinfo | None = None, late_on_arrival: int = 0, new: int = 0,
                      lang: str = "zh") -> list[Message]:
    """The overdue reminder of one account: `items` are its most urgent overdue items (by priority), of
    `total` that became overdue while the bot was watching (`new` of them since the last reminder);
    `late_on_arrival` (already past their deadline when they arrived: imported history) are not reminded
    about, only named here so that /reply-queue --overdue listing more is no surprise. Who holds a claimed
    item is named. More items than ITEMS_PER_CARD go out as several cards. `lang`: the channel's language
    (see `item_section`); "en": the whole reminder in English alone."""
    english = lang == "en"
    name = account_label(account_key, account_name, lang)
    zh_more = en_more = ""
    if late_on_arrival:
        zh_more = f"（另有导入的历史评论 {num(late_on_arrival)} 条到达时已超时，未计入提醒）"
        en_more = f" ({num(late_on_arrival)} imported comment(s) were already overdue on arrival: not reminded about)"
    zh_new = f"，其中 {num(new)} 条是上次提醒后新逾期的" if new and new < total else ""
    en_new = f" ({num(new)} newly overdue since the last reminder)" if new and new < total else ""
    rest = max(0, total - len(items))
    zh_rest = f"；另有 {num(rest)} 条逾期未在此列出" if rest else ""
    en_rest = f"; {num(rest)} more overdue not listed here" if rest else ""
    held = [(i, i.claimed_by_name or i.claimed_by) for i in items if claim_is_live(i, now)]
    zh_held = en_held = ""
    if held:
        who = (", " if english else "、").join(f"#{i.id} {inert(str(w))}" for i, w in held)
        zh_held = f"\n已认领（请认领人尽快回复）：{who}"
        en_held = f" Claimed: {who}."
    if english:  # as the Chinese head: the counts, the command for them all, then who holds which
        shown = ("it is below" if total == 1 else "all of them are below" if len(items) == total
                 else f"the {len(items)} most urgent are below")
        head = (f"{_past_sla_en(total, name)}{en_new}{en_more}; {shown}{en_rest}. "
                f"Type /reply-queue --overdue to see {'it' if total == 1 else 'them all'}."
                + (f"\nClaimed (holders, please reply soon): {who}" if held else ""))
    else:
        head = (f"{name} 有 {num(total)} 条评论超过回复时限{zh_new}{zh_more}，按优先级最紧急的 {len(items)} 条如下{zh_rest}。"
                f"输入 /reply-queue --overdue 查看全部。{zh_held}\n"
                f"{num(total)} comment(s) of {name} are past the reply SLA{en_new}{en_more}; the {len(items)} most urgent "
                f"are below{en_rest}.{en_held}")
    cards = [items[i:i + ITEMS_PER_CARD] for i in range(0, len(items), ITEMS_PER_CARD)] or [items]
    messages = []
    for number, chunk in enumerate(cards, 1):
        sections = tuple(
            item_section(i, comments.get((i.platform, i.comment_id)), now=now, score=None, overdue=True,
                         account_name=account_name, zone=zone, lang=lang)
            for i in chunk
        )
        continued = f"Overdue reminder of {name}, continued (card {number} of {len(cards)})"
        if number == 1:
            text = head
        else:
            text = continued if english else f"{name} 逾期提醒（续，第 {number}/{len(cards)} 张卡片）\n{continued}"
        if len(cards) > 1:
            suffix = f" ({number}/{len(cards)})" if english else f"（{number}/{len(cards)}）"
        else:
            suffix = ""
        title = f"⏰ {'' if english else '逾期未回复提醒 / '}Overdue replies · {name}{suffix}"
        messages.append(Message(
            title=title, text=text, sections=sections, severity=2,
            meta=card_meta([i.id or 0 for i in chunk], reminder={"account": account_key, "name": name}, lang=lang)))
    return messages


def _past_sla_en(count: int, name: str) -> str:
    """"3 comments of X are past the reply SLA", "1 comment of X is …": the English head of an overdue reminder."""
    return f"{num(count)} comment{'' if count == 1 else 's'} of {name} {'is' if count == 1 else 'are'} past the reply SLA"


def stats_message(stats, *, scope_text: str, zone: tzinfo | None = None, lang: str = "zh") -> Message:
    """/reply-queue stats; `lang` "en" (a channel set to English): English alone."""
    if lang == "en":
        return _stats_message_en(stats, scope_text=scope_text, zone=zone)
    # both languages, as the heading "按处理人 / per person" above them
    per = "\n".join(f"• {who}：回复 {num(c['replied'])}，跳过 {num(c['skipped'])}，认领 {num(c.get('claimed', 0))}"
                    f" / replied {num(c['replied'])}, skipped {num(c['skipped'])}, claimed {num(c.get('claimed', 0))}"
                    for who, c in _ranked_responders(stats)) or "—"
    # with the year: `--since 400d` reaches into another year
    since_at = ensure_aware(stats.since)
    since = since_at.astimezone(zone or DEFAULT_ZONE).strftime("%Y-%m-%d %H:%M")
    # the zone once, in the review's words: a team in another zone read "00:00" as its own midnight
    since += f" {zone_text(zone or DEFAULT_ZONE, since_at)}"
    return Message(
        title="回复队列统计 / Reply queue stats",
        text=(f"{scope_text}，自 {since}起 / since then\n"
              # what each figure counts: "since" alone read as "comments written since then"
              f"已回复、已跳过、认领按操作发生的时间计（评论可以更早）；新到评论、历史评论按评论到达机器人的时间计；"
              f"待回复、逾期是现在的数；时限达成率：期间内的首次回复中按时的比例，期间内到期仍未回复的算未达成。\n"
              f"{_STATS_COUNTED_EN}\n\n按处理人 / per person:\n{per}"),
        fields=_stats_fields(stats, "zh"),
    )


# What each figure counts, in English (the Chinese stats say it too, after the Chinese)
_STATS_COUNTED_EN = ("Responded, skipped and claimed count actions taken in the window (on comments of any age); "
                     "arrived and history count comments that reached the bot in it; open and overdue are the queue "
                     "now; SLA compliance: first responses in the window within their deadline, deadlines passed "
                     "unanswered in it count as misses.")


def _stats_fields(stats, lang: str) -> tuple[Field, ...]:
    """The stats' figures, labelled Chinese first with English ("待回复 Open") or in English alone."""
    en = lang == "en"
    durations = duration_en if en else duration_zh_en

    def fmt(delta: timedelta | None) -> str:
        return durations(delta) if delta is not None else "—"

    compliance = f"{stats.sla_compliance * 100:.0f}%" if stats.sla_compliance is not None else "—"
    met = f"{num(stats.sla_met)}/{num(stats.sla_total)}"
    rows = [
        ("待回复 Open", "Open", num(stats.open)),
        ("逾期 Overdue", "Overdue", num(stats.overdue)),
        ("新到评论 Arrived", "Arrived", num(getattr(stats, "arrived", 0))),
        ("已回复 Responded", "Responded", num(stats.responded)),
        ("已跳过 Skipped", "Skipped", num(stats.skipped)),
        ("认领 Claimed", "Claimed", num(getattr(stats, "claimed", 0))),
        ("首次响应中位数 Median first response", "Median first response", fmt(stats.median_first_response)),
        ("首次响应 P90 / p90 first response", "p90 first response", fmt(stats.p90_first_response)),
        ("时限达成率 SLA compliance", "SLA compliance", f"{compliance} ({met})" if en else f"{compliance}（{met}）"),
    ]
    if getattr(stats, "history", 0):
        rows.append(("历史评论（不计时限）History, no SLA", "History (no SLA)", num(stats.history)))
    return tuple(Field(english if en else chinese, value) for chinese, english, value in rows)


def _ranked_responders(stats) -> list:
    """Who handled the most first."""
    return sorted(stats.per_responder.items(),
                  key=lambda kv: -(kv[1]["replied"] + kv[1]["skipped"] + kv[1].get("claimed", 0)))


def _stats_message_en(stats, *, scope_text: str, zone: tzinfo | None = None) -> Message:
    """`stats_message` in a channel set to English."""
    per = "\n".join(f"• {who}: replied {num(c['replied'])}, skipped {num(c['skipped'])}, "
                    f"claimed {num(c.get('claimed', 0))}" for who, c in _ranked_responders(stats)) or "—"
    zone = zone or DEFAULT_ZONE
    since_at = ensure_aware(stats.since)
    since = (f"{since_at.astimezone(zone).strftime('%Y-%m-%d %H:%M')} "
             f"{getattr(zone, 'key', str(zone))} ({utc_offset(zone, since_at)})")
    return Message(
        title="Reply queue stats",
        text=f"{scope_text}, since {since}\n{_STATS_COUNTED_EN}\n\nPer person:\n{per}",
        fields=_stats_fields(stats, "en"),
    )
