"""`/sentiment fix COMMENT_ID neg|neu|pos`, the `sentiment.fix` button and the "纠正情感 / Fix sentiment"
button (`sentiment.review`) on alert and queue items: teach the model in chat, for the people
`sentiment.permissions.fix` names (anyone when it is empty). `/sentiment score TEXT` shows how the model
reads a text (before a team corrects it, they want to see why it said so); it changes nothing, so anyone may."""

from __future__ import annotations

import logging

from bot.handlers.registry import CommandContext, CommandRegistry, ParsedCommand, UsageError
from bot.messages import Action, Button, ButtonStyle, Message, Section, outsider_text
from bot.sentiment.actions import FIX_ACTION, REVIEW_ACTION, comment_ref, parse_refs
from bot.sentiment.corrections import (
    LABELS,
    CorrectionError,
    CorrectionOutcome,
    CorrectionService,
    LabeledComment,
    check_may_fix,
)
from bot.sentiment.explain import LABEL_EN, LABEL_ZH, explain_lines, label_words

USAGE = (
    "  /sentiment score|打分 文本 — 看模型怎么判断这段话：标签、概率、理由、风险词"
    " / how the model reads a text: label, probabilities, reasons, risk terms\n"
    "  /sentiment fix|更正 评论ID neg|neu|pos — 更正一条评论的情感标签（平台:评论ID 也可）"
    " / relabel a comment's sentiment (platform:COMMENT_ID also accepted)\n"
    "  按钮 / button: action_id `sentiment.fix`, value `平台:评论ID 标签` / `platform:COMMENT_ID label`"
)
# The usage in a channel set to English (the Chinese subcommand words and labels still work there).
USAGE_EN = (
    "  /sentiment score TEXT — how the model reads a text: label, probabilities, reasons, risk terms\n"
    "  /sentiment fix COMMENT_ID neg|neu|pos — relabel a comment's sentiment (platform:COMMENT_ID also accepted)\n"
    "  Button: action_id `sentiment.fix`, value `platform:COMMENT_ID label`"
)
_MALFORMED_BUTTON = CorrectionError("按钮数据有误", "malformed button value")
_BUTTON_STYLE: dict[str, ButtonStyle] = {"neg": "danger", "neu": "default", "pos": "primary"}
log = logging.getLogger(__name__)
FIX_WORDS = ("fix", "更正", "纠正")
SCORE_WORDS = ("score", "打分", "评分", "试评")


def _service(ctx: CommandContext) -> CorrectionService:
    return ctx.services.extra["sentiment_corrections"]


def _reply(outcome: CorrectionOutcome, user_name: str, *, requeued: bool, lang: str = "zh") -> Message:
    """What a correction did: Chinese first with English, or English alone in a channel set to English."""
    old, new = outcome.old_label, outcome.new_label
    preview = outsider_text(outcome.text if len(outcome.text) <= 80 else outcome.text[:80] + "…")
    if not preview.strip():
        preview = "(sticker only)" if lang == "en" else "（仅表情 / sticker only）"
    follows = _what_follows(requeued=requeued, relabelled=old != new, lang=lang)
    # training leaves out a comment without text (a sticker-only one): it teaches no words
    kept_zh, kept_en = (("已存为训练样本", "kept as a training example") if outcome.text.strip() else
                        ("已记录（评论没有文字，不用于训练）", "recorded (the comment has no text: not used for training)"))
    if lang == "en":
        ref = f"{outcome.platform}:{outcome.comment_id}"
        if old == new:
            return Message(title="Sentiment confirmed", text=(f"{ref} confirmed {label_words(new, lang)} by "
                                                              f"{user_name}; {kept_en}.\n{follows}> {preview}"))
        return Message(title="Sentiment corrected",
                       text=(f"{ref} relabelled {label_words(old, lang)} → {label_words(new, lang)} by {user_name}; "
                             f"{kept_en}.\n{follows}> {preview}"))
    if old == new:  # a person confirmed the model: still a labelled example worth keeping
        return Message(
            title="情感已确认 / Sentiment confirmed",
            text=(f"{outcome.platform}:{outcome.comment_id} 确认为 {LABEL_ZH[new]}（{new}），由 {user_name} 确认，"
                  f"{kept_zh}。\nConfirmed {new} by {user_name}; {kept_en}.\n"
                  f"{follows}> {preview}"),
        )
    return Message(
        title="情感已更正 / Sentiment corrected",
        text=(
            f"{outcome.platform}:{outcome.comment_id} {LABEL_ZH[old]}（{old or '-'}）→ {LABEL_ZH[new]}（{new}），"
            f"由 {user_name} 更正，{kept_zh}。\n"
            f"Relabelled {old or '-'} → {new} by {user_name}; {kept_en}.\n{follows}"
            f"> {preview}"
        ),
    )


