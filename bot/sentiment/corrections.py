"""Corrections from chat: relabel a stored comment and keep the correction as a labeled example.

`CorrectionService.fix` is what `/sentiment fix COMMENT_ID neg|neu|pos` (and the `sentiment.fix` button)
call, after `check_may_fix` (`sentiment.permissions.fix`); `load_corrections_for_training` is what
`crisisbot sentiment train --include-corrections` reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import select

from bot.permissions import refusal
from bot.sentiment.models import SentimentCorrection
from bot.sentiment.settings import FIX_ACTION
from bot.sentiment.train import LABEL_ALIASES, SIGNED_LABELS, label_key

if TYPE_CHECKING:  # pragma: no cover
    from bot.clock import Clock
    from bot.config import AppConfig
    from bot.scope import ChannelScope
    from bot.storage.db import Database

LABELS = ("neg", "neu", "pos")
CORRECTION_MODEL_NAME = "correction"
# what a corrected comment's stored score becomes: the human label, as a probability of positive
_LABEL_SCORE = {"neg": 0.0, "neu": 0.5, "pos": 1.0}


class CorrectionError(ValueError):
    """The correction cannot be made; `zh`/`en` are the user-facing reasons."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


@dataclass(frozen=True)
class CorrectionOutcome:
    platform: str
    account_id: str
    comment_id: str
    text: str
    old_label: str | None
    new_label: str


def check_may_fix(config: AppConfig, user: str) -> None:
    """Raise PermissionDenied naming who may relabel comments, when `sentiment.permissions.fix` lists roles
    and `user` ("platform:user_id") is a member of none of them. Checked before the comment is looked up,
    for the typed command and both buttons alike, so a refused person learns nothing about the comment."""
    refused = refusal(FIX_ACTION, config.sentiment.permissions.fix, config.roles, user)
    if refused is not None:
        raise refused

# the one-character words chat takes beside the labeled files' spellings
_CHAT_LABELS = {"负": "neg", "中": "neu", "正": "pos"}


def parse_label(value: str) -> str:
    """A label as a labeled file spells it (the CSV reader's rule, `bot.sentiment.train`: neg/neu/pos,
    negative/neutral/positive, 负面/消极/中性/中立/正面/积极 ..., full-width, 1.0, -1 and +1), or 负/中/正.
    "0" is neg, as in a 0/1 file (a chat label has no file telling the -1/0/1 scheme), "-1" neg, "+1" pos."""
    key = label_key(value)
    label = LABEL_ALIASES.get(key) or SIGNED_LABELS.get(key) or _CHAT_LABELS.get(key)
    if label is None:
        raise CorrectionError(f"标签必须是 neg/neu/pos，收到「{value}」", f"label must be neg/neu/pos, got {value!r}")
    return label


@dataclass(frozen=True)
class CommentRef:
    """How a typed or button reference names a comment: "platform:COMMENT_ID", or a bare COMMENT_ID.

    Comment ids may hold ":" themselves (ingest takes any id), so the platform is only the part before the
    first ":" when that part is a platform name, and the whole reference is also tried as a bare id:
    "douyin:t1:c5" is douyin's "t1:c5", "t1:c5" is the bare id "t1:c5". Splitting at the last ":" found
    neither, also not from the Fix sentiment button on such a comment's own queue item.
    """

    platform: str | None  # None: no platform given
    comment_id: str  # the id after "platform:", or the bare id
    bare_id: str | None  # the whole reference as a bare id, when it is one besides the qualified reading

    @classmethod
    def parse(cls, ref: str) -> CommentRef:
        from bot.feeds.records import PLATFORMS  # the platforms a stored comment can have

        text = ref.strip()
        prefix, colon, rest = text.partition(":")
        if colon and prefix.strip().lower() in PLATFORMS:
            return cls(prefix.strip().lower(), rest.strip(), text)
        return cls(None, text, None)

    def ids(self) -> list[str]:
        return [i for i in dict.fromkeys((self.comment_id, self.bare_id)) if i]

    def pick(self, comments: list) -> list:
        """The comments this reference names, of `comments` (those stored under any of `ids()`): the one of
        the platform given, else those with the whole reference as their id."""
        if self.platform is not None:
            qualified = [c for c in comments if c.platform == self.platform and c.comment_id == self.comment_id]
            if qualified:
                return qualified
            return [c for c in comments if c.comment_id == self.bare_id]
        return [c for c in comments if c.comment_id == self.comment_id]


@dataclass(frozen=True)
class LabeledComment:
    """A stored comment as the relabelling choices show it."""

    platform: str
    comment_id: str
    text: str
    label: str | None
    score: float | None  # P(pos)
    corrected: bool  # already relabelled by a person
    neg_score: float | None = None  # P(neg), when the model gave it (3-class models)