def _what_follows(*, requeued: bool, relabelled: bool, lang: str = "zh") -> str:
    """What the person's label changes at once and what it does not (lines ending in a line break, or ""):
    spike alerts count each comment once, as it arrives, so the counts they already made stay; reports read
    the stored label when they are made; the reply queue is re-ranked (`_requeue`)."""
    zh, en = [], []
    if requeued:
        zh.append("回复队列中这条评论的优先级和时限已按人工标签更新。")
        en.append("Its reply-queue item's priority and deadline now follow this label.")
    if relabelled:
        zh.append("今后生成的报告按新标签统计；告警已计入的负面数量不变。")
        en.append("Reports made from now on count the new label; the negative counts alerts already made stay.")
    if lang == "en":
        return f"{' '.join(en)}\n" if en else ""
    return f"{''.join(zh)}\n{' '.join(en)}\n" if zh else ""


def _requeue(ctx: CommandContext, outcome: CorrectionOutcome) -> bool:
    """The comment's reply-queue item follows the corrected label (priority, SLA, urgent), when the reply
    queue is on. The correction itself is stored already: a failure here is logged, not answered. True when
    an unanswered item changed."""
    replies = ctx.services.extra.get("replies")
    if replies is None:
        return False
    try:
        return bool(replies.rescore(outcome.platform, outcome.comment_id))
    except Exception:  # noqa: BLE001
        log.exception("could not re-score the reply-queue item of %s:%s", outcome.platform, outcome.comment_id)
        return False


def _error(exc: CorrectionError, lang: str = "zh") -> Message:
    """A correction that cannot be made: Chinese first with English, or English alone in a channel set to
    English."""
    if lang == "en":
        return Message(text=f"Cannot correct: {exc.en}", ephemeral=True)
    return Message(text=f"无法更正：{exc.zh}\nCannot correct: {exc.en}", ephemeral=True)


def handle_sentiment(ctx: CommandContext, parsed: ParsedCommand) -> Message:
    """`/sentiment fix COMMENT_ID LABEL`."""
    if not parsed.sub:
        raise UsageError("缺少子命令 / missing subcommand: /sentiment score 文本 | /sentiment fix 评论ID neg|neu|pos",
                         en="Missing subcommand: /sentiment score TEXT | /sentiment fix COMMENT_ID neg|neu|pos",
                         brief=True)
    if parsed.sub.lower() in SCORE_WORDS:
        return _score(ctx, parsed.text_from(1))
    if parsed.sub.lower() not in FIX_WORDS:
        raise UsageError(f"未知子命令 / unknown subcommand: {parsed.sub}", en=f"Unknown subcommand: {parsed.sub}")
    if len(parsed.args) < 3:
        raise UsageError("需要 评论ID 和 标签 / needs COMMENT_ID and a label", en="Needs COMMENT_ID and a label")
    if len(parsed.args) > 3:
        # "/sentiment fix c1 neg extra" was answered "needs COMMENT_ID and a label", which it had
        extra = " ".join(parsed.args[3:])
        raise UsageError(f"参数太多：只需要 评论ID 和 标签，多出「{extra}」（评论ID 含空格时请加引号）"
                         f" / too many arguments: only COMMENT_ID and a label, not {extra!r}",
                         en=f"Too many arguments: only COMMENT_ID and a label, not {extra!r} "
                            "(quote a comment id with spaces)")
    _, comment_ref, label = parsed.args
    check_may_fix(ctx.services.config, ctx.user)
    try:
        outcome = _service(ctx).fix(channel=ctx.channel, user=ctx.user, comment_ref=comment_ref, label=label)
    except CorrectionError as exc:
        return _error(exc, ctx.lang)
    return _reply(outcome, ctx.user_name, requeued=_requeue(ctx, outcome), lang=ctx.lang)


def _score(ctx: CommandContext, text: str) -> Message:
    if not text.strip():
        raise UsageError("需要一段文本 / needs a text: /sentiment score 这个真的太差了",
                         en="Needs a text: /sentiment score this is really bad", brief=True)
    scorer = ctx.services.scorer()
    result = scorer.score(text)
    # the English names the scorer's own risk lexicon gives its categories (a backend without one: none)
    names = getattr(getattr(scorer, "risk", None), "names_en", None)
    wrong = "\nWrong? Once it is a stored comment, correct it with /sentiment fix COMMENT_ID LABEL."
    english = ctx.lang == "en"
    return Message(
        title="How the model reads it" if english else "模型的判断 / How the model reads it",
        text="\n".join(explain_lines(text, result, lang=ctx.lang, category_names_en=names))
        + (wrong if english else "\n判断不对？评论入库后可用 /sentiment fix 评论ID 标签 更正。" + wrong),
        ephemeral=True,
    )


def handle_fix_button(ctx: CommandContext, action: Action) -> Message:
    """The `sentiment.fix` button: value "platform:COMMENT_ID label". The label is the last word: a comment
    id may hold spaces (ingest takes any id), and such a comment's buttons were refused as malformed."""
    parts = (action.value or "").rsplit(maxsplit=1)
    if len(parts) != 2:
        return _error(_MALFORMED_BUTTON, ctx.lang)
    check_may_fix(ctx.services.config, ctx.user)
    try:
        outcome = _service(ctx).fix(channel=ctx.channel, user=ctx.user, comment_ref=parts[0], label=parts[1])
    except CorrectionError as exc:
        return _error(exc, ctx.lang)
    return _reply(outcome, ctx.user_name, requeued=_requeue(ctx, outcome), lang=ctx.lang)


def handle_review_button(ctx: CommandContext, action: Action) -> Message:
    """The "纠正情感 / Fix sentiment" button: each quoted comment with a button per other label.

    Answered only to the person who pressed it; the label buttons are ordinary `sentiment.fix` buttons. A
    person `sentiment.permissions.fix` leaves out is refused here already, not offered buttons that refuse.
    """
    refs = parse_refs(action.value)
    if not refs:
        return _error(_MALFORMED_BUTTON, ctx.lang)
    check_may_fix(ctx.services.config, ctx.user)
    comments = _service(ctx).lookup(channel=ctx.channel, comment_refs=refs)
    if not comments:
        return _error(CorrectionError("找不到这些评论（或本频道无权查看）",
                                      "these comments are not found (or not visible from this channel)"), ctx.lang)
    english = ctx.lang == "en"
    return Message(
        title="Fix sentiment" if english else "纠正情感 / Fix sentiment",
        text=("Pick the right label; each correction is kept as a training example "
              "(`crisisbot sentiment train --include-corrections`)." if english else
              "选择正确的标签，更正会存为训练样本（`crisisbot sentiment train --include-corrections`）。\n"
              "Pick the right label; each correction is kept as a training example."),
        sections=tuple(_choice_section(c, ctx.lang) for c in comments),
        ephemeral=True,
    )


def _choice_section(comment: LabeledComment, lang: str = "zh") -> Section:
    preview = " ".join(comment.text.split())
    preview = outsider_text(preview if len(preview) <= 120 else preview[:119] + "…")
    ref = comment_ref(comment.platform, comment.comment_id)
    if lang == "en":
        return _choice_section_en(comment, preview, ref)
    # the number is named as the reply queue names it: a bare "负面 neg 0.01" read as P(neg) = 0.01 for a
    # comment the model is sure is negative (the stored score is P(pos)); a person's label has no probability
    if comment.corrected:
        how = "（人工标注 / labelled by a person）"
    elif comment.label == "neg" and comment.neg_score is not None:
        how = f"（负面概率 P(neg) {comment.neg_score:.2f}）"  # a negative comment's own probability, as the queue
    elif comment.score is not None:
        how = f"（正面概率 P(pos) {comment.score:.2f}）"
    else:
        how = ""
    now = f"{LABEL_ZH[comment.label]} {comment.label or '-'}{how}"
    buttons = tuple(
        Button(f"改为{LABEL_ZH[label]} {label}", FIX_ACTION, f"{ref} {label}", _BUTTON_STYLE[label])
        for label in LABELS if label != comment.label
    )
    return Section(text=f"> {preview or '（仅表情 / sticker only）'}\n当前 / now: {now} · `{ref}`", buttons=buttons)


def _choice_section_en(comment: LabeledComment, preview: str, ref: str) -> Section:
    """`_choice_section` for a channel set to English: the same facts and buttons, in English alone."""
    if comment.corrected:
        how = ", labelled by a person"
    elif comment.label == "neg" and comment.neg_score is not None:
        how = f", P(neg) {comment.neg_score:.2f}"
    elif comment.score is not None:
        how = f", P(pos) {comment.score:.2f}"
    else:
        how = ""
    buttons = tuple(
        Button(f"Mark {LABEL_EN[label]}", FIX_ACTION, f"{ref} {label}", _BUTTON_STYLE[label])
        for label in LABELS if label != comment.label
    )
    return Section(text=f"> {preview or '(sticker only)'}\nNow: {label_words(comment.label, 'en')}{how} · `{ref}`",
                   buttons=buttons)


def register(registry: CommandRegistry) -> None:
    registry.add_command(
        "sentiment",
        handle_sentiment,
        summary_zh="查看模型判断、更正评论情感标签",
        summary_en="see how the model reads a text; correct a comment's sentiment label",
        usage=USAGE,
        usage_en=USAGE_EN,
    )
    registry.add_action(FIX_ACTION, handle_fix_button)
    registry.add_action(REVIEW_ACTION, handle_review_button)