class CorrectionService:
    """Relabels comments the channel may see and stores each correction."""

    def __init__(self, db: Database, scope: ChannelScope, clock: Clock) -> None:
        self.db = db
        self.scope = scope
        self.clock = clock

    def lookup(self, *, channel: str, comment_refs: list[str]) -> list[LabeledComment]:
        """The comments behind "platform:COMMENT_ID" references, in the given order.

        Comments of accounts `channel` may not see are left out exactly like unknown ones.
        """
        from bot.storage.models import Comment

        wanted = [ref for ref in map(CommentRef.parse, comment_refs) if ref.platform and ref.comment_id]
        if not wanted:
            return []
        ids = sorted({i for ref in wanted for i in ref.ids()})
        with self.db.session() as session:
            rows = session.exec(select(Comment).where(Comment.comment_id.in_(ids))).all()
        visible = [c for c in rows if self.scope.can_see(channel, c.account_key)]
        out: list[LabeledComment] = []
        shown: set[tuple[str, str]] = set()
        for ref in wanted:
            for comment in ref.pick(visible)[:1]:
                if (comment.platform, comment.comment_id) in shown:
                    continue
                shown.add((comment.platform, comment.comment_id))
                out.append(LabeledComment(comment.platform, comment.comment_id, comment.text,
                                          comment.sentiment_label, comment.sentiment_score,
                                          comment.sentiment_model == CORRECTION_MODEL_NAME, comment.sentiment_neg))
        return out

    def fix(self, *, channel: str, user: str, comment_ref: str, label: str) -> CorrectionOutcome:
        """Relabel the comment `comment_ref` ("COMMENT_ID" or "platform:COMMENT_ID") as `label`.

        Refuses comments of accounts `channel` may not see, with the same answer as for an unknown id,
        so one client's channel cannot probe another client's comments.
        """
        from bot.storage.models import Comment

        new_label = parse_label(label)
        ref = CommentRef.parse(comment_ref)
        if not ref.comment_id:
            raise CorrectionError("缺少评论 ID", "missing comment id")
        with self.db.session() as session:
            stored = session.exec(select(Comment).where(Comment.comment_id.in_(ref.ids()))).all()
            candidates = ref.pick([c for c in stored if self.scope.can_see(channel, c.account_key)])
            if not candidates:
                raise CorrectionError(
                    f"找不到评论 {comment_ref}（或本频道无权查看该账号）",
                    f"comment {comment_ref} not found (or its account is not visible from this channel)",
                )
            if len(candidates) > 1:
                options = ", ".join(sorted(f"{c.platform}:{c.comment_id}" for c in candidates))
                raise CorrectionError(f"评论 ID 不唯一，请写成 平台:ID（{options}）",
                                      f"ambiguous comment id, write platform:ID ({options})")
            comment = candidates[0]
            outcome = CorrectionOutcome(comment.platform, comment.account_id, comment.comment_id,
                                        comment.text, comment.sentiment_label, new_label)
            comment.sentiment_label = new_label
            comment.sentiment_score = _LABEL_SCORE[new_label]
            comment.sentiment_neg = 1.0 if new_label == "neg" else 0.0
            comment.sentiment_model = CORRECTION_MODEL_NAME
            session.add(comment)
            session.add(SentimentCorrection(
                platform=comment.platform, account_id=comment.account_id, comment_id=comment.comment_id,
                text=comment.text, old_label=outcome.old_label, new_label=new_label, corrected_by=user,
                channel=channel, created_at=self.clock.now(),
            ))
        return outcome


def corrections_for_training(db: Database) -> list[tuple[str, str]]:
    """(text, label) of the latest correction per comment, oldest first (deterministic order)."""
    with db.session() as session:
        rows = session.exec(select(SentimentCorrection).order_by(SentimentCorrection.id)).all()
    latest: dict[tuple[str, str], SentimentCorrection] = {}
    for row in rows:
        latest[(row.platform, row.comment_id)] = row
    ordered = sorted(latest.values(), key=lambda r: r.id or 0)
    return [(r.text, r.new_label) for r in ordered if r.text.strip()]


def load_corrections_for_training(database_url: str | None = None) -> list[tuple[str, str]]:
    """Corrections from the bot's database (`--database-url`, else the configured one)."""
    from bot.storage.db import Database

    if database_url is None:
        from bot.config import database_url as configured_url
        from bot.config import load_all

        settings, config, _ = load_all()
        database_url = configured_url(settings, config)
    db = Database(database_url)
    try:
        return corrections_for_training(db)
    finally:
        db.dispose()
